package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

const clock = "2006-01-02 15:04:05 UTC"

// since is t in UTC with how long ago it was, e.g.
// "2024-05-28 12:49:12 UTC (3m ago)".
func since(now, t time.Time) string {
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(clock), relative(now.Sub(t)))
}

// until is an expiry in UTC with how far off it is; nil is "never".
func until(now time.Time, t *time.Time) string {
	if t == nil {
		return "never"
	}
	d := t.Sub(now)
	if d < 0 {
		return fmt.Sprintf("%s (%s ago)", t.UTC().Format(clock), relative(-d))
	}
	return fmt.Sprintf("%s (in %s)", t.UTC().Format(clock), relative(d))
}

// relative is d rounded for a human: 42s, 3m, 2h15m, 3d4h.
func relative(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// healthLine is a cluster's status and reason on one line.
func healthLine(r apiv1.ClusterHealth) string {
	status, reason := string(r.Status), r.Reason
	switch {
	case status == "" && reason == "":
		return "(no status)"
	case reason == "":
		return status
	case status == "":
		return "(no status)  " + reason
	}
	return status + "  " + reason
}

// quote keeps a reason on one line in tables.
func quote(s string) string { return strconv.Quote(s) }

// safe is how every string the service supplies reaches the terminal: as
// is when it is printable, else with control characters and invalid UTF-8
// escaped (\x1b, \r, \n), so a hold reason or a token's sub can never
// move the cursor, clear the screen or fake a line.
func safe(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// safeLines is safe for multi-line text (a refusal message): its lines
// stay lines, everything else is escaped.
func safeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = safe(l)
	}
	return strings.Join(lines, "\n")
}
