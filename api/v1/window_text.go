package apiv1

import (
	"fmt"
	"time"
)

// How window reasons read. A window's times are written on its own
// zone's clock: "Mon 2027-01-04 09:00 CET".
const whenLayout = "Mon 2006-01-02 15:04 MST"

// WindowTime writes t on w's wall clock; UTC when w's zone cannot be read.
func WindowTime(w Window, t time.Time) string {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil || w.TimeZone == "" {
		loc = time.UTC
	}
	return t.In(loc).Format(whenLayout)
}

// windowSummary is the short why of a window reason:
// "deploy freeze 'end of year' until Mon 2027-01-04 09:00 CET".
func (r Reason) windowSummary() string {
	w := r.Window
	if w == nil {
		return r.Reason
	}
	switch {
	case w.Kind == WindowDeny && r.Until != nil:
		return fmt.Sprintf("deploy freeze '%s' until %s", w.Reason, WindowTime(*w, *r.Until))
	case w.Kind == WindowAllow && r.Until != nil:
		return fmt.Sprintf("outside the deploy windows of %s; '%s' opens %s", r.Scope, w.Reason, WindowTime(*w, *r.Until))
	case w.Kind == WindowAllow:
		return fmt.Sprintf("outside the deploy windows of %s; none opens again", r.Scope)
	}
	return fmt.Sprintf("window '%s' cannot be read; it refuses until an SRE removes it", w.Reason)
}

// windowHeadline is the summary with how long is left and the way past it,
// for a refusal's first line.
func (r Reason) windowHeadline(now time.Time) string {
	s := r.windowSummary()
	if r.Until != nil {
		s += " (in " + Approx(r.Until.Sub(now)) + ")"
	}
	return s + "; an SRE override lets deploys past"
}

// windowDetail names the window under a refusal.
func (r Reason) windowDetail() string {
	w := r.Window
	if w == nil {
		return r.Reason
	}
	s := fmt.Sprintf("%s window %s on %s: %q for %s in %s", w.Kind, Hold{ID: w.ID}.ShortID(), w.Scope, w.Schedule, time.Duration(w.Duration), w.TimeZone)
	if w.Until != "" {
		s += ", until " + w.Until
	}
	return s + ", by " + w.Owner
}

// Approx writes d for people, to two units, as the refusal text
// reads: "3d 4h", "2h 5m", "12m", "40s".
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
