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

// Status shows each report as of the samples published after it: their
// values (a source in error keeps its error), and their reason until a
// later report; samples of the report's own round or older change nothing.
// What a reader was given before is never changed under it.
func TestViewShowsReportsAsOfLaterSamples(t *testing.T) {
	cli := locktest.StartEtcd(t, "").Client(t)
	view := gate.NewView(lock.NewKeys("/scaplock/"), nil)
	store := locktest.OpenStore(t, cli, lock.Options{Parts: view.Parts()})
	ctx := context.Background()
	at := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	const host = "kubemaster1002:6443"
	report := func(updated time.Time, latency float64, reason string) apiv1.ClusterHealth {
		return apiv1.ClusterHealth{Cluster: "eqiad", Status: apiv1.StatusDegraded, Since: at, TrippedAt: at, UpdatedAt: updated, Reason: reason,
			Hosts: []apiv1.HostHealth{{Host: host, Signals: map[apiv1.Signal]apiv1.SignalHealth{
				apiv1.SignalLatency: {Level: apiv1.LevelCrit, Value: latency, Peak: latency, Warn: 0.5, Crit: 1, At: updated},
				apiv1.SignalCPU:     {Level: apiv1.LevelError, Err: "connection refused", Warn: 0.8, Crit: 0.9, At: updated},
			}}}}
	}
	samples := func(when time.Time, latency float64, reason string) apiv1.Samples {
		return apiv1.Samples{At: when, Reason: reason, Hosts: []apiv1.HostSamples{{Host: host, Values: map[apiv1.Signal]float64{
			apiv1.SignalLatency: latency, apiv1.SignalCPU: 0.5,
		}}}}
	}
	keys := store.Keys()
	var first apiv1.ClusterHealth
	for i, s := range []struct {
		name    string
		key     string
		value   any
		latency float64
		reason  string
	}{
		{"a report", keys.HealthReport("eqiad"), report(at, 1.2, "readyz 1.2s"), 1.2, "readyz 1.2s"},
		{"samples of its round", keys.ClusterSamples("eqiad"), samples(at, 9, ""), 1.2, "readyz 1.2s"},
		{"later samples with a reason", keys.ClusterSamples("eqiad"), samples(at.Add(5*time.Second), 1.5, "readyz 1.5s"), 1.5, "readyz 1.5s"},
		{"later samples without one", keys.ClusterSamples("eqiad"), samples(at.Add(10*time.Second), 1.7, ""), 1.7, "readyz 1.5s"},
		{"the heartbeat", keys.HealthReport("eqiad"), report(at.Add(15*time.Second), 1.8, "readyz 1.8s"), 1.8, "readyz 1.8s"},
	} {
		t.Run(s.name, func(t *testing.T) {
			raw, _ := json.Marshal(s.value)
			resp, err := cli.Put(ctx, s.key, string(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.WaitRevision(ctx, resp.Header.Revision); err != nil {
				t.Fatal(err)
			}
			reports, _ := view.Reports()
			r := reports["eqiad"]
			if i == 0 {
				first = r
			}
			lat, cpu := r.Hosts[0].Signals[apiv1.SignalLatency], r.Hosts[0].Signals[apiv1.SignalCPU]
			if lat.Value != s.latency || lat.Peak < s.latency || r.Reason != s.reason {
				t.Errorf("latency %v (peak %v), reason %q; want %v and %q", lat.Value, lat.Peak, r.Reason, s.latency, s.reason)
			}
			if cpu.Level != apiv1.LevelError || cpu.Value != 0 {
				t.Errorf("cpu %+v; a source in error has no value to show", cpu)
			}
		})
	}
	if v := first.Hosts[0].Signals[apiv1.SignalLatency].Value; v != 1.2 || first.Reason != "readyz 1.2s" {
		t.Errorf("the first reader's report now says latency %v, %q: changed under it", v, first.Reason)
	}
}
