package lock

import (
	"errors"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func window(id string, scope Scope, kind WindowKind, sched string, d time.Duration, tz string) Window {
	return Window{ID: id, Scope: scope, Kind: kind, Schedule: sched, Duration: Duration(d), TimeZone: tz, Reason: id, Owner: "alice"}
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// TestWindowActive checks Active and Next at the edges of the calendar:
// daylight saving both ways, midnight, a month and year end, leap days,
// overlapping occurrences and an until already past.
func TestWindowActive(t *testing.T) {
	daily0230 := window("night", "eqiad", WindowDeny, "30 2 * * *", time.Hour, "Europe/Berlin")
	short0230 := window("night", "eqiad", WindowDeny, "30 2 * * *", 30*time.Minute, "Europe/Berlin")
	late := window("late", "eqiad", WindowDeny, "0 22 * * *", 4*time.Hour, "UTC")
	monthEnd := window("close", "eqiad", WindowDeny, "0 20 31 * *", 12*time.Hour, "UTC")
	leap := window("leap", "eqiad", WindowDeny, "0 0 29 2 *", 24*time.Hour, "UTC")
	chained := window("chain", "eqiad", WindowDeny, "0 9,10 * * *", 90*time.Minute, "UTC")
	over := window("over", "eqiad", WindowDeny, "0 9 * * *", 8*time.Hour, "UTC")
	over.Until = "2026-01-01"
	cases := []struct {
		name         string
		w            Window
		now          time.Time
		active       bool
		end          time.Time // of the active stretch
		nextStart    time.Time
		nextEnd      time.Time
		noNextWanted bool
	}{
		// 2027-03-28: Berlin's clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
		{name: "spring forward: the skipped 02:30 starts when the clock lands at 03:00 CEST",
			w: daily0230, now: utc(2027, 3, 27, 23, 0), nextStart: utc(2027, 3, 28, 1, 0), nextEnd: utc(2027, 3, 28, 2, 0)},
		{name: "spring forward: active at 03:30 CEST",
			w: daily0230, now: utc(2027, 3, 28, 1, 30), active: true, end: utc(2027, 3, 28, 2, 0),
			nextStart: utc(2027, 3, 29, 0, 30), nextEnd: utc(2027, 3, 29, 1, 30)},
		{name: "spring forward: not active at 01:45 CET",
			w: daily0230, now: utc(2027, 3, 28, 0, 45), nextStart: utc(2027, 3, 28, 1, 0), nextEnd: utc(2027, 3, 28, 2, 0)},
		{name: "the day before spring forward: 02:30 CET",
			w: daily0230, now: utc(2027, 3, 27, 1, 45), active: true, end: utc(2027, 3, 27, 2, 30),
			nextStart: utc(2027, 3, 28, 1, 0), nextEnd: utc(2027, 3, 28, 2, 0)},
		// 2027-10-31: Berlin's clocks go back from 03:00 CEST to 02:00 CET (01:00 UTC).
		{name: "fall back: 02:30 happens twice, the window once (the first, CEST)",
			w: short0230, now: utc(2027, 10, 31, 0, 40), active: true, end: utc(2027, 10, 31, 1, 0),
			nextStart: utc(2027, 11, 1, 1, 30), nextEnd: utc(2027, 11, 1, 2, 0)},
		{name: "fall back: not again at the second 02:30 (CET)",
			w: short0230, now: utc(2027, 10, 31, 1, 40), nextStart: utc(2027, 11, 1, 1, 30), nextEnd: utc(2027, 11, 1, 2, 0)},
		{name: "across midnight",
			w: late, now: utc(2026, 12, 8, 1, 59), active: true, end: utc(2026, 12, 8, 2, 0),
			nextStart: utc(2026, 12, 8, 22, 0), nextEnd: utc(2026, 12, 9, 2, 0)},
		{name: "across midnight: the end is exclusive",
			w: late, now: utc(2026, 12, 8, 2, 0), nextStart: utc(2026, 12, 8, 22, 0), nextEnd: utc(2026, 12, 9, 2, 0)},
		{name: "across a month and year end",
			w: monthEnd, now: utc(2027, 1, 1, 7, 59), active: true, end: utc(2027, 1, 1, 8, 0),
			nextStart: utc(2027, 1, 31, 20, 0), nextEnd: utc(2027, 2, 1, 8, 0)},
		{name: "the 31st skips February",
			w: monthEnd, now: utc(2027, 2, 2, 0, 0), nextStart: utc(2027, 3, 31, 20, 0), nextEnd: utc(2027, 4, 1, 8, 0)},
		{name: "leap day: next is 2028-02-29",
			w: leap, now: utc(2026, 3, 1, 0, 0), nextStart: utc(2028, 2, 29, 0, 0), nextEnd: utc(2028, 3, 1, 0, 0)},
		{name: "leap day: active all of it",
			w: leap, now: utc(2028, 2, 29, 23, 59), active: true, end: utc(2028, 3, 1, 0, 0),
			nextStart: utc(2032, 2, 29, 0, 0), nextEnd: utc(2032, 3, 1, 0, 0)},
		{name: "overlapping occurrences are one stretch",
			w: chained, now: utc(2026, 12, 8, 9, 15), active: true, end: utc(2026, 12, 8, 11, 30),
			nextStart: utc(2026, 12, 9, 9, 0), nextEnd: utc(2026, 12, 9, 11, 30)},
		{name: "until in the past: never again",
			w: over, now: utc(2026, 6, 1, 10, 0), noNextWanted: true},
		{name: "until: the last day still counts",
			w: over, now: utc(2026, 1, 1, 16, 0), active: true, end: utc(2026, 1, 1, 17, 0), noNextWanted: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			active, _, end := Active(c.w, c.now)
			if active != c.active || (c.active && !end.Equal(c.end)) {
				t.Errorf("Active at %s = %v until %s; want %v until %s", c.now, active, end.UTC(), c.active, c.end)
			}
			start, nextEnd := Next(c.w, c.now)
			if c.noNextWanted {
				if !start.IsZero() {
					t.Errorf("Next = %s, want none", start.UTC())
				}
				return
			}
			if !start.Equal(c.nextStart) || !nextEnd.Equal(c.nextEnd) {
				t.Errorf("Next at %s = %s..%s; want %s..%s", c.now, start.UTC(), nextEnd.UTC(), c.nextStart, c.nextEnd)
			}
		})
	}
}

func TestWindowsDecide(t *testing.T) {
	// Wednesday 2026-12-09.
	weekdays := window("weekdays", "eqiad", WindowAllow, "0 9 * * 1-5", 8*time.Hour, "UTC")
	lunch := window("lunch", "eqiad", WindowDeny, "0 12 * * *", time.Hour, "UTC")
	freeze := window("freeze", "global", WindowDeny, "0 0 9 12 *", 24*time.Hour, "UTC")
	codfwTrain := window("train", "codfw", WindowAllow, "0 14 * * 2", 2*time.Hour, "UTC")
	globalSunday := window("sunday", "global", WindowAllow, "0 10 * * 0", time.Hour, "UTC")
	ended := window("ended", "eqiad", WindowAllow, "0 9 * * *", time.Hour, "UTC")
	ended.Until = "2026-01-01"
	overlapA := window("a", "eqiad", WindowDeny, "0 12 * * *", 2*time.Hour, "UTC")
	overlapB := window("b", "eqiad", WindowDeny, "0 13 * * *", 2*time.Hour, "UTC")
	cases := []struct {
		name    string
		windows []Window
		scope   Scope
		now     time.Time
		want    []string // id@scope of each refusal
	}{
		{"no windows", nil, "eqiad", utc(2026, 12, 8, 3, 0), nil},
		{"inside the allow window", []Window{weekdays}, "eqiad", utc(2026, 12, 8, 10, 0), nil},
		{"outside the allow window", []Window{weekdays}, "eqiad", utc(2026, 12, 8, 18, 0), []string{"weekdays@eqiad"}},
		{"another scope's allow windows do not bind", []Window{weekdays}, "codfw", utc(2026, 12, 8, 18, 0), nil},
		{"a deny window inside an allow window refuses", []Window{weekdays, lunch}, "eqiad", utc(2026, 12, 8, 12, 30), []string{"lunch@eqiad"}},
		{"around the deny window the allow window lets deploys in", []Window{weekdays, lunch}, "eqiad", utc(2026, 12, 8, 13, 0), nil},
		{"a global deny window covers every scope", []Window{freeze}, "codfw", utc(2026, 12, 9, 8, 0), []string{"freeze@global"}},
		{"a cluster deny window refuses a global deploy", []Window{lunch}, "global", utc(2026, 12, 8, 12, 10), []string{"lunch@eqiad"}},
		{"a global deploy must be inside every scope's allow windows", []Window{weekdays, codfwTrain}, "global", utc(2026, 12, 8, 10, 0), []string{"train@codfw"}},
		{"global allow windows add to a scope's own", []Window{weekdays, globalSunday}, "eqiad", utc(2026, 12, 13, 10, 30), nil},
		{"global allow windows bind scopes without their own", []Window{weekdays, globalSunday}, "codfw", utc(2026, 12, 8, 10, 0), []string{"sunday@codfw"}},
		{"an allow window whose until is past counts for nothing", []Window{ended}, "eqiad", utc(2026, 12, 8, 20, 0), nil},
		{"overlapping deny windows both refuse", []Window{overlapB, overlapA}, "eqiad", utc(2026, 12, 8, 13, 30), []string{"a@eqiad", "b@eqiad"}},
		{"a window that cannot be read refuses", []Window{{ID: "junk", Scope: "eqiad", Kind: WindowDeny, Schedule: "not cron"}}, "eqiad", utc(2026, 12, 8, 3, 0), []string{"junk@eqiad"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range WindowsDecide(c.windows, c.scope, c.now) {
				got = append(got, r.Window.ID+"@"+string(r.Scope))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("refusals = %v, want %v", got, c.want)
			}
		})
	}
}

func TestWindowRefusalUntil(t *testing.T) {
	weekdays := window("weekdays", "eqiad", WindowAllow, "0 9 * * 1-5", 8*time.Hour, "UTC")
	// Friday evening: the next allow window is Monday 09:00.
	refusals := WindowsDecide([]Window{weekdays}, "eqiad", utc(2026, 12, 11, 18, 0))
	if len(refusals) != 1 || refusals[0].Until == nil || !refusals[0].Until.Equal(utc(2026, 12, 14, 9, 0)) {
		t.Fatalf("refusals = %+v, want one until Monday 09:00", refusals)
	}
}

func TestApplyWindows(t *testing.T) {
	now := utc(2026, 12, 8, 12, 30)
	lunch := window("lunch", "eqiad", WindowDeny, "0 12 * * *", time.Hour, "UTC")
	override := Hold{ID: "o", Scope: "eqiad", Kind: KindOverride, Owner: "sre", Reason: "hotfix", CreatedAt: now.Add(-time.Minute)}
	manual := Hold{ID: "m", Scope: "eqiad", Kind: KindManual, Owner: "sre", Reason: "db move", CreatedAt: now.Add(-time.Minute)}
	cases := []struct {
		name       string
		holds      []Hold
		scopes     []Scope
		allowed    bool
		windows    int
		overridden int
	}{
		{"a deny window refuses", nil, []Scope{"eqiad"}, false, 1, 0},
		{"an override lets deploys past it", []Hold{override}, []Scope{"eqiad"}, true, 0, 1},
		{"a manual hold still refuses past the override", []Hold{override, manual}, []Scope{"eqiad"}, false, 0, 1},
		{"an override elsewhere does not", []Hold{{ID: "o2", Scope: "codfw", Kind: KindOverride, Owner: "sre", Reason: "x", CreatedAt: now}}, []Scope{"eqiad"}, false, 1, 0},
		{"another scope is not refused", nil, []Scope{"codfw"}, true, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ApplyWindows(Decide(c.holds, c.scopes, now), []Window{lunch}, now)
			if v.Allowed != c.allowed || len(v.Windows) != c.windows || len(v.OverriddenWindows) != c.overridden {
				t.Errorf("allowed %v, windows %d, overridden %d; want %v, %d, %d", v.Allowed, len(v.Windows), len(v.OverriddenWindows), c.allowed, c.windows, c.overridden)
			}
		})
	}
}

func TestWindowRefusalMessage(t *testing.T) {
	// From Sun 2026-12-20 18:00 CET to Mon 2027-01-04 09:00 CET.
	freeze := window("f1e2d3c4", "global", WindowDeny, "0 18 20 12 *", 351*time.Hour, "Europe/Berlin")
	freeze.Reason = "end of year"
	now := time.Date(2027, 1, 1, 5, 0, 0, 0, berlin)
	v := ApplyWindows(Decide(nil, []Scope{"global"}, now), []Window{freeze}, now)
	msg := apiv1.RenderRefusal(v.Scopes, v.Reasons(), "http://scaplock.example/", now)
	lines := strings.Split(msg, "\n")
	want := "scaplock: deploys to global are refused: deploy freeze 'end of year' until Mon 2027-01-04 09:00 CET (in 3d 4h); an SRE override lets deploys past"
	if lines[0] != want {
		t.Errorf("first line\n got %q\nwant %q", lines[0], want)
	}
	reasons := v.Reasons()
	if len(reasons) != 1 || reasons[0].Kind != apiv1.ReasonWindow || !reasons[0].Refuses || !reasons[0].Override ||
		reasons[0].Until == nil || !reasons[0].Until.Equal(time.Date(2027, 1, 4, 9, 0, 0, 0, berlin)) || reasons[0].Window == nil {
		t.Errorf("reasons %+v, want one refusing window reason until Mon 09:00 CET that an override lifts", reasons)
	}
	for _, part := range []string{`  deny window f1e2 on global: "0 18 20 12 *" for 351h0m0s in Europe/Berlin, by alice` + "\n", "  status: http://scaplock.example/\n"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message lacks %q:\n%s", part, msg)
		}
	}
	if got := v.Summary(); got != "deploy freeze 'end of year' until Mon 2027-01-04 09:00 CET" {
		t.Errorf("Summary = %q", got)
	}

	weekdays := window("weekdays", "eqiad", WindowAllow, "0 9 * * 1-5", 8*time.Hour, "UTC")
	weekdays.Reason = "weekday train"
	now = utc(2026, 12, 11, 18, 0)
	v = ApplyWindows(Decide(nil, []Scope{"eqiad"}, now), []Window{weekdays}, now)
	first := strings.SplitN(apiv1.RenderRefusal(v.Scopes, v.Reasons(), "", now), "\n", 2)[0]
	if want := "scaplock: deploys to eqiad are refused: outside the deploy windows of eqiad; 'weekday train' opens Mon 2026-12-14 09:00 UTC (in 2d 15h); an SRE override lets deploys past"; first != want {
		t.Errorf("allow refusal\n got %q\nwant %q", first, want)
	}
}

func TestWindowNotice(t *testing.T) {
	train := window("train", "eqiad", WindowDeny, "0 14 * * *", time.Hour, "UTC")
	train.Reason = "train"
	cases := []struct {
		name   string
		scopes []Scope
		now    time.Time
		want   string
	}{
		{"starts soon", []Scope{"eqiad"}, utc(2026, 12, 8, 13, 48), "deny window 'train' starts in 12m"},
		{"ends soon", []Scope{"eqiad"}, utc(2026, 12, 8, 14, 30), "deny window 'train' ends in 30m"},
		{"too far off", []Scope{"eqiad"}, utc(2026, 12, 8, 10, 0), ""},
		{"another scope", []Scope{"codfw"}, utc(2026, 12, 8, 13, 48), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := WindowNotice([]Window{train}, c.scopes, c.now, time.Hour); got != c.want {
				t.Errorf("WindowNotice = %q, want %q", got, c.want)
			}
		})
	}
}

func TestWindowRequestValidate(t *testing.T) {
	now := utc(2026, 12, 8, 12, 0)
	scopes, err := NewKnownScopes("eqiad", "codfw")
	if err != nil {
		t.Fatal(err)
	}
	good := WindowRequest{Scope: "eqiad", Kind: WindowDeny, Schedule: "0 9 * * 1", Duration: time.Hour, Reason: "train", Owner: "alice"}
	cases := []struct {
		name    string
		change  func(r *WindowRequest)
		field   string
		message string
	}{
		{"unknown scope", func(r *WindowRequest) { r.Scope = "eqaid" }, "scope", `unknown scope "eqaid"`},
		{"kind", func(r *WindowRequest) { r.Kind = "maybe" }, "kind", `"maybe" is not one of deny, allow`},
		{"schedule that does not parse", func(r *WindowRequest) { r.Schedule = "every monday" }, "schedule", "is not a 5-field cron expression"},
		{"six fields", func(r *WindowRequest) { r.Schedule = "0 0 9 * * 1" }, "schedule", "is not a 5-field cron expression"},
		{"descriptor", func(r *WindowRequest) { r.Schedule = "@daily" }, "schedule", "is not a 5-field cron expression"},
		{"zone in the schedule", func(r *WindowRequest) { r.Schedule = "CRON_TZ=UTC 0 9 * * 1" }, "schedule", "give it in time_zone"},
		{"never matches", func(r *WindowRequest) { r.Schedule = "0 0 30 2 *" }, "schedule", "never matches"},
		{"empty schedule", func(r *WindowRequest) { r.Schedule = "" }, "schedule", "is required"},
		{"unknown time zone", func(r *WindowRequest) { r.TimeZone = "Mars/Olympus_Mons" }, "time_zone", "is not an IANA time zone"},
		{"Local is no zone", func(r *WindowRequest) { r.TimeZone = "Local" }, "time_zone", "is not an IANA time zone"},
		{"zero duration", func(r *WindowRequest) { r.Duration = 0 }, "duration", "must be positive"},
		{"negative duration", func(r *WindowRequest) { r.Duration = -time.Hour }, "duration", "must be positive"},
		{"duration too long", func(r *WindowRequest) { r.Duration = 400 * 24 * time.Hour }, "duration", "longer than the maximum"},
		{"until not a date", func(r *WindowRequest) { r.Until = "next friday" }, "until", "is not a date"},
		{"until past", func(r *WindowRequest) { r.Until = "2026-12-01" }, "until", "leaves no occurrence"},
		{"reason", func(r *WindowRequest) { r.Reason = " " }, "reason", "is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			c.change(&r)
			err := r.Validate(scopes, now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.message) {
				t.Fatalf("Validate = %v; want a %s error saying %q", err, c.field, c.message)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
		})
	}
	t.Run("good, with the default zone", func(t *testing.T) {
		r := good
		if err := r.Validate(scopes, now); err != nil || r.TimeZone != "UTC" {
			t.Fatalf("Validate = %v, zone %q; want nil, UTC", err, r.TimeZone)
		}
	})
}

func TestNextWindowChange(t *testing.T) {
	lunch := window("lunch", "eqiad", WindowDeny, "0 12 * * *", time.Hour, "UTC")
	train := window("train", "codfw", WindowAllow, "0 9 * * *", 2*time.Hour, "UTC")
	cases := []struct {
		name   string
		scopes []Scope
		now    time.Time
		want   time.Time
	}{
		{"the next start", []Scope{"eqiad"}, utc(2026, 12, 8, 10, 0), utc(2026, 12, 8, 12, 0)},
		{"the end of the active one", []Scope{"eqiad"}, utc(2026, 12, 8, 12, 10), utc(2026, 12, 8, 13, 0)},
		{"the soonest of every scope a global deploy touches", nil, utc(2026, 12, 8, 10, 0), utc(2026, 12, 8, 11, 0)},
		{"a start exactly now is no longer ahead", []Scope{"eqiad"}, utc(2026, 12, 8, 12, 0), utc(2026, 12, 8, 13, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := NextWindowChange([]Window{lunch, train}, c.scopes, c.now)
			if !ok || !got.Equal(c.want) {
				t.Errorf("NextWindowChange = %s %v, want %s", got.UTC(), ok, c.want)
			}
		})
	}
	if _, ok := NextWindowChange([]Window{lunch}, []Scope{"codfw"}, utc(2026, 12, 8, 10, 0)); ok {
		t.Error("a window on another scope is no change")
	}
}

func TestStretches(t *testing.T) {
	lunch := window("lunch", "eqiad", WindowDeny, "0 12 * * 1-5", time.Hour, "UTC")
	// From Saturday 2026-12-12 12:30 for a week: Mon..Fri, none at the weekend.
	got := Stretches(lunch, utc(2026, 12, 12, 12, 30), utc(2026, 12, 19, 12, 30))
	if len(got) != 5 || !got[0][0].Equal(utc(2026, 12, 14, 12, 0)) || !got[4][1].Equal(utc(2026, 12, 18, 13, 0)) {
		t.Fatalf("stretches %v", got)
	}
	// From inside one: it comes first, whole.
	got = Stretches(lunch, utc(2026, 12, 14, 12, 30), utc(2026, 12, 15, 0, 0))
	if len(got) != 1 || !got[0][0].Equal(utc(2026, 12, 14, 12, 0)) {
		t.Fatalf("stretches from inside %v", got)
	}
}
