package lock

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	// Windows name IANA zones; a host or image without tzdata must still
	// read them, and read them as every other replica does.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The wire types of windows live in package apiv1.
type (
	Window        = apiv1.Window
	WindowKind    = apiv1.WindowKind
	WindowRefusal = apiv1.WindowRefusal
)

const (
	WindowDeny  = apiv1.WindowDeny
	WindowAllow = apiv1.WindowAllow
	KindWindow  = apiv1.KindWindow

	ActionDeleted = apiv1.ActionDeleted
)

// MaxWindowDuration bounds one occurrence: a freeze longer than a year is
// a hold, not a window.
const MaxWindowDuration = 366 * 24 * time.Hour

// untilLayout is how Window.Until is written.
const untilLayout = time.DateOnly

// cronParser reads the five standard fields only: no seconds, no
// descriptors (@every counts from whenever it is asked, not a calendar).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// WindowRequest asks for a new window. TimeZone "" means UTC.
type WindowRequest struct {
	Scope    Scope
	Kind     WindowKind
	Schedule string
	Duration time.Duration
	TimeZone string
	Reason   string
	Until    string
	Owner    string
	// Idem, when set, makes the request safe to retry.
	Idem *Idempotency
}

// ParseWindowKind validates k.
func ParseWindowKind(k string) (WindowKind, error) {
	switch WindowKind(k) {
	case WindowDeny, WindowAllow:
		return WindowKind(k), nil
	}
	return "", invalid("kind", "%q is not one of deny, allow", k)
}

// Validate checks every field of r, naming the first bad one, and applies
// the default time zone. now rejects an until already past: a window that
// can never apply is a mistake, not a window.
func (r *WindowRequest) Validate(scopes KnownScopes, now time.Time) error {
	if _, err := scopes.Parse(string(r.Scope)); err != nil {
		return err
	}
	if _, err := ParseWindowKind(string(r.Kind)); err != nil {
		return err
	}
	if r.TimeZone == "" {
		r.TimeZone = "UTC"
	}
	w := Window{Scope: r.Scope, Kind: r.Kind, Schedule: r.Schedule, Duration: Duration(r.Duration), TimeZone: r.TimeZone, Until: r.Until}
	sc, err := compile(w)
	if err != nil {
		return err
	}
	if err := ValidateDuration("duration", r.Duration, MaxWindowDuration); err != nil {
		return err
	}
	if err := ValidateReason(r.Reason); err != nil {
		return err
	}
	if r.Owner == "" {
		return invalid("owner", "is required")
	}
	if _, ok := sc.nextStart(now.Add(-r.Duration)); !ok {
		if r.Until != "" {
			return invalid("until", "%s leaves no occurrence of %q from now on", r.Until, r.Schedule)
		}
		return invalid("schedule", "%q never matches a date (such as 30 February)", r.Schedule)
	}
	return nil
}

// schedule is a window compiled: its cron schedule read on the wall clock
// of its time zone.
type schedule struct {
	spec cron.Schedule
	loc  *time.Location
	d    time.Duration
	// last is the first wall time past Until; zero without Until.
	last time.Time
}

func compile(w Window) (schedule, error) {
	spec := strings.TrimSpace(w.Schedule)
	if spec == "" {
		return schedule{}, invalid("schedule", "is required: a 5-field cron expression such as \"0 9 * * 1-4\"")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return schedule{}, invalid("schedule", "%q names a time zone: give it in time_zone", w.Schedule)
	}
	parsed, err := parseCron(spec)
	if err != nil {
		return schedule{}, invalid("schedule", "%q is not a 5-field cron expression (minute hour day-of-month month day-of-week): %v", w.Schedule, err)
	}
	tz := w.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	// "Local" would make a window mean something else on each replica.
	if tz == "Local" {
		return schedule{}, invalid("time_zone", "%q is not an IANA time zone name such as Europe/Berlin", tz)
	}
	loc, err := loadZone(tz)
	if err != nil {
		return schedule{}, invalid("time_zone", "%q is not an IANA time zone name such as Europe/Berlin", tz)
	}
	sc := schedule{spec: parsed, loc: loc, d: time.Duration(w.Duration)}
	if w.Until != "" {
		day, err := time.Parse(untilLayout, w.Until)
		if err != nil {
			return schedule{}, invalid("until", "%q is not a date (YYYY-MM-DD)", w.Until)
		}
		sc.last = day.AddDate(0, 0, 1)
	}
	return sc, nil
}

// Verdicts read every window on every request: zones (a file read and
// parse each) and schedules are kept once read, up to maxCached of each
// (windows are few; the bound stops a flood of bad input growing them).
var (
	zones, specs sync.Map
	cached       atomic.Int64
)

const maxCached = 4096

func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil && cached.Add(1) <= maxCached {
		zones.Store(name, loc)
	}
	return loc, err
}

func parseCron(spec string) (cron.Schedule, error) {
	if s, ok := specs.Load(spec); ok {
		return s.(cron.Schedule), nil
	}
	s, err := cronParser.Parse(spec)
	if err == nil && cached.Add(1) <= maxCached {
		specs.Store(spec, s)
	}
	return s, err
}

// maxShift bounds how far a zone's wall clock moves at one transition
// (daylight saving moves it 1 h, a few zones 30 min or 2 h).
const maxShift = 3 * time.Hour

// maxSteps bounds every walk through occurrences.
const maxSteps = 4096

// maxChain bounds how many overlapping occurrences a stretch joins: a
// window that never ends (every minute, for an hour) is reported as ending
// after this many, and found active again then.
const maxChain = 64

// wallOf is t's wall clock in its location, written as a UTC time: the
// cron schedule is matched on the wall clock, as people read the window.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant is when the wall clock of loc shows wall. A wall time the
// clock shows twice (the hour repeated when daylight saving ends) is its
// first; a wall time the clock skips (the hour lost when it begins) is
// the moment the clock jumps: a window at 02:30 on that day starts at
// 03:00. Starts are then never lost and never doubled.
func instant(wall time.Time, loc *time.Location) time.Time {
	guess := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	var first, latest time.Time
	for _, probe := range []time.Time{guess.Add(-12 * time.Hour), guess.Add(12 * time.Hour)} {
		_, offset := probe.Zone()
		c := wall.Add(-time.Duration(offset) * time.Second).In(loc)
		if latest.IsZero() || c.After(latest) {
			latest = c
		}
		if wallOf(c).Equal(wall) && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	if !first.IsZero() {
		return first
	}
	start, _ := latest.ZoneBounds()
	return start
}

// startsAfter yields every start strictly after t, in order.
func (sc schedule) startsAfter(t time.Time) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		// Instants map to wall times out of order around a transition;
		// walking from maxShift earlier on the wall clock misses none.
		wall := wallOf(t.In(sc.loc)).Add(-maxShift)
		last := t
		for range maxSteps {
			wall = sc.spec.Next(wall)
			if wall.IsZero() || (!sc.last.IsZero() && !wall.Before(sc.last)) {
				return
			}
			// Starts in a skipped hour all land on the jump: one start.
			if at := instant(wall, sc.loc); at.After(last) {
				last = at
				if !yield(at) {
					return
				}
			}
		}
	}
}

// nextStart is the first start strictly after t; false when none is left.
func (sc schedule) nextStart(t time.Time) (time.Time, bool) {
	for at := range sc.startsAfter(t) {
		return at, true
	}
	return time.Time{}, false
}

// span is the occurrence starting at start, joined with every later one
// that begins before it ends: overlapping occurrences are one stretch.
func (sc schedule) span(start time.Time) (time.Time, time.Time) {
	end := start.Add(sc.d)
	n := 0
	for next := range sc.startsAfter(start) {
		if n++; n > maxChain || next.After(end) {
			break
		}
		if e := next.Add(sc.d); e.After(end) {
			end = e
		}
	}
	return start, end
}

// active is the stretch in effect at now, if any: some start s with
// s <= now < s+duration. Cron only looks forward, so the search starts
// one duration back.
func (sc schedule) active(now time.Time) (bool, time.Time, time.Time) {
	s, ok := sc.nextStart(now.Add(-sc.d))
	if !ok || s.After(now) {
		return false, time.Time{}, time.Time{}
	}
	start, end := sc.span(s)
	return true, start, end
}

// next is the first stretch to start after now and after the stretch in
// effect at now.
func (sc schedule) next(now time.Time) (time.Time, time.Time, bool) {
	from := now
	if ok, _, end := sc.active(now); ok {
		from = end
	}
	s, ok := sc.nextStart(from)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	start, end := sc.span(s)
	return start, end, true
}

// Active reports whether w is in effect at now, and the stretch of
// overlapping occurrences it is in. A window that cannot be read (it was
// validated when written) is not active; WindowsDecide refuses on it.
func Active(w Window, now time.Time) (bool, time.Time, time.Time) {
	sc, err := compile(w)
	if err != nil {
		return false, time.Time{}, time.Time{}
	}
	return sc.active(now)
}

// Next is w's next stretch after the one in effect at now (if any); zero
// times when no occurrence is left.
func Next(w Window, now time.Time) (time.Time, time.Time) {
	sc, err := compile(w)
	if err != nil {
		return time.Time{}, time.Time{}
	}
	start, end, _ := sc.next(now)
	return start, end
}

// ended reports whether w will never be in effect again.
func ended(w Window, now time.Time) bool {
	if ok, _, _ := Active(w, now); ok {
		return false
	}
	start, _ := Next(w, now)
	return start.IsZero()
}

// WindowsDecide is the window semantics as a pure function: the windows
// that refuse a deploy to scope at now. An active deny window covering
// scope refuses (a global one covers every scope; a deploy to global is
// covered by every one). Once a scope has allow windows (its own and
// global ones), a deploy outside all of them is refused; a deploy to
// global must fall inside the allow windows of every scope that has them.
// Windows whose last occurrence is over count for nothing; a window that
// cannot be read refuses (fail safe).
func WindowsDecide(windows []Window, scope Scope, now time.Time) []WindowRefusal {
	var out []WindowRefusal
	allows := map[Scope][]Window{}
	for _, w := range windows {
		if !w.Scope.Covers(scope) {
			continue
		}
		if _, err := compile(w); err != nil {
			out = append(out, WindowRefusal{Window: w, Scope: w.Scope})
			continue
		}
		switch w.Kind {
		case WindowDeny:
			if ok, _, end := Active(w, now); ok {
				out = append(out, WindowRefusal{Window: w, Scope: w.Scope, Until: &end})
			}
		case WindowAllow:
			if !ended(w, now) {
				allows[w.Scope] = append(allows[w.Scope], w)
			}
		default:
			out = append(out, WindowRefusal{Window: w, Scope: w.Scope})
		}
	}
	targets := []Scope{scope}
	if scope == Global {
		targets = slices.Sorted(func(yield func(Scope) bool) {
			for s := range allows {
				if !yield(s) {
					return
				}
			}
		})
	}
	for _, t := range targets {
		set := allows[t]
		if t != Global {
			set = append(slices.Clone(set), allows[Global]...)
		}
		if r, refused := outsideAllows(set, t, now); refused {
			out = append(out, r)
		}
	}
	// Deny first: a freeze is the refusal people plan around.
	slices.SortStableFunc(out, func(a, b WindowRefusal) int {
		return cmp.Or(cmp.Compare(kindOrder(a.Window.Kind), kindOrder(b.Window.Kind)), cmp.Compare(a.Window.ID, b.Window.ID))
	})
	return out
}

func kindOrder(k WindowKind) int {
	if k == WindowDeny {
		return 0
	}
	return 1
}

// outsideAllows refuses when set is not empty and none of it is active;
// the refusal names the allow window that opens first.
func outsideAllows(set []Window, scope Scope, now time.Time) (WindowRefusal, bool) {
	if len(set) == 0 {
		return WindowRefusal{}, false
	}
	var first WindowRefusal
	for _, w := range set {
		if ok, _, _ := Active(w, now); ok {
			return WindowRefusal{}, false
		}
		start, _ := Next(w, now)
		if start.IsZero() {
			continue
		}
		if first.Until == nil || start.Before(*first.Until) {
			first = WindowRefusal{Window: w, Scope: scope, Until: &start}
		}
	}
	if first.Until == nil {
		first = WindowRefusal{Window: set[0], Scope: scope}
	}
	return first, true
}

// ApplyWindows adds to v the windows that refuse its scopes at now. The
// verdict's overrides let deploys past a window as they do past auto
// holds: an override lifts a window refusal when it covers both the
// deploy's scope and the window's.
func ApplyWindows(v Verdict, windows []Window, now time.Time) Verdict {
	seen := map[string]bool{}
	scopes := v.Scopes
	if len(scopes) == 0 {
		scopes = []Scope{Global}
	}
	for _, s := range scopes {
		for _, r := range WindowsDecide(windows, s, now) {
			key := r.Window.ID + "\x00" + string(r.Scope)
			if seen[key] {
				continue
			}
			seen[key] = true
			if lifted(v.Overrides, s, r.Scope) {
				v.OverriddenWindows = append(v.OverriddenWindows, r)
			} else {
				v.Windows = append(v.Windows, r)
			}
		}
	}
	v.Allowed = v.Allowed && len(v.Windows) == 0
	return v
}

// lifted reports whether an override lets a deploy to scope past a
// refusal on target.
func lifted(overrides []Hold, scope, target Scope) bool {
	for _, o := range overrides {
		if o.Scope.Covers(scope) && o.Scope.Covers(target) {
			return true
		}
	}
	return false
}

// covering are the windows that bear on a deploy to scopes (every scope
// when none is given).
func covering(windows []Window, scopes []Scope) []Window {
	if len(scopes) == 0 {
		scopes = []Scope{Global}
	}
	var out []Window
	for _, w := range windows {
		if slices.ContainsFunc(scopes, w.Scope.Covers) {
			out = append(out, w)
		}
	}
	return out
}

// NextWindowChange is the first instant after now at which a window
// bearing on scopes starts or ends: when a verdict on them may change
// with no write. False when none is left.
func NextWindowChange(windows []Window, scopes []Scope, now time.Time) (time.Time, bool) {
	var first time.Time
	note := func(t time.Time) {
		if t.After(now) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	for _, w := range covering(windows, scopes) {
		if ok, _, end := Active(w, now); ok {
			note(end)
		}
		if start, _ := Next(w, now); !start.IsZero() {
			note(start)
		}
	}
	return first, !first.IsZero()
}

// Stretches are w's stretches of occurrences that overlap [from, to), in
// order: the week strip of the status page.
func Stretches(w Window, from, to time.Time) [][2]time.Time {
	sc, err := compile(w)
	if err != nil {
		return nil
	}
	var out [][2]time.Time
	at := from
	if ok, start, end := sc.active(from); ok {
		out = append(out, [2]time.Time{start, end})
		at = end
	}
	for len(out) < maxChain {
		s, ok := sc.nextStart(at)
		if !ok || !s.Before(to) {
			break
		}
		start, end := sc.span(s)
		out = append(out, [2]time.Time{start, end})
		at = end
	}
	return out
}
