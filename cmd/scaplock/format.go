package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
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

// healthLine reads a cluster's health report, whatever its shape, for its
// "status" and "reason".
func healthLine(raw json.RawMessage) string {
	var report map[string]any
	if json.Unmarshal(raw, &report) != nil {
		return "(unreadable report)"
	}
	status, reason := scalar(report["status"]), scalar(report["reason"])
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

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// quote keeps a reason on one line in tables.
func quote(s string) string { return strconv.Quote(s) }
