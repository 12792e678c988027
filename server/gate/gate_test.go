package gate_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/server/gate"
)

// The health path is light: every evaluation writes the round's samples,
// the full report only when something in it changed or at the heartbeat;
// every replica's cache keeps the recent samples.
func TestPublishWritesSamplesEveryRoundAndTheReportOnChange(t *testing.T) {
	// Generous limits: a slow machine must not change the level.
	f := newGateFixture(t, health.Limits{Warn: 2, Crit: 4})
	apiserver, cli, view, store, g := f.apiserver, f.cli, f.view, f.store, f.gate
	ctx := context.Background()
	version := func(key string) int64 { t.Helper(); return f.version(t, key) }
	keys := store.Keys()
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	step := func() {
		t.Helper()
		now = now.Add(5 * time.Second)
		g.Step(ctx, now)
	}

	step() // unknown -> ok: a report
	step()
	step()
	if v := version(keys.ClusterSamples("eqiad")); v != 3 {
		t.Errorf("samples written %d times in 3 rounds, want 3", v)
	}
	if v := version(keys.HealthReport("eqiad")); v != 1 {
		t.Errorf("report written %d times in 3 quiet rounds, want 1 (the first)", v)
	}
	for range gate.QuietHeartbeatEvery - 1 { // ok, every signal at ok: the quiet heartbeat
		step()
	}
	if v := version(keys.HealthReport("eqiad")); v != 2 {
		t.Errorf("report written %d times after %d quiet rounds, want 2 (first + heartbeat)", v, gate.QuietHeartbeatEvery+2)
	}

	// readyz fails: the level changes, so the report goes out at once.
	apiserver.Close()
	step()
	if v := version(keys.HealthReport("eqiad")); v != 3 {
		t.Errorf("report written %d times, want 3 after the level changed", v)
	}
	resp, err := cli.Get(ctx, keys.HealthReport("eqiad"))
	if err != nil {
		t.Fatal(err)
	}
	var report apiv1.ClusterHealth
	if err := json.Unmarshal(resp.Kvs[0].Value, &report); err != nil {
		t.Fatal(err)
	}
	lat := report.Hosts[0].Signals[apiv1.SignalLatency]
	if lat.Level != apiv1.LevelCrit || len(lat.Recent) != 0 || lat.Peak <= 0 {
		t.Errorf("published latency %+v: want crit, a peak and no recent samples", lat)
	}
	if report.Status != apiv1.StatusDegraded {
		t.Errorf("status %s, want degraded", report.Status)
	}
	if len(resp.Kvs[0].Value) > 2048 {
		t.Errorf("the report is %d bytes; without samples it should be well under 2 KB", len(resp.Kvs[0].Value))
	}

	// The cache kept every round's latency (the failed readyz included).
	if err := store.WaitRevision(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	got := view.Samples()["eqiad"]["kubemaster1001:6443"][apiv1.SignalLatency]
	if want := 3 + gate.QuietHeartbeatEvery - 1 + 1; len(got) != want {
		t.Errorf("cache has %d latency samples, want %d", len(got), want)
	}
	if !got[len(got)-1].At.Equal(now) {
		t.Errorf("newest sample at %s, want %s", got[len(got)-1].At, now)
	}
}
