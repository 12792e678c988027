package lock

import (
	"fmt"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

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
			note(d, fmt.Sprintf("%s window '%s' ends in %s", w.Kind, w.Reason, apiv1.Approx(d)))
		}
		if start, _ := Next(w, now); !start.IsZero() {
			d := start.Sub(now)
			note(d, fmt.Sprintf("%s window '%s' starts in %s", w.Kind, w.Reason, apiv1.Approx(d)))
		}
	}
	return best
}
