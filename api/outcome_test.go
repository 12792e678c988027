package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// TestReleaseOutcomeRejected: a bad outcome is a 400 naming its field, and
// the deploy hold stays, with no release in the history.
func TestReleaseOutcomeRejected(t *testing.T) {
	f := newFixture(t, nil)
	dep := f.token(t, "dana", api.RoleDeployer)
	var h apiv1.Hold
	a := f.do(t, "POST", "/api/v1/deploys", dep, api.DeployBody{Scope: "eqiad", Reason: "sync-prod-k8s", TTL: "1m"})
	if a.status != 201 {
		t.Fatalf("deploy: %d %s", a.status, a.body)
	}
	a.decode(t, &h)
	tests := []struct{ name, body, field string }{
		{"unknown outcome", `{"reason":"done","outcome":"ok","exit_code":0,"duration_s":1}`, "outcome"},
		{"exit code without outcome", `{"reason":"done","exit_code":0}`, "outcome"},
		{"outcome without exit code", `{"reason":"done","outcome":"failed","duration_s":1}`, "exit_code"},
		{"exit code out of range", `{"reason":"done","outcome":"failed","exit_code":256,"duration_s":1}`, "exit_code"},
		{"negative duration", `{"reason":"done","outcome":"failed","exit_code":1,"duration_s":-1}`, "duration_s"},
		{"duration past a week", `{"reason":"done","outcome":"failed","exit_code":1,"duration_s":1e9}`, "duration_s"},
		{"no duration", `{"reason":"done","outcome":"failed","exit_code":1}`, "duration_s"},
		{"succeeded with an exit code", `{"reason":"done","outcome":"succeeded","exit_code":1,"duration_s":1}`, "exit_code"},
		{"duration as text", `{"reason":"done","outcome":"failed","exit_code":1,"duration_s":"5m"}`, "duration_s"},
		{"misspelt field", `{"reason":"done","Outcome":"failed"}`, "Outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(t, "DELETE", "/api/v1/deploys/"+h.ID, dep, tt.body)
			if a.status != 400 {
				t.Fatalf("status %d %s, want 400", a.status, a.body)
			}
			if e := a.errBody(t); e.Error.Field != tt.field || !strings.HasPrefix(e.Error.Message, tt.field+": ") {
				t.Errorf("error %+v, want it to name %s", e.Error, tt.field)
			}
		})
	}
	if _, err := f.store.Get(h.ID); err != nil {
		t.Errorf("a rejected release released the hold: %v", err)
	}
	page, _ := f.store.History(context.Background(), lock.HistoryQuery{Action: lock.ActionReleased})
	if len(page.Events) != 0 {
		t.Errorf("a rejected release wrote %d events", len(page.Events))
	}
}

// TestReleaseOutcomeOnlyForDeploys: a manual hold's release with an outcome
// is a 400, and the hold stays.
func TestReleaseOutcomeOnlyForDeploys(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	var h apiv1.Hold
	f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: "maintenance"}).decode(t, &h)
	a := f.do(t, "DELETE", "/api/v1/holds/"+h.ID, sre, `{"reason":"done","outcome":"succeeded","exit_code":0,"duration_s":3}`)
	if a.status != 400 || a.errBody(t).Error.Field != "outcome" {
		t.Fatalf("status %d %s, want 400 naming outcome", a.status, a.body)
	}
	if _, err := f.store.Get(h.ID); err != nil {
		t.Errorf("the manual hold was released: %v", err)
	}
}

// TestReleaseOutcomeRecordedAndCountedOnce: the release's event carries the
// outcome; the counter and histogram move once, and a retry with the same
// Idempotency-Key (answered from the record) does not count again.
func TestReleaseOutcomeRecordedAndCountedOnce(t *testing.T) {
	f := newFixture(t, nil)
	dep := f.token(t, "dana", api.RoleDeployer)
	var h apiv1.Hold
	f.do(t, "POST", "/api/v1/deploys", dep, api.DeployBody{Scope: "codfw", Reason: "sync-prod-k8s", TTL: "1m"}).decode(t, &h)
	body := `{"reason":"finished: exit 1","outcome":"failed","exit_code":1,"duration_s":421.5}`
	for i := range 2 {
		req, _ := http.NewRequest("DELETE", f.srv.URL+"/api/v1/deploys/"+h.ID, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+dep)
		req.Header.Set(api.IdempotencyHeader, "release-"+h.ID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("release %d: HTTP %d", i, resp.StatusCode)
		}
	}
	page, _ := f.store.History(context.Background(), lock.HistoryQuery{Action: lock.ActionReleased})
	if len(page.Events) != 1 {
		t.Fatalf("%d release events, want 1", len(page.Events))
	}
	e := page.Events[0]
	if e.Outcome != apiv1.OutcomeFailed || e.ExitCode == nil || *e.ExitCode != 1 || e.DurationS == nil || *e.DurationS != 421.5 {
		t.Errorf("release event %+v, want outcome failed, exit 1, 421.5 s", e.DeployOutcome)
	}
	want := `
# HELP scaplock_deploys_total Deploys whose release recorded an outcome (succeeded, failed, signalled, abandoned), counted by the replica that released them.
# TYPE scaplock_deploys_total counter
scaplock_deploys_total{outcome="failed",scope="codfw"} 1
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "scaplock_deploys_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(f.reg, "scaplock_deploy_duration_seconds"); err != nil || n != 1 {
		t.Errorf("duration histogram series = %d (%v), want 1", n, err)
	}
}

// TestRecordSync: a bad sync is a 400 naming its field and writes nothing;
// the same sync sent twice (a retry) is one history entry.
func TestRecordSync(t *testing.T) {
	f := newFixture(t, nil)
	bridge := f.token(t, "deploy1002-bridge", api.RoleDeployer)
	now := time.Now().UTC()
	good := apiv1.SyncBody{ID: "sync-1", Host: "deploy1002.eqiad.wmnet", Pid: 4242, User: "tstarling", Command: "scap sync-world", EndedAt: now, DurationS: 421}
	tests := []struct {
		name  string
		edit  func(*apiv1.SyncBody)
		field string
	}{
		{"no id", func(b *apiv1.SyncBody) { b.ID = "" }, "id"},
		{"bad host", func(b *apiv1.SyncBody) { b.Host = "deploy 1002" }, "host"},
		{"negative pid", func(b *apiv1.SyncBody) { b.Pid = -1 }, "pid"},
		{"user with a newline", func(b *apiv1.SyncBody) { b.User = "a\nb" }, "user"},
		{"no end", func(b *apiv1.SyncBody) { b.EndedAt = time.Time{} }, "ended_at"},
		{"end in the future", func(b *apiv1.SyncBody) { b.EndedAt = now.Add(time.Hour) }, "ended_at"},
		{"negative duration", func(b *apiv1.SyncBody) { b.DurationS = -3 }, "duration_s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			tt.edit(&b)
			a := f.do(t, "POST", "/api/v1/syncs", bridge, b)
			if a.status != 400 || a.errBody(t).Error.Field != tt.field {
				t.Errorf("status %d %s, want 400 naming %s", a.status, a.body, tt.field)
			}
		})
	}
	f.nothingWritten(t)
	if a := f.do(t, "POST", "/api/v1/syncs", f.token(t, "reader"), good); a.status != 403 {
		t.Errorf("a token without the deployer role recorded a sync: %d", a.status)
	}
	for range 2 {
		if a := f.do(t, "POST", "/api/v1/syncs", bridge, good); a.status != 201 {
			t.Fatalf("record: %d %s", a.status, a.body)
		}
	}
	page, _ := f.store.History(context.Background(), lock.HistoryQuery{Action: lock.ActionSynced})
	if len(page.Events) != 1 {
		t.Fatalf("%d synced events after a retry, want 1", len(page.Events))
	}
	e := page.Events[0]
	if e.Actor != "deploy1002-bridge" || e.Host != good.Host || e.Pid != 4242 || e.DurationS == nil || *e.DurationS != 421 ||
		e.Reason != "scap sync by tstarling (pid 4242) on deploy1002.eqiad.wmnet: scap sync-world" {
		t.Errorf("event %+v", e)
	}
}
