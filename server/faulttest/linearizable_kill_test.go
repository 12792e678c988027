package faulttest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/scaplock/scaplock/api"
)

// Concurrent lock / unlock / deploy / preflight on one scope, sent to two
// replicas while the etcd leader is killed and
// restarted: every history must still be linearizable. A write is retried
// with its Idempotency-Key, on either replica, until it has a definite
// answer, as the CLI does, and counts from its first attempt to that
// answer; a preflight that could not decide (503) told the client nothing
// and is left out.
func TestHistoriesAreLinearizableAcrossALeaderKill(t *testing.T) {
	f := newFixture(t, 2)
	const scope = "linkill"
	var mu sync.Mutex
	var history []porcupine.Operation
	var undecided, retried int
	began := time.Now()
	stopAt := began.Add(6 * time.Second)
	var wg sync.WaitGroup
	for client := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(client), uint64(began.UnixNano())))
			var mine []op
			for i := 0; time.Now().Before(stopAt); i++ {
				first := (client + i) % 2
				in := op{kind: "preflight", replica: first}
				switch x := rng.IntN(100); {
				case x < 25:
					in.kind = "lock"
				case x < 35:
					in.kind = "deploy"
				case x < 60 && len(mine) > 0:
					j := rng.IntN(len(mine))
					in.kind, in.id = mine[j].kind, mine[j].id
					mine = slices.Delete(mine, j, j+1)
				}
				call0 := time.Now()
				out, tries, ok := performSurely(f, first, scope, in)
				ret := time.Now()
				mu.Lock()
				retried += tries - 1
				if !ok {
					if in.kind == "preflight" {
						undecided++
						mu.Unlock()
						continue
					}
					mu.Unlock()
					t.Errorf("client %d: %v found no definite answer in %s", client, in, ret.Sub(call0))
					return
				}
				history = append(history, porcupine.Operation{
					ClientId: client, Input: in, Output: out,
					Call: call0.Sub(began).Nanoseconds(), Return: ret.Sub(began).Nanoseconds(),
				})
				mu.Unlock()
				switch {
				case in.kind == "lock" && out.ok:
					mine = append(mine, op{kind: "unlock", id: out.id})
				case in.kind == "deploy" && out.ok:
					mine = append(mine, op{kind: "undeploy", id: out.id})
				}
			}
		})
	}
	// The leader dies a second and a half in and comes back two seconds
	// later, while the clients go on.
	time.Sleep(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	leader := f.cluster.Leader(ctx)
	cancel()
	if leader < 0 {
		t.Fatal("no etcd leader")
	}
	f.cluster.Kill(leader)
	time.Sleep(2 * time.Second)
	if err := f.cluster.Restart(leader); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	kinds := map[string]int{}
	for _, o := range history {
		kinds[o.Input.(op).kind]++
	}
	t.Logf("%d operations across the kill of member %d: %v; %d preflights undecided, %d retries", len(history), leader, kinds, undecided, retried)
	if kinds["preflight"] == 0 || kinds["lock"] == 0 || kinds["unlock"] == 0 {
		t.Fatalf("history lacks some kind of operation: %v", kinds)
	}
	if res := porcupine.CheckOperationsTimeout(holdModel, history, time.Minute); res != porcupine.Ok {
		for _, line := range staleVerdicts(history) {
			t.Log(line)
		}
		t.Fatalf("history of %d operations across two replicas and a leader kill is %v", len(history), res)
	}
}

// performSurely sends in to replica first and, while the answer is not
// definite (no answer, 503), again with the same Idempotency-Key,
// alternating replicas, for at most 10 s. A preflight is tried once.
func performSurely(f *fixture, first int, scope string, in op) (result, int, bool) {
	key := newKey()
	deadline := time.Now().Add(10 * time.Second)
	for tries := 1; ; tries++ {
		base := f.replicas[(first+tries-1)%2].URL()
		var r reply
		switch in.kind {
		case "lock":
			r = call(base, "POST", "/api/v1/holds", f.sre, key, api.HoldBody{Scope: scope, Reason: "linearizability across a kill"})
		case "deploy":
			r = call(base, "POST", "/api/v1/deploys", f.sre, key, api.DeployBody{Scope: scope, Reason: "linearizability across a kill", TTL: "60s"})
		case "unlock":
			r = call(base, "DELETE", "/api/v1/holds/"+in.id, f.sre, key, api.ReleaseBody{Reason: "linearizability across a kill"})
		case "undeploy":
			r = call(base, "DELETE", "/api/v1/deploys/"+in.id, f.sre, key, api.ReleaseBody{Reason: "linearizability across a kill"})
		case "preflight":
			r = call(base, "GET", "/api/v1/preflight?scope="+scope, "", "", nil)
		}
		if out, ok := decideReply(in, r); ok {
			return out, tries, true
		}
		if in.kind == "preflight" || time.Now().After(deadline) {
			return result{}, tries, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decideReply reads a definite answer; ok false for none (no answer, 503).
func decideReply(in op, r reply) (result, bool) {
	if r.err != nil || r.status == http.StatusServiceUnavailable {
		return result{}, false
	}
	var h struct{ ID string }
	switch {
	case (in.kind == "lock" || in.kind == "deploy") && r.status == http.StatusCreated:
		if jsonDecode(r.body, &h) != nil {
			return result{}, false
		}
		return result{ok: true, id: h.ID}, true
	case in.kind == "deploy" && (r.status == http.StatusLocked || r.status == http.StatusConflict):
		return result{status: r.status}, true
	case (in.kind == "unlock" || in.kind == "undeploy") && r.status == http.StatusOK:
		return result{ok: true}, true
	case (in.kind == "unlock" || in.kind == "undeploy") && (r.status == http.StatusNotFound || r.status == http.StatusConflict):
		return result{status: r.status}, true
	case in.kind == "preflight" && (r.status == http.StatusOK || r.status == http.StatusLocked):
		var v struct{ Revision int64 }
		_ = jsonDecode(r.body, &v)
		return result{ok: r.status == http.StatusOK, rev: v.Revision}, true
	}
	return result{}, false
}
