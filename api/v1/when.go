package apiv1

import (
	"fmt"
	"strings"
	"time"
)

// The one time format people read is the clock in UTC with how long ago
// (or how far ahead) it is: "18:36:04 UTC (12s ago)", the date added when
// it is not within a day: "2026-12-05 18:36:04 UTC (2d3h ago)". Machines
// read RFC 3339, which is how time.Time goes into JSON.

// When is t as people read it, beside now.
func When(now, t time.Time) string { return stamper{now: now, live: true}.stamp(t) }

// At is t as text kept for later reads it, without an age that would go
// stale: "18:36:04 UTC", with the date when now is not within a day.
func At(now, t time.Time) string { return stamper{now: now}.stamp(t) }

// stamper writes times: live text (read as it is written) says how long
// ago, text kept for later does not.
type stamper struct {
	now  time.Time
	live bool
}

// stamp is t with the age (when live) and extra items in one parenthesis:
// "12:46:19 UTC (0s ago, hold 6ceb)".
func (st stamper) stamp(t time.Time, extra ...string) string {
	clock := "15:04:05 UTC"
	if d := st.now.Sub(t); d >= 24*time.Hour || d <= -24*time.Hour {
		clock = "2006-01-02 15:04:05 UTC"
	}
	var paren []string
	if st.live {
		if d := st.now.Sub(t); d >= 0 {
			paren = append(paren, Span(d)+" ago")
		} else {
			paren = append(paren, "in "+Span(-d))
		}
	}
	paren = append(paren, extra...)
	s := t.UTC().Format(clock)
	if len(paren) > 0 {
		s += " (" + strings.Join(paren, ", ") + ")"
	}
	return s
}

// Span is a duration as people read it, to the second within an hour:
// 42s, 3m, 3m5s, 2h15m, 3d4h.
func Span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < time.Hour && s == 0:
		return fmt.Sprintf("%dm", m)
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", m, s)
	case d < 48*time.Hour && m == 0:
		return fmt.Sprintf("%dh", h)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", h, m)
	case h%24 == 0:
		return fmt.Sprintf("%dd", h/24)
	}
	return fmt.Sprintf("%dd%dh", h/24, h%24)
}
