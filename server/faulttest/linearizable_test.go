package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock/locktest"
)

// op is one client call on the scope under test.
type op struct {
	kind    string // lock, unlock, deploy, undeploy, preflight
	id      string // the hold to release
	replica int    // where it was sent (not part of the model)
}

// result is what the client was told.
type result struct {
	ok     bool   // created / released / allowed
	id     string // the hold created
	status int    // why not ok: 404, 409 or 423
	rev    int64  // the revision a preflight reflects (not part of the model)
}

// holdSet is the model's state: the ids of the holds on the scope, sorted,
// joined by commas (immutable, comparable); a deploy hold's id is marked
// with deployMark.
type holdSet string

func (s holdSet) ids() []string {
	if s == "" {
		return nil
	}
	return strings.Split(string(s), ",")
}

func (s holdSet) with(id string) holdSet {
	ids := append(s.ids(), id)
	slices.Sort(ids)
	return holdSet(strings.Join(ids, ","))
}

func (s holdSet) without(id string) holdSet {
	return holdSet(strings.Join(slices.DeleteFunc(s.ids(), func(x string) bool { return x == id }), ","))
}

func (s holdSet) has(id string) bool { return slices.Contains(s.ids(), id) }

// deployMark marks deploy holds in a holdSet (ids are hex).
const deployMark = "deploy:"

func (s holdSet) hasDeploy() bool {
	return slices.ContainsFunc(s.ids(), func(id string) bool { return strings.HasPrefix(id, deployMark) })
}

// holdModel: deploys to the scope are allowed iff it has no hold; a deploy
// is taken only then; a release succeeds iff the hold is there. Every
// refusal is proof too: a 404 or 409 on a release says the hold is gone, a
// 409 on a deploy that a deploy hold exists, a 423 that another hold does
// and no deploy hold.
var holdModel = porcupine.Model{
	Init: func() any { return holdSet("") },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(holdSet), input.(op), output.(result)
		switch in.kind {
		case "lock":
			return !s.has(out.id), s.with(out.id)
		case "deploy":
			switch {
			case out.ok:
				return s == "", s.with(deployMark + out.id)
			case out.status == http.StatusConflict:
				return s.hasDeploy(), s
			case out.status == http.StatusLocked:
				return s != "" && !s.hasDeploy(), s
			}
		case "unlock", "undeploy":
			id := in.id
			if in.kind == "undeploy" {
				id = deployMark + id
			}
			if out.ok {
				return s.has(id), s.without(id)
			}
			return !s.has(id), s
		case "preflight":
			return out.ok == (s == ""), s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		return fmt.Sprintf("%v -> %v", input, output)
	},
}

// Concurrent lock / unlock / deploy / preflight on one scope, sent to both
// replicas: every history must be linearizable. Each replica talks to its
// own etcd member (the leader, a follower), so that one replica's cache
// can lag the other's writes as it does across hosts; half the clients
// chase each write on one replica with a preflight on the other. Without
// the read barrier this test failed in 2 of 3 runs.
func TestHistoriesAreLinearizable(t *testing.T) {
	var leader int
	f := newFixtureWith(t, 2, func(c *locktest.Cluster, i int) []string {
		all := c.Endpoints()
		if i == 0 {
			// Replica 0 on the leader, replica 1 on a follower.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			leader = max(c.Leader(ctx), 0)
			return all[leader : leader+1]
		}
		j := (leader + 1) % len(all)
		return all[j : j+1]
	})
	const scope = "lin"
	var mu sync.Mutex
	var history []porcupine.Operation
	began := time.Now()
	stopAt := began.Add(4 * time.Second)
	var wg sync.WaitGroup
	for client := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(client), uint64(began.UnixNano())))
			var mine []op // holds this client created and may release
			// Even clients chase: a write on replica 0, then at once a
			// preflight on replica 1. Odd clients mix at random.
			chaser := client%2 == 0
			for i := 0; time.Now().Before(stopAt); i++ {
				base := f.replicas[(client+i)%2].URL()
				in := op{kind: "preflight"}
				switch x := rng.IntN(100); {
				case chaser && i%2 == 1:
					base = f.replicas[1].URL()
				case chaser && len(mine) > 0:
					base, in = f.replicas[0].URL(), mine[0]
					mine = mine[1:]
				case chaser:
					base, in.kind = f.replicas[0].URL(), "lock"
				case x < 25:
					in.kind = "lock"
				case x < 35:
					in.kind = "deploy"
				case x < 60 && len(mine) > 0:
					j := rng.IntN(len(mine))
					in = mine[j]
					mine = slices.Delete(mine, j, j+1)
				}
				in.replica = 0
				if base == f.replicas[1].URL() {
					in.replica = 1
				}
				call0 := time.Now()
				out, err := perform(base, f.sre, scope, in)
				ret := time.Now()
				if err != nil {
					t.Errorf("client %d: %v", client, err)
					return
				}
				if in.kind == "lock" {
					mine = append(mine, op{kind: "unlock", id: out.id})
				}
				if in.kind == "deploy" && out.ok {
					mine = append(mine, op{kind: "undeploy", id: out.id})
				}
				mu.Lock()
				history = append(history, porcupine.Operation{
					ClientId: client, Input: in, Output: out,
					Call: call0.Sub(began).Nanoseconds(), Return: ret.Sub(began).Nanoseconds(),
				})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	kinds := map[string]int{}
	for _, o := range history {
		kinds[o.Input.(op).kind]++
	}
	t.Logf("%d operations: %v", len(history), kinds)
	if kinds["preflight"] == 0 || kinds["lock"] == 0 || kinds["unlock"] == 0 || kinds["deploy"] == 0 {
		t.Fatalf("history lacks some kind of operation: %v", kinds)
	}
	if res := porcupine.CheckOperationsTimeout(holdModel, history, time.Minute); res != porcupine.Ok {
		for _, line := range staleVerdicts(history) {
			t.Log(line)
		}
		t.Fatalf("history of %d operations across two replicas is %v", len(history), res)
	}
	// Every verdict went through the read barrier.
	for i, r := range f.replicas {
		syncs := metricValue(t, r.URL(), `scaplock_read_barrier_total{what="syncs"}`)
		reads := metricValue(t, r.URL(), `scaplock_read_barrier_total{what="reads"}`)
		t.Logf("replica %d: %.0f answers confirmed by %.0f barrier reads", i, syncs, reads)
		if reads == 0 {
			t.Errorf("replica %d confirmed no answer with a linearizable read", i)
		}
	}
}

// metricValue reads one sample of base's /metrics, by its exposition
// name and labels.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	r := call(base, http.MethodGet, "/metrics", "", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s", base, r)
	}
	for line := range strings.SplitSeq(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no %s", base, series)
	return 0
}

// staleVerdicts names the preflights that contradict writes acknowledged
// before they were sent (a hold surely there answered allowed, or no hold
// surely there answered refused): what to look at when a history is not
// linearizable.
func staleVerdicts(history []porcupine.Operation) []string {
	type span struct{ call, ret int64 }
	created := map[string]span{}  // hold id -> its create
	released := map[string]span{} // hold id -> its successful release
	for _, o := range history {
		in, out := o.Input.(op), o.Output.(result)
		switch {
		case (in.kind == "lock" || in.kind == "deploy") && out.ok:
			created[out.id] = span{o.Call, o.Return}
		case (in.kind == "unlock" || in.kind == "undeploy") && out.ok:
			released[in.id] = span{o.Call, o.Return}
		}
	}
	var lines []string
	for _, o := range history {
		in, out := o.Input.(op), o.Output.(result)
		if in.kind != "preflight" && in.kind != "deploy" {
			continue
		}
		surelyHeld, maybeHeld := []string{}, 0
		for id, c := range created {
			if id == out.id {
				continue // the deploy's own hold
			}
			r, gone := released[id]
			switch {
			case c.call > o.Return || gone && r.ret < o.Call:
				// created after, or released before: surely absent
			case c.ret < o.Call && (!gone || r.call > o.Return):
				surelyHeld = append(surelyHeld, id)
			default:
				maybeHeld++
			}
		}
		if out.ok && len(surelyHeld) > 0 || !out.ok && len(surelyHeld) == 0 && maybeHeld == 0 {
			lines = append(lines, fmt.Sprintf("stale %s on replica %d at [%.3fms, %.3fms]: allowed=%v at revision %d; surely held %v, maybe %d",
				in.kind, in.replica, float64(o.Call)/1e6, float64(o.Return)/1e6, out.ok, out.rev, surelyHeld, maybeHeld))
		}
	}
	return lines
}

// perform sends one op and reads what the client was told.
func perform(base, token, scope string, in op) (result, error) {
	var r reply
	switch in.kind {
	case "lock":
		r = call(base, "POST", "/api/v1/holds", token, newKey(), api.HoldBody{Scope: scope, Reason: "linearizability"})
	case "deploy":
		r = call(base, "POST", "/api/v1/deploys", token, newKey(), api.DeployBody{Scope: scope, Reason: "linearizability", TTL: "60s"})
	case "unlock":
		r = call(base, "DELETE", "/api/v1/holds/"+in.id, token, newKey(), api.ReleaseBody{Reason: "linearizability"})
	case "undeploy":
		r = call(base, "DELETE", "/api/v1/deploys/"+in.id, token, newKey(), api.ReleaseBody{Reason: "linearizability"})
	case "preflight":
		r = call(base, "GET", "/api/v1/preflight?scope="+scope, "", "", nil)
	}
	if r.err != nil {
		return result{}, fmt.Errorf("%v: %w", in, r.err)
	}
	out, ok := decideReply(in, r)
	if !ok {
		return result{}, fmt.Errorf("%v: unexpected %s", in, r)
	}
	return out, nil
}
