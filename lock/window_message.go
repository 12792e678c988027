package lock

import (
	"fmt"
	"time"
)

// whenLayout is how a window's times are written, in its own time zone:
// "Mon 2027-01-04 09:00 CET".
const whenLayout = "Mon 2006-01-02 15:04 MST"

// WindowTime writes t on w's wall clock; UTC when w's zone cannot be read.
func WindowTime(w Window, t time.Time) string {
	loc, err := loadZone(w.TimeZone)
	if err != nil || w.TimeZone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format(whenLayout)
}

// windowSummary is the short why of a window refusal:
// "deploy freeze 'end of year' until Mon 2027-01-04 09:00 CET".
func windowSummary(r WindowRefusal) string {
	switch {
	case r.Window.Kind == WindowDeny && r.Until != nil:
		return fmt.Sprintf("deploy freeze '%s' until %s", r.Window.Reason, WindowTime(r.Window, *r.Until))
	case r.Window.Kind == WindowAllow && r.Until != nil:
		return fmt.Sprintf("outside the deploy windows of %s; '%s' opens %s", r.Scope, r.Window.Reason, WindowTime(r.Window, *r.Until))
	case r.Window.Kind == WindowAllow:
		return fmt.Sprintf("outside the deploy windows of %s; none opens again", r.Scope)
	}
	return fmt.Sprintf("window '%s' cannot be read; it refuses until an SRE removes it", r.Window.Reason)
}

// windowHeadline is windowSummary with how long is left and the way past it.
func windowHeadline(r WindowRefusal, now time.Time) string {
	s := windowSummary(r)
	if r.Until != nil {
		s += " (in " + Approx(r.Until.Sub(now)) + ")"
	}
	return s + "; an SRE override lets deploys past"
}

// windowDetail names a window for the lines under a refusal.
func windowDetail(w Window) string {
	s := fmt.Sprintf("%s window %s on %s: %q for %s in %s", w.Kind, Hold{ID: w.ID}.ShortID(), w.Scope, w.Schedule, time.Duration(w.Duration), w.TimeZone)
	if w.Until != "" {
		s += ", until " + w.Until
	}
	return s + ", by " + w.Owner
}

// WindowNotice says when a window change is near, for an allowed deploy:
// "deny window 'train' starts in 12m". Empty when no window of scopes
// starts or ends within horizon.
func WindowNotice(windows []Window, scopes []Scope, now time.Time, horizon time.Duration) string {
	var best string
	var soonest time.Duration
	note := func(d time.Duration, text string) {
		if d >= 0 && d <= horizon && (best == "" || d < soonest) {
			best, soonest = text, d
		}
	}
	for _, w := range covering(windows, scopes) {
		if ok, _, end := Active(w, now); ok {
			d := end.Sub(now)
			note(d, fmt.Sprintf("%s window '%s' ends in %s", w.Kind, w.Reason, Approx(d)))
		}
		if start, _ := Next(w, now); !start.IsZero() {
			d := start.Sub(now)
			note(d, fmt.Sprintf("%s window '%s' starts in %s", w.Kind, w.Reason, Approx(d)))
		}
	}
	return best
}

// Approx writes d for people, to two units: "3d 4h", "2h 5m", "12m", "40s".
func Approx(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
