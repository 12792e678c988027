package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdHistory lists events, newest first, one page or (--all) every page.
func cmdHistory(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("history",
		"history [--scope S] [--kind K] [--actor A] [--action X] [--hold ID] [--since T] [--until T] [--limit N] [--all] [--json]",
		`--since and --until take an RFC 3339 time (2024-05-28T12:49:12Z) or a
duration meaning that long ago (2h, 30m, 7d).
Kinds: manual, deploy, auto, override. Actions: created, amended, released,
expired, refreshed, would_trip, would_clear, bridge_unlocked (a person
released a scap bridge's lock), bridge_guarded (the bridge guards it again).`)
	scope := fs.String("scope", "", "only events on this scope")
	kind := fs.String("kind", "", "only holds of this kind")
	actor := fs.String("actor", "", "only changes made by this identity")
	action := fs.String("action", "", "only this action")
	hold := fs.String("hold", "", "only the events of this hold (its full id)")
	sinceFlag := fs.String("since", "", "only events at or after this time")
	untilFlag := fs.String("until", "", "only events at or before this time")
	limit := fs.Int("limit", 50, "events per page (the service allows at most 1000)")
	all := fs.Bool("all", false, "follow the pages to the end")
	asJSON := fs.Bool("json", false, "print the service's JSON page as it came; when pages were followed, one page of all their events")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	if *limit < 1 {
		return usageError(fs, "--limit must be positive, got %d", *limit)
	}
	q := url.Values{}
	for k, v := range map[string]string{"scope": *scope, "kind": *kind, "actor": *actor, "action": *action, "hold": *hold} {
		if v != "" {
			q.Set(k, v)
		}
	}
	now := c.now()
	for name, v := range map[string]string{"since": *sinceFlag, "until": *untilFlag} {
		if v == "" {
			continue
		}
		t, err := parseTime(v, now)
		if err != nil {
			return usageError(fs, "--%s: %v", name, err)
		}
		q.Set(name, t.UTC().Format(time.RFC3339))
	}
	q.Set("limit", strconv.Itoa(*limit))

	// A filter the service scans for (no index) answers after a bounded
	// read, maybe with fewer events than asked and a cursor: follow it
	// until the page is full, or with --all to the end.
	var merged apiv1.HistoryPage
	var answers [][]byte
	for {
		var page apiv1.HistoryPage
		a, err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/history", query: q}, http.StatusOK, &page)
		if err != nil {
			return c.fail(err)
		}
		answers = append(answers, a.body)
		merged.Events = append(merged.Events, page.Events...)
		merged.Revision, merged.Next = page.Revision, page.Next
		if page.Next == "" || (!*all && len(merged.Events) >= *limit) {
			break
		}
		q.Set("cursor", page.Next)
		if !*all {
			q.Set("limit", strconv.Itoa(*limit-len(merged.Events)))
		}
	}
	if *all {
		merged.Next = ""
	} else if merged.Next != "" {
		fmt.Fprintln(c.stderr, "scaplock: more events: use --all or a larger --limit")
	}
	if merged.Events == nil {
		merged.Events = []apiv1.Event{}
	}
	switch {
	case *asJSON && len(answers) == 1:
		printAnswer(c.stdout, answers[0])
	case *asJSON:
		// The pages joined into one of the same shape.
		b, _ := json.Marshal(merged)
		printAnswer(c.stdout, b)
	default:
		printEvents(c.stdout, merged.Events)
	}
	return exitOK
}

// parseTime reads an RFC 3339 time or a duration meaning that long before now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2024-05-28T12:49:12Z) nor a duration ago (2h, 30d)", s)
	}
	return now.Add(-d), nil
}

func printEvents(w io.Writer, events []apiv1.Event) {
	if len(events) == 0 {
		fmt.Fprintln(w, "no events")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tKIND\tSCOPE\tACTOR\tHOLD\tREASON")
	for _, e := range events {
		hold := "-"
		reason := e.Reason
		if e.Hold != nil {
			hold = e.Hold.ShortID()
		}
		if e.Bridge != nil {
			hold, reason = bridgeEvent(e)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(clock), safe(string(e.Action)), safe(string(e.Kind)), safe(string(e.Scope)),
			safe(e.Actor), safe(hold), quote(strings.TrimSpace(reason)))
	}
	tw.Flush()
}
