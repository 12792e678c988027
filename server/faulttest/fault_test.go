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
	for i, e := range ready.Endpoints {
		if e.Endpoint != f.cluster.Endpoints()[i] || e.OK != (i != 0) {
			t.Errorf("endpoint %d: %+v, want %s ok=%v", i, e, f.cluster.Endpoints()[i], i != 0)
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

// Quorum lost: preflight says it cannot decide within a bound, writes
// answer within the request timeout, a write retried with its key after
// quorum returns is done once, and nothing acknowledged before is lost.
func TestQuorumLoss(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.replicas[0].URL(), f.replicas[1].URL()
	before := call(a, "POST", "/api/v1/holds", f.sre, newKey(), api.HoldBody{Scope: "kept", Reason: "before the quorum loss"})
	if before.status != http.StatusCreated {
		t.Fatalf("create before: %s", before)
	}
	var kept lock.Hold
	before.decode(t, &kept)

	f.cluster.Kill(1)
	f.cluster.Kill(2)
	lost := time.Now()
	for {
		p := call(b, "GET", "/api/v1/preflight?scope=eqiad", "", "", nil)
		if p.took > requestTimeout+answerSlack {
			t.Fatalf("preflight took %s with quorum lost", p.took)
		}
		if p.status == http.StatusServiceUnavailable {
			t.Logf("first preflight 503 %s after the quorum loss", time.Since(lost).Round(time.Millisecond))
			break
		}
		if p.status != http.StatusOK || time.Since(lost) > 3*time.Second+answerSlack {
			t.Fatalf("preflight %s after the quorum loss: %s", time.Since(lost), p)
		}
	}
	key := newKey()
	body := api.HoldBody{Scope: "during", Reason: "sent during the quorum loss"}
	w := call(a, "POST", "/api/v1/holds", f.sre, key, body)
	if w.status != http.StatusServiceUnavailable || w.took > requestTimeout+answerSlack {
		t.Fatalf("write during the quorum loss: %s", w)
	}
	var e api.ErrorBody
	w.decode(t, &e)
	if e.Error.Code == "outcome_unknown" && e.Error.IdempotencyKey != key {
		t.Errorf("outcome_unknown without the key: %s", w.body)
	}
	t.Logf("write during the quorum loss: %s", w)

	for _, i := range []int{1, 2} {
		if err := f.cluster.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	// The same key on the other replica: the write happens once.
	var got reply
	eventually(t, "the retried write answers 201", 30*time.Second, func() bool {
		got = call(b, "POST", "/api/v1/holds", f.sre, key, body)
		return got.status == http.StatusCreated
	})
	again := call(a, "POST", "/api/v1/holds", f.sre, key, body)
	var h1, h2 lock.Hold
	got.decode(t, &h1)
	again.decode(t, &h2)
	if again.status != http.StatusCreated || h1.ID != h2.ID {
		t.Fatalf("second retry: %s (first %s)", again, h1.ID)
	}
	var st api.StatusResponse
	call(a, "GET", "/api/v1/status", "", "", nil).decode(t, &st)
	var during, keptSeen int
	for _, h := range st.Holds {
		switch h.Scope {
		case "during":
			during++
		case "kept":
			if h.ID == kept.ID {
				keptSeen++
			}
		}
	}
	if during != 1 || keptSeen != 1 {
		t.Fatalf("after the quorum returned: %d holds on during (want 1), hold from before seen %d times (want 1)", during, keptSeen)
	}
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
