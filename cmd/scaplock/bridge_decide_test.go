package main

import (
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 5, 28, 12, 0, 0, 0, time.UTC)
	held := refusal{id: "h1", reason: "locked by alice"}
	open := bridgePolicy{grace: 2 * time.Minute, statusURL: "http://s/"}
	closed := bridgePolicy{grace: 2 * time.Minute, closed: true, statusURL: "http://s/"}
	heard := func(o observation) observation { o.heard = true; return o }
	cases := []struct {
		name                                 string
		obs                                  observation
		releasedFor                          string
		policy                               bridgePolicy
		hold, unreachable, released, unheard bool
		reasonHas                            string
	}{
		{"allowed", heard(observation{}), "", open, false, false, false, false, ""},
		{"refused", heard(observation{refusal: held}), "", open, true, false, false, false, "locked by alice"},
		{"released by a person", heard(observation{refusal: held}), "h1", open, false, false, true, false, "locked by alice"},
		{"another refusal after a release", heard(observation{refusal: refusal{id: "h2", reason: "new"}}), "h1", open, true, false, false, false, "new"},
		{"unreachable within the grace keeps holding", heard(observation{refusal: held, unreachableSince: now.Add(-time.Minute)}), "", open, true, false, false, false, "locked by alice"},
		{"unreachable within the grace keeps not holding", heard(observation{unreachableSince: now.Add(-time.Minute)}), "", closed, false, false, false, false, ""},
		{"past the grace, open opens what was allowed", heard(observation{unreachableSince: now.Add(-3 * time.Minute)}), "", open, false, true, false, false, ""},
		{"past the grace, open never opens what was refused", heard(observation{refusal: held, unreachableSince: now.Add(-3 * time.Minute)}), "", open, true, true, false, false, "locked by alice"},
		{"past the grace, open, a refusal a person released stays released", heard(observation{refusal: held, unreachableSince: now.Add(-3 * time.Minute)}), "h1", open, false, true, true, false, ""},
		{"past the grace, closed holds", heard(observation{unreachableSince: now.Add(-3 * time.Minute), lastErr: "connection refused"}), "", closed, true, true, false, false, "cannot be reached since 2026-05-28T11:57:00Z (connection refused)"},
		{"past the grace, closed, released by a person", heard(observation{unreachableSince: now.Add(-3 * time.Minute)}), unreachableID, closed, false, true, true, false, ""},
		{"never heard: closed at once", observation{}, "", open, true, false, false, true, "scaplock has not been heard yet since the bridge started (no answer yet); deploys refused by the bridge until it answers; status: http://s/"},
		{"never heard, past the grace: still closed", observation{unreachableSince: now.Add(-time.Hour), lastErr: "dial tcp 127.0.0.1:1: connect:\n connection refused"}, "", open, true, false, false, true, "(dial tcp 127.0.0.1:1: connect: connection refused)"},
		{"never heard, released by a person", observation{}, unheardID, open, false, false, true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.obs, tc.releasedFor, now, tc.policy)
			if got.hold != tc.hold || got.unreachable != tc.unreachable || got.released != tc.released || got.unheard != tc.unheard {
				t.Errorf("got hold=%t unreachable=%t released=%t unheard=%t, want %t %t %t %t", got.hold, got.unreachable, got.released, got.unheard, tc.hold, tc.unreachable, tc.released, tc.unheard)
			}
			if !strings.Contains(got.refusal.reason, tc.reasonHas) {
				t.Errorf("reason %q lacks %q", got.refusal.reason, tc.reasonHas)
			}
		})
	}
}

// The lock file's reason comes from the answer's fields: a message that
// says something else is not read.
func TestRefusalOf(t *testing.T) {
	since := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	until := since.Add(2 * time.Hour)
	reason := apiv1.Reason{Kind: apiv1.ReasonManual, Scope: "eqiad", Refuses: true, HoldID: "ab12cd34ef56ab78", Holder: "alice",
		Reason: "T1: upgrade", Since: since, Until: &until, Clears: apiv1.Clears{On: apiv1.ClearsOnRelease}}
	resp := apiv1.PreflightResponse{Scopes: []apiv1.Scope{"global"}, Reasons: []apiv1.Reason{reason},
		Message: "prose the bridge must not read\n"}
	r := refusalOf(resp, "http://s/", since.Add(63*time.Second))
	want := `deploys to global are refused: locked by alice; eqiad: "T1: upgrade", since 12:00:00 UTC (hold ab12), expires 14:00:00 UTC; status: http://s/; unlock (SRE): scaplock unlock ab12cd34ef56ab78 --reason "..."`
	if r.reason != want {
		t.Errorf("one line:\n got %s\nwant %s", r.reason, want)
	}
	// The same reasons a minute later are the same refusal; an amended reason is another.
	if later := refusalOf(resp, "http://s/", since.Add(123*time.Second)); later != r {
		t.Errorf("the time changed the refusal: %+v", later)
	}
	amended := resp
	amended.Reasons = []apiv1.Reason{reason}
	amended.Reasons[0].Reason = "T1: upgrade, longer"
	if refusalOf(amended, "http://s/", since).id == r.id {
		t.Error("an amended reason must be a new refusal")
	}
	resp.StatusURL = "https://scaplock.example/"
	if got := refusalOf(resp, "http://s/", since).reason; !strings.Contains(got, "; status: https://scaplock.example/; ") {
		t.Errorf("the service's status URL goes first: %s", got)
	}
	if refusalOf(apiv1.PreflightResponse{Allowed: true}, "http://s/", since).id != "" {
		t.Error("allowed must be no refusal")
	}
}
