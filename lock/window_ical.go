package lock

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ICalendarHorizon is how far ahead a window whose schedule no RRULE
// says is written out occurrence by occurrence.
const ICalendarHorizon = 8 * 7 * 24 * time.Hour

// starBit marks a cron field written "*" (robfig/cron's own marker): it
// decides whether day-of-month and day-of-week combine by AND or OR.
const starBit = 1 << 63

// WriteICalendar writes windows as an iCalendar feed (RFC 5545): a
// window whose schedule an RRULE says (fixed times on every day, on days
// of the week, or on days of the month) is one recurring event in its
// time zone; any other is its occurrences from now to ICalendarHorizon.
func WriteICalendar(w io.Writer, windows []Window, now time.Time) error {
	c := &icalWriter{now: now.UTC()}
	c.line("BEGIN:VCALENDAR")
	c.line("VERSION:2.0")
	c.line("PRODID:-//scaplock//deployment windows//EN")
	c.line("CALSCALE:GREGORIAN")
	c.line("X-WR-CALNAME:scaplock deployment windows")
	zones := map[string]*time.Location{}
	var events strings.Builder
	for _, win := range windows {
		sc, err := compile(win)
		if err != nil {
			continue // it refuses its scope; a calendar cannot show when
		}
		if sc.loc != time.UTC {
			zones[sc.loc.String()] = sc.loc
		}
		ev := &icalWriter{now: c.now, b: &events}
		ev.window(win, sc)
	}
	for _, loc := range zones {
		c.timezone(loc)
	}
	c.b.WriteString(events.String())
	c.line("END:VCALENDAR")
	_, err := io.WriteString(w, c.b.String())
	return err
}

type icalWriter struct {
	now time.Time
	b   *strings.Builder
}

// line writes one content line, folded at 75 octets (RFC 5545 3.1).
func (c *icalWriter) line(s string) {
	if c.b == nil {
		c.b = &strings.Builder{}
	}
	for len(s) > 75 {
		cut := 75
		for cut > 0 && s[cut]&0xC0 == 0x80 { // never inside a UTF-8 sequence
			cut--
		}
		c.b.WriteString(s[:cut] + "\r\n ")
		s = s[cut:]
	}
	c.b.WriteString(s + "\r\n")
}

// icalText escapes a TEXT value (RFC 5545 3.3.11).
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

// icalDuration writes d as an RFC 5545 duration: P1DT2H30M.
func icalDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	s := "P"
	if days > 0 {
		s += fmt.Sprintf("%dD", days)
	}
	if rest > 0 {
		s += "T"
		if h := rest / time.Hour; h > 0 {
			s += fmt.Sprintf("%dH", h)
		}
		if m := rest % time.Hour / time.Minute; m > 0 {
			s += fmt.Sprintf("%dM", m)
		}
		if sec := rest % time.Minute / time.Second; sec > 0 {
			s += fmt.Sprintf("%dS", sec)
		}
	}
	return s
}

// dtstart is a DTSTART line for t in sc's zone.
func dtstart(t time.Time, loc *time.Location) string {
	if loc == time.UTC {
		return "DTSTART:" + t.UTC().Format("20060102T150405Z")
	}
	return "DTSTART;TZID=" + loc.String() + ":" + t.In(loc).Format("20060102T150405")
}

func (c *icalWriter) window(win Window, sc schedule) {
	summary := fmt.Sprintf("deploy freeze: %s (%s)", win.Reason, win.Scope)
	if win.Kind == WindowAllow {
		summary = fmt.Sprintf("deploy window: %s (%s)", win.Reason, win.Scope)
	}
	desc := fmt.Sprintf("scaplock %s window %s on %s: %q for %s in %s, by %s", win.Kind, win.ID, win.Scope, win.Schedule, time.Duration(win.Duration), win.TimeZone, win.Owner)
	event := func(uid string, start time.Time, rrule string) {
		c.line("BEGIN:VEVENT")
		c.line("UID:" + uid + "@scaplock")
		c.line("DTSTAMP:" + c.now.Format("20060102T150405Z"))
		c.line(dtstart(start, sc.loc))
		c.line("DURATION:" + icalDuration(sc.d))
		if rrule != "" {
			c.line("RRULE:" + rrule)
		}
		c.line("SUMMARY:" + icalText(summary))
		c.line("DESCRIPTION:" + icalText(desc))
		c.line("CATEGORIES:" + strings.ToUpper(string(win.Kind)))
		c.line("TRANSP:TRANSPARENT")
		c.line("END:VEVENT")
	}
	if rule, ok := recurrence(sc); ok {
		from := win.CreatedAt.Add(-sc.d)
		if win.CreatedAt.IsZero() {
			from = c.now.Add(-sc.d)
		}
		if first, ok := sc.nextStart(from); ok {
			event(win.ID, first, rule)
		}
		return
	}
	for start := range sc.startsAfter(c.now.Add(-sc.d)) {
		if start.After(c.now.Add(ICalendarHorizon)) {
			break
		}
		event(win.ID+"-"+start.UTC().Format("20060102T1504Z"), start, "")
	}
}

var icalDays = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// recurrence is the RRULE that says sc's starts, when one does: every
// field a list (cron ranges and steps are lists), and day-of-month and
// day-of-week not both restricted (cron ORs them; an RRULE cannot).
func recurrence(sc schedule) (string, bool) {
	spec, ok := sc.spec.(*cron.SpecSchedule)
	if !ok {
		return "", false
	}
	domStar, dowStar := spec.Dom&starBit != 0, spec.Dow&starBit != 0
	var parts []string
	switch {
	case domStar && dowStar:
		parts = append(parts, "FREQ=DAILY")
	case domStar:
		parts = append(parts, "FREQ=WEEKLY", "BYDAY="+strings.Join(setBits(spec.Dow, 0, 6, func(i int) string { return icalDays[i] }), ","))
	case dowStar:
		parts = append(parts, "FREQ=MONTHLY", "BYMONTHDAY="+strings.Join(setBits(spec.Dom, 1, 31, strconv.Itoa), ","))
	default:
		return "", false
	}
	if months := setBits(spec.Month, 1, 12, strconv.Itoa); len(months) < 12 {
		parts = append(parts, "BYMONTH="+strings.Join(months, ","))
	}
	parts = append(parts,
		"BYHOUR="+strings.Join(setBits(spec.Hour, 0, 23, strconv.Itoa), ","),
		"BYMINUTE="+strings.Join(setBits(spec.Minute, 0, 59, strconv.Itoa), ","))
	if !sc.last.IsZero() {
		// UNTIL is UTC with a zoned DTSTART: the last second of the last day.
		end := instant(sc.last, sc.loc).Add(-time.Second)
		parts = append(parts, "UNTIL="+end.UTC().Format("20060102T150405Z"))
	}
	return strings.Join(parts, ";"), true
}

// setBits names the values lo..hi set in a cron field.
func setBits(field uint64, lo, hi int, name func(int) string) []string {
	var out []string
	for i := lo; i <= hi; i++ {
		if field&(1<<uint(i)) != 0 {
			out = append(out, name(i))
		}
	}
	return out
}

// timezone writes loc's VTIMEZONE: each change of offset from a year ago
// to two years ahead, as RFC 5545 wants for every TZID used.
func (c *icalWriter) timezone(loc *time.Location) {
	c.line("BEGIN:VTIMEZONE")
	c.line("TZID:" + loc.String())
	from, to := c.now.AddDate(-1, 0, 0).In(loc), c.now.AddDate(2, 0, 0)
	observance := func(at time.Time, offFrom int) {
		name, offTo := at.Zone()
		kind := "STANDARD"
		if at.IsDST() {
			kind = "DAYLIGHT"
		}
		c.line("BEGIN:" + kind)
		// DTSTART is the wall clock the change happens at, before it.
		c.line("DTSTART:" + wallOf(at).Add(time.Duration(offFrom-offTo)*time.Second).Format("20060102T150405"))
		c.line("TZOFFSETFROM:" + icalOffset(offFrom))
		c.line("TZOFFSETTO:" + icalOffset(offTo))
		c.line("TZNAME:" + name)
		c.line("END:" + kind)
	}
	_, off := from.Zone()
	observance(from, off)
	at := from
	for range 16 {
		_, end := at.ZoneBounds()
		if end.IsZero() || end.After(to) {
			break
		}
		_, before := at.Zone()
		at = end.In(loc)
		observance(at, before)
	}
	c.line("END:VTIMEZONE")
}

func icalOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	return fmt.Sprintf("%s%02d%02d", sign, seconds/3600, seconds%3600/60)
}
