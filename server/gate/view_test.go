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
