package faulttest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

// loadRetryFor is how long a load worker retries one write, as the CLI's
// --retry-for.
const loadRetryFor = 20 * time.Second

// loadWrite is one hold a load worker asked for and what it was told.
type loadWrite struct {
	reason  string    // unique per write: holds and events are counted by it
	id      string    // the hold, once its create was acknowledged
	created time.Time // when the replica that wrote the hold created it
	acked   bool      // the create was acknowledged (201)
	release reply     // the release's last answer; status 0 when none was sent
	// skipped are the answers retried on the other replica, for the
	// create and the release.
	skipped, releaseSkipped []reply
}

// releaseKnown reports whether the release had a definite answer, so the
// hold's presence is known: gone after a 200, there after a refusal.
func (w loadWrite) releaseKnown() bool {
	return w.release.err == nil && w.release.status != 0 && w.release.status != http.StatusServiceUnavailable
}

// load is a write load on replicas, each write with its own
// Idempotency-Key and retried on the next replica on no answer or a 503,
// as the CLI retries: hold workers create a manual hold on one replica
// and release it on the other; deploy workers take a scope's deploy hold,
// keep it a moment and release it.
type load struct {
	t                      *testing.T
	urls                   []string
	token                  string
	holdScope, deployScope string
	// observe, when set, sees each write as it is done.
	observe func(loadWrite)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	writes []loadWrite
}

// start runs holders hold workers and deployers deploy workers until stop.
func (l *load) start(holders, deployers int) {
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for n := range holders {
		l.wg.Go(func() {
			for i := 0; l.ctx.Err() == nil; i++ {
				l.holdCycle(fmt.Sprintf("%s hold %d-%d", l.t.Name(), n, i), n+i)
			}
		})
	}
	for n := range deployers {
		l.wg.Go(func() {
			for i := 0; l.ctx.Err() == nil; i++ {
				l.deployCycle(fmt.Sprintf("%s deploy %d-%d", l.t.Name(), n, i), n+i)
			}
		})
	}
}

// holdCycle creates a hold first on urls[first] and releases it on the next.
func (l *load) holdCycle(reason string, first int) {
	w := l.create(reason, first)
	if w.acked {
		w.release, w.releaseSkipped = acrossReplicas(l.urls, first+1, "DELETE", "/api/v1/holds/"+w.id, l.token, api.ReleaseBody{Reason: "load done"}, loadRetryFor)
		if w.releaseKnown() && w.release.status != http.StatusOK {
			l.t.Errorf("release of %s retried with its key: %s", w.id, w.release)
		}
	}
	l.add(w)
}

// create sends one create with its key and reads the answer.
func (l *load) create(reason string, first int) loadWrite {
	w := loadWrite{reason: reason}
	var c reply
	c, w.skipped = acrossReplicas(l.urls, first, "POST", "/api/v1/holds", l.token, api.HoldBody{Scope: l.holdScope, Reason: reason}, loadRetryFor)
	w.acked, w.id, w.created = acknowledged(l.t, c)
	return w
}

// deployCycle takes the deploy hold first on urls[first], keeps it 30 ms
// and releases it on the next; a refusal or conflict writes nothing.
func (l *load) deployCycle(reason string, first int) {
	w := loadWrite{reason: reason}
	c, skipped := acrossReplicas(l.urls, first, "POST", "/api/v1/deploys", l.token, api.DeployBody{Scope: l.deployScope, Reason: reason, TTL: "30s"}, loadRetryFor)
	if c.status == http.StatusConflict || c.status == http.StatusLocked {
		time.Sleep(20 * time.Millisecond)
		return
	}
	w.acked, w.id, w.created = acknowledged(l.t, c)
	w.skipped = skipped
	if w.acked {
		time.Sleep(30 * time.Millisecond)
		w.release, w.releaseSkipped = acrossReplicas(l.urls, first+1, "DELETE", "/api/v1/deploys/"+w.id, l.token, api.ReleaseBody{Reason: "deployed"}, loadRetryFor)
		if w.release.status != http.StatusOK {
			l.t.Errorf("deploy release %s: %s", w.id, w.release)
		}
	}
	l.add(w)
}

func (l *load) add(w loadWrite) {
	if l.observe != nil {
		l.observe(w)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, w)
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes)
}

// stop ends the load, waits for the writes under way, and returns them all.
func (l *load) stop() []loadWrite {
	l.cancel()
	l.wg.Wait()
	return l.writes
}

// acknowledged reads a create's answer: the hold's id and creation time
// when it was 201. An answer that is neither 201 nor "could not decide"
// fails the test.
func acknowledged(t *testing.T, c reply) (bool, string, time.Time) {
	t.Helper()
	switch {
	case c.status == http.StatusCreated:
		var h lock.Hold
		if err := jsonDecode(c.body, &h); err != nil {
			t.Errorf("create answer %s: %v", c, err)
		}
		return true, h.ID, h.CreatedAt
	case c.err != nil || c.status == http.StatusServiceUnavailable:
		return false, "", time.Time{}
	}
	t.Errorf("create: %s", c)
	return false, "", time.Time{}
}

// check compares what the writers were told with the history and the
// holds base serves: each acknowledged create is there unless its release
// was acknowledged, no write made two holds, each change is in the
// history once, and no two deploy holds lived at once.
func (l *load) check(base string) {
	t := l.t
	t.Helper()
	st := status(t, base, 10*time.Second)
	live := map[string][]string{} // reason -> ids of live holds
	for _, h := range st.Holds {
		live[h.Reason] = append(live[h.Reason], h.ID)
	}
	created := map[string][]string{} // reason -> ids created
	changes := map[string]int{}      // "action id" -> events
	var deploys []lock.Event
	for _, scope := range []string{l.holdScope, l.deployScope} {
		for _, e := range history(t, base, "scope="+scope) {
			if e.Hold == nil {
				t.Errorf("event %s without its hold", e.ID)
				continue
			}
			changes[string(e.Action)+" "+e.Hold.ID]++
			if e.Action == lock.ActionCreated {
				created[e.Hold.Reason] = append(created[e.Hold.Reason], e.Hold.ID)
			}
			if e.Hold.Kind == lock.KindDeploy {
				deploys = append(deploys, e)
			}
		}
	}
	for c, n := range changes {
		if n != 1 {
			t.Errorf("%s: %d events, want one", c, n)
		}
	}
	var released, acked, unknown int
	for _, w := range l.writes {
		ids := created[w.reason]
		switch {
		case len(ids) > 1:
			t.Errorf("%q: %d holds created (%v), want at most one", w.reason, len(ids), ids)
		case w.acked && (len(ids) != 1 || ids[0] != w.id):
			t.Errorf("%q: acknowledged as %s, history has %v", w.reason, w.id, ids)
		}
		n := len(live[w.reason])
		switch {
		case n > 1:
			t.Errorf("%q: %d live holds", w.reason, n)
		case w.release.status == http.StatusOK && n != 0:
			t.Errorf("%q: release of %s acknowledged, hold still there", w.reason, w.id)
		case w.acked && w.releaseKnown() && w.release.status != http.StatusOK && n != 1:
			t.Errorf("%q: create of %s acknowledged and release refused, hold gone", w.reason, w.id)
		case w.acked && w.release.status == 0 && w.release.err == nil && n != 1: // no release sent
			t.Errorf("%q: create of %s acknowledged, hold gone", w.reason, w.id)
		}
		if w.release.status == http.StatusOK && changes[string(lock.ActionReleased)+" "+w.id] != 1 {
			t.Errorf("%q: release of %s acknowledged, not in the history", w.reason, w.id)
		}
		switch {
		case w.release.status == http.StatusOK:
			released++
		case w.acked:
			acked++
		default:
			unknown++
		}
	}
	t.Logf("checked %d writes: %d created and released, %d created only, %d not acknowledged", len(l.writes), released, acked, unknown)
	checkDeploysApart(t, deploys)
}

// checkDeploysApart fails when two deploy holds of one scope lived at the
// same time, in etcd revisions: each must be created after the one before
// was released or expired.
func checkDeploysApart(t *testing.T, events []lock.Event) {
	t.Helper()
	type span struct{ from, to int64 }
	spans := map[string]*span{}
	for _, e := range events {
		s := spans[e.Hold.ID]
		if s == nil {
			s = &span{to: 1<<63 - 1}
			spans[e.Hold.ID] = s
		}
		switch e.Action {
		case lock.ActionCreated:
			s.from = e.Revision
		case lock.ActionReleased, lock.ActionExpired:
			s.to = e.Revision
		}
	}
	ids := slices.Collect(maps.Keys(spans))
	sort.Slice(ids, func(i, j int) bool { return spans[ids[i]].from < spans[ids[j]].from })
	for i := 1; i < len(ids); i++ {
		if prev, cur := spans[ids[i-1]], spans[ids[i]]; cur.from < prev.to {
			t.Errorf("deploy %s created at revision %d while %s held (revisions %d..%d)", ids[i], cur.from, ids[i-1], prev.from, prev.to)
		}
	}
	if len(ids) < 2 {
		t.Errorf("%d deploys: too few to judge overlap", len(ids))
	}
	t.Logf("%d deploys, one at a time", len(ids))
}
