package gate_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server/gate"
)

// Samples published each interval reach the store's subscribers as typed
// "samples" changes, and every replica's view keeps the newest
// MaxRecentSamples per signal.
func TestViewKeepsRecentSamples(t *testing.T) {
	cli := locktest.StartEtcd(t, "").Client(t)
	view := gate.NewView(lock.NewKeys("/scaplock/"), nil)
	store := locktest.OpenStore(t, cli, lock.Options{Parts: view.Parts()})
	changes, cancel := store.Subscribe()
	defer cancel()
	ctx := context.Background()
	at := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	total := apiv1.MaxRecentSamples + 10
	var rev int64
	for i := range total {
		raw, _ := json.Marshal(apiv1.Samples{At: at.Add(time.Duration(i) * time.Second), Hosts: []apiv1.HostSamples{
			{Host: "kubemaster1001:6443", Values: map[apiv1.Signal]float64{apiv1.SignalCPU: float64(i)}},
		}})
		resp, err := cli.Put(ctx, store.Keys().ClusterSamples("eqiad"), string(raw))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if err := store.WaitRevision(ctx, rev); err != nil {
		t.Fatal(err)
	}
	pts := view.Samples()["eqiad"]["kubemaster1001:6443"][apiv1.SignalCPU]
	if len(pts) != apiv1.MaxRecentSamples {
		t.Fatalf("cache keeps %d samples, want %d", len(pts), apiv1.MaxRecentSamples)
	}
	if first, last := pts[0].Value, pts[len(pts)-1].Value; first != 10 || last != float64(total-1) {
		t.Errorf("kept samples %v..%v, want the newest: 10..%d", first, last, total-1)
	}
	select {
	case c := <-changes:
		if c.Type != apiv1.ChangeSamples || c.Cluster != "eqiad" || c.Samples == nil || c.Samples.Hosts[0].Values[apiv1.SignalCPU] != 0 {
			t.Errorf("first change %+v, want the first samples of eqiad", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change announced")
	}
}

// The stream carries only what changed: a report that repeats the last
// one's levels (the gate's heartbeat) and the samples of a cluster at ok
// everywhere are kept in the view but not announced; a degraded
// cluster's samples and a report that changes a level are.
func TestViewAnnouncesOnlyChanges(t *testing.T) {
	cli := locktest.StartEtcd(t, "").Client(t)
	view := gate.NewView(lock.NewKeys("/scaplock/"), nil)
	store := locktest.OpenStore(t, cli, lock.Options{Parts: view.Parts()})
	changes, cancel := store.Subscribe()
	defer cancel()
	ctx := context.Background()
	at := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	const host = "kubemaster1001:6443"
	report := func(status apiv1.Status, level apiv1.Level, updated time.Time) apiv1.ClusterHealth {
		return apiv1.ClusterHealth{Cluster: "eqiad", Status: status, Since: at, UpdatedAt: updated, Hosts: []apiv1.HostHealth{
			{Host: host, Signals: map[apiv1.Signal]apiv1.SignalHealth{apiv1.SignalLatency: {Level: level, Value: 0.04, Warn: 0.5, Crit: 1}}},
		}}
	}
	samples := func(v float64) apiv1.Samples {
		return apiv1.Samples{At: at, Hosts: []apiv1.HostSamples{{Host: host, Values: map[apiv1.Signal]float64{apiv1.SignalLatency: v}}}}
	}
	put := func(key string, v any) int64 {
		raw, _ := json.Marshal(v)
		resp, err := cli.Put(ctx, key, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	keys := store.Keys()
	steps := []struct {
		name     string
		key      string
		value    any
		announce apiv1.ChangeKind // "" for none
	}{
		{"first report", keys.HealthReport("eqiad"), report(apiv1.StatusOK, apiv1.LevelOK, at), apiv1.ChangeHealth},
		{"samples of a quiet cluster", keys.ClusterSamples("eqiad"), samples(0.04), ""},
		{"heartbeat: same levels, later", keys.HealthReport("eqiad"), report(apiv1.StatusOK, apiv1.LevelOK, at.Add(12*time.Second)), ""},
		{"a level changes", keys.HealthReport("eqiad"), report(apiv1.StatusOK, apiv1.LevelWarn, at.Add(13*time.Second)), apiv1.ChangeHealth},
		{"samples while a signal is at warn", keys.ClusterSamples("eqiad"), samples(0.6), apiv1.ChangeSamples},
		{"degraded", keys.HealthReport("eqiad"), report(apiv1.StatusDegraded, apiv1.LevelCrit, at.Add(14*time.Second)), apiv1.ChangeHealth},
		{"samples while degraded", keys.ClusterSamples("eqiad"), samples(1.2), apiv1.ChangeSamples},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rev := put(s.key, s.value)
			if err := store.WaitRevision(ctx, rev); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-changes:
				if s.announce == "" || c.Type != s.announce || c.Revision != rev {
					t.Fatalf("announced %s at revision %d, want %q at %d", c.Type, c.Revision, s.announce, rev)
				}
			case <-time.After(200 * time.Millisecond):
				if s.announce != "" {
					t.Fatalf("nothing announced, want %s", s.announce)
				}
			}
		})
	}
	if pts := view.Samples()["eqiad"][host][apiv1.SignalLatency]; len(pts) != 3 {
		t.Errorf("the view kept %d samples, want all 3 (announced or not)", len(pts))
	}
	if r, _ := view.Reports(); !r["eqiad"].UpdatedAt.Equal(at.Add(14 * time.Second)) {
		t.Errorf("the view's report was updated at %s, want the newest", r["eqiad"].UpdatedAt)
	}
}
