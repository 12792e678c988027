package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

func TestHistoryShowsTheEvents(t *testing.T) {
	ctx := context.Background()
	scope, actor := uniqueScope(t), unique("hi-sre")
	sre := as(t, actor, "sre")
	r := scaplock(ctx, sre, "lock", "--scope", scope, "--reason", "history one")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	wantCode(t, scaplock(ctx, sre, "amend", id, "--reason", "history two"), exitOK)
	wantCode(t, scaplock(ctx, sre, "unlock", id, "--reason", "history three"), exitOK)

	reader := as(t, "hi-reader")
	decode := func(r result) apiv1.HistoryPage {
		t.Helper()
		wantCode(t, r, exitOK)
		var page apiv1.HistoryPage
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
			t.Fatalf("--json: %v\n%s", err, r)
		}
		return page
	}
	actions := func(p apiv1.HistoryPage) string {
		var s []string
		for _, e := range p.Events {
			if e.Hold == nil || e.Hold.ID != id || e.Actor != actor || string(e.Scope) != scope {
				t.Errorf("foreign event %+v", e)
			}
			s = append(s, string(e.Action)+":"+e.Reason)
		}
		return strings.Join(s, " ")
	}
	want := "released:history three amended:history two created:history one"

	p := decode(scaplock(ctx, reader, "history", "--scope", scope, "--json"))
	if got := actions(p); got != want {
		t.Errorf("history: %s, want %s", got, want)
	}
	// One event a page, following the cursors.
	r = scaplock(ctx, reader, "history", "--actor", actor, "--limit", "1", "--all", "--json")
	if got := actions(decode(r)); got != want {
		t.Errorf("history --all --limit 1: %s, want %s", got, want)
	}
	// Without --all, one page and a hint.
	r = scaplock(ctx, reader, "history", "--actor", actor, "--limit", "1", "--json")
	if p := decode(r); len(p.Events) != 1 || p.Next == "" || !strings.Contains(r.stderr, "more events") {
		t.Errorf("one page with a cursor and a hint expected: %s", r)
	}
	// Filters and relative --since.
	p = decode(scaplock(ctx, reader, "history", "--scope", scope, "--action", "created", "--kind", "manual", "--since", "1h", "--json"))
	if got := actions(p); got != "created:history one" {
		t.Errorf("filtered: %s", got)
	}
	p = decode(scaplock(ctx, reader, "history", "--scope", scope, "--until", "1h", "--json"))
	if len(p.Events) != 0 {
		t.Errorf("--until 1h ago should find nothing, got %d events", len(p.Events))
	}

	// The human table.
	r = scaplock(ctx, reader, "history", "--scope", scope)
	wantCode(t, r, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") ||
		!strings.Contains(lines[1], "released") || !strings.Contains(lines[1], id[:4]) || !strings.Contains(lines[1], `"history three"`) {
		t.Errorf("table:\n%s", r.stdout)
	}

	// A filter the service rejects (400): exit 3 with the field.
	r = scaplock(ctx, reader, "history", "--kind", "nope")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "scaplock: kind:") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2024-05-28T10:49:12Z", time.Date(2024, 5, 28, 10, 49, 12, 0, time.UTC), false},
		{"2024-05-28T12:49:12+02:00", time.Date(2024, 5, 28, 10, 49, 12, 0, time.UTC), false},
		{"2h", now.Add(-2 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"-2h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2024-05-28", time.Time{}, true},
	}
	for _, tc := range cases {
		got, err := parseTime(tc.in, now)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, err %t", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// A filter the service answers with a bounded scan (fewer events than
// asked, and a cursor) still gives a full page: the CLI follows the cursor.
func TestHistoryFollowsBoundedScans(t *testing.T) {
	ctx := context.Background()
	scope, other := unique("hs"), unique("hs-other")
	now := time.Now().UTC()
	evs := []lock.Event{{Time: now.Add(-time.Hour), Actor: "hs-gate", Action: lock.ActionWouldTrip, Scope: lock.Scope(scope), Kind: lock.KindAuto, Reason: "far back"}}
	for i := range lock.HistoryScanBudget + 500 {
		evs = append(evs, lock.Event{Time: now.Add(-time.Duration(i) * time.Millisecond), Actor: "hs-gate", Action: lock.ActionWouldClear,
			Scope: lock.Scope(other), Kind: lock.KindAuto, Reason: "noise"})
	}
	if err := srv.Store().AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	r := scaplock(ctx, as(t, "hs-reader"), "history", "--scope", scope, "--limit", "5", "--json")
	wantCode(t, r, exitOK)
	var page apiv1.HistoryPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("--json: %v\n%s", err, r)
	}
	if len(page.Events) != 1 || page.Events[0].Reason != "far back" || page.Next != "" || strings.Contains(r.stderr, "more events") {
		t.Fatalf("want the one event behind %d others, no cursor and no hint: %s", lock.HistoryScanBudget+500, r)
	}
}
