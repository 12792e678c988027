package faulttest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

// With the first configured endpoint down but a quorum up, a replica
// starts, is ready, says which endpoint does not answer, and works.
func TestStartWithFirstEndpointDown(t *testing.T) {
	f := newFixture(t, 0)
	f.cluster.Kill(0)
	began := time.Now()
	r := f.startReplica(t, "first-down", f.cluster.Endpoints())
	t.Logf("started in %s with %s down", time.Since(began).Round(time.Millisecond), f.cluster.Endpoints()[0])

	var ready api.ReadyResponse
	rr := call(r.URL(), "GET", "/readyz", "", "", nil)
	if rr.status != http.StatusOK {
		t.Fatalf("/readyz with a quorum up: %s", rr)
	}
	rr.decode(t, &ready)
	if len(ready.Endpoints) != 3 {
		t.Fatalf("/readyz lists %d endpoints, want 3: %s", len(ready.Endpoints), rr.body)
	}
	// Every member is listed, from etcd's member list, whatever its order.
	for i, want := range f.cluster.Endpoints() {
		found := false
		for _, e := range ready.Endpoints {
			if e.Endpoint == want {
				found = true
				if e.OK != (i != 0) {
					t.Errorf("endpoint %s: %+v, want ok=%v", want, e, i != 0)
				}
			}
		}
		if !found {
			t.Errorf("/readyz does not list %s: %s", want, rr.body)
		}
	}
	if w := call(r.URL(), "POST", "/api/v1/holds", f.sre, newKey(), api.HoldBody{Scope: "eqiad", Reason: "first endpoint down"}); w.status != http.StatusCreated {
		t.Fatalf("write with the first endpoint down: %s", w)
	}
	if p := call(r.URL(), "GET", "/api/v1/preflight?scope=eqiad", "", "", nil); p.status != http.StatusLocked {
		t.Fatalf("preflight after the write: %s", p)
	}
}

// Writes under load on two replicas while the etcd leader is killed and
// restarted: every acknowledged create is there unless its release was
// acknowledged, no retry makes a second hold, each change is in the
// history exactly once, and no two deploys of one scope were ever held at
// once.
func TestWritesUnderMemberKill(t *testing.T) {
	f := newFixture(t, 2)
	l := &load{t: t, urls: []string{f.replicas[0].URL(), f.replicas[1].URL()}, token: f.sre, holdScope: "load", deployScope: "dep"}
	l.start(3, 2)
	time.Sleep(1500 * time.Millisecond)
	ctx := context.Background()
	leader := max(f.cluster.Leader(ctx), 0)
	f.cluster.Kill(leader)
	t.Logf("killed etcd member %d (the leader)", leader)
	time.Sleep(2 * time.Second)
	if err := f.cluster.Restart(leader); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	writes := l.stop()
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.cluster.WaitHealthy(hctx); err != nil {
		t.Fatal(err)
	}
	if len(writes) < 5 {
		t.Fatalf("too little load to judge: %d writes", len(writes))
	}
	l.check(l.urls[0])
}

// A deploy hold whose host stopped sending keepalives stops counting at
// its deadline even though an etcd leader change renews its lease, and
// the sweep then revokes it.
func TestDeployDeadlineAcrossLeaderChange(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.replicas[0].URL(), f.replicas[1].URL()
	c := call(a, "POST", "/api/v1/deploys", f.sre, newKey(), api.DeployBody{Scope: "dl", Reason: "host will die", TTL: "3s"})
	if c.status != http.StatusCreated {
		t.Fatalf("deploy: %s", c)
	}
	acked := time.Now()
	var h lock.Hold
	c.decode(t, &h)
	ctx := context.Background()
	leader := f.cluster.Leader(ctx)
	if leader < 0 {
		t.Fatal("no etcd leader")
	}
	f.cluster.Kill(leader)
	defer func() { _ = f.cluster.Restart(leader) }()
	eventually(t, "preflight allows dl after the deploy's deadline", 3*time.Second+2*answerSlack, func() bool {
		return call(b, "GET", "/api/v1/preflight?scope=dl", "", "", nil).status == http.StatusOK
	})
	if since := time.Since(acked); since < 3*time.Second-500*time.Millisecond {
		t.Fatalf("deploy stopped counting %s after it was taken, before its 3s deadline", since)
	}
	k := call(a, "PUT", "/api/v1/deploys/"+h.ID+"/keepalive", f.sre, "", nil)
	if k.status != http.StatusNotFound {
		t.Fatalf("keepalive past the deadline: %s", k)
	}
	eventually(t, "the sweep revokes the lapsed deploy and records it", 30*time.Second, func() bool {
		page, err := f.replicas[1].Store().History(ctx, lock.HistoryQuery{HoldID: h.ID, Action: lock.ActionExpired})
		_, gone := f.replicas[1].Store().Get(h.ID)
		return err == nil && len(page.Events) == 1 && gone != nil
	})
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
