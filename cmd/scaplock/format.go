package main

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// clock is how the history's table writes an event's time: a log keeps
// the date. Every other time people read is apiv1.When's.
const clock = "2006-01-02 15:04:05 UTC"

// until is an expiry as people read it; nil is "never".
func until(now time.Time, t *time.Time) string {
	if t == nil {
		return "never"
	}
	return apiv1.When(now, *t)
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
