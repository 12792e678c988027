package lock

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// The feed parses (go-ical), keeps RFC 5545's line rules, defines every
// TZID it uses, and each event says the same starts as the window: a
// recurring one through its RRULE (expanded by rrule-go, across the
// spring-forward day), any other one by one for eight weeks.
func TestWriteICalendar(t *testing.T) {
	now := utc(2026, 12, 8, 12, 0)
	train := window("train0000000000a", "eqiad", WindowAllow, "0 9 * * 1-4", 2*time.Hour, "Europe/Berlin")
	train.Until, train.CreatedAt = "2027-04-30", now
	monthly := window("close00000000000", "global", WindowDeny, "0 18 28-31 * *", 6*time.Hour, "UTC")
	monthly.CreatedAt = now
	odd := window("odd0000000000000", "codfw", WindowDeny, "30 2 1 * 1", time.Hour, "America/New_York")
	odd.Reason = "first of the month, or Mondays; a long reason, with commas; and semicolons, to fold"
	var buf bytes.Buffer
	if err := WriteICalendar(&buf, []Window{train, monthly, odd}, now); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	if !strings.HasSuffix(raw, "\r\n") || strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") {
		t.Fatal("lines must end in CRLF")
	}
	for _, l := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
	cal, err := ical.NewDecoder(strings.NewReader(raw)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, raw)
	}
	zones := map[string]bool{}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			zones[c.Props.Get(ical.PropTimezoneID).Value] = true
		}
	}
	events := map[string][]ical.Event{}
	for _, ev := range cal.Events() {
		uid := ev.Props.Get(ical.PropUID).Value
		events[strings.SplitN(strings.TrimSuffix(uid, "@scaplock"), "-", 2)[0]] = append(events[strings.SplitN(strings.TrimSuffix(uid, "@scaplock"), "-", 2)[0]], ev)
		if tz := ev.Props.Get(ical.PropDateTimeStart).Params.Get(ical.PropTimezoneID); tz != "" && !zones[tz] {
			t.Errorf("TZID %s has no VTIMEZONE", tz)
		}
	}

	t.Run("weekly, in a zone, across daylight saving", func(t *testing.T) {
		evs := events[train.ID]
		if len(evs) != 1 {
			t.Fatalf("%d events, want one recurring", len(evs))
		}
		start := evs[0].Props.Get(ical.PropDateTimeStart)
		if start.Params.Get(ical.PropTimezoneID) != "Europe/Berlin" || start.Value != "20261209T090000" {
			t.Errorf("DTSTART %v %q", start.Params, start.Value)
		}
		if got := evs[0].Props.Get(ical.PropRecurrenceRule).Value; got != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9;BYMINUTE=0;UNTIL=20270430T215959Z" {
			t.Errorf("RRULE %q", got)
		}
		if d, err := evs[0].Props.Get(ical.PropDuration).Duration(); err != nil || d != 2*time.Hour {
			t.Errorf("DURATION %v %v", d, err)
		}
		sameStarts(t, evs[0], train, now, utc(2027, 5, 2, 0, 0))
	})
	t.Run("days of the month", func(t *testing.T) {
		evs := events[monthly.ID]
		if len(evs) != 1 || evs[0].Props.Get(ical.PropRecurrenceRule).Value != "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYHOUR=18;BYMINUTE=0" ||
			evs[0].Props.Get(ical.PropDateTimeStart).Value != "20261228T180000Z" {
			t.Fatalf("events %+v", evs)
		}
		sameStarts(t, evs[0], monthly, now, utc(2027, 12, 31, 23, 0))
	})
	t.Run("day of month or day of week: no RRULE, eight weeks of events", func(t *testing.T) {
		sc, _ := compile(odd)
		var want []string
		for s := range sc.startsAfter(now.Add(-time.Hour)) {
			if s.After(now.Add(ICalendarHorizon)) {
				break
			}
			want = append(want, s.In(sc.loc).Format("20060102T150405"))
		}
		var got []string
		for _, ev := range events[odd.ID] {
			if ev.Props.Get(ical.PropRecurrenceRule) != nil {
				t.Error("an OR of day-of-month and day-of-week cannot be an RRULE")
			}
			got = append(got, ev.Props.Get(ical.PropDateTimeStart).Value)
		}
		if len(want) < 9 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("starts %v, want %v", got, want)
		}
		if s, _ := events[odd.ID][0].Props.Get(ical.PropSummary).Text(); s != "deploy freeze: "+odd.Reason+" (codfw)" {
			t.Errorf("SUMMARY %q does not unescape to the reason", s)
		}
	})
}

// sameStarts checks that ev's recurrence gives the window's starts up to end.
func sameStarts(t *testing.T, ev ical.Event, w Window, now, end time.Time) {
	t.Helper()
	sc, err := compile(w)
	if err != nil {
		t.Fatal(err)
	}
	set, err := ev.RecurrenceSet(sc.loc)
	if err != nil || set == nil {
		t.Fatalf("recurrence: %v", err)
	}
	got := set.Between(now, end, true)
	var want []time.Time
	for s := range sc.startsAfter(now) {
		if s.After(end) {
			break
		}
		want = append(want, s)
	}
	if len(got) != len(want) || len(want) < 10 {
		t.Fatalf("%d starts from the RRULE, %d from the schedule", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("start %d: RRULE %s, schedule %s", i, got[i], want[i])
		}
	}
}
