package lock_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateAmendRelease(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)

	h, err := s.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "kubemaster migration", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if h.ExpiresAt == nil || h.Lease == 0 || h.Revision == 0 {
		t.Fatalf("hold with duration should have expiry, lease and revision: %+v", h)
	}
	// The cache has it as soon as Create returns.
	if got, err := s.Get(h.ID); err != nil || got.Reason != "kubemaster migration" {
		t.Fatalf("cache after create: %+v, %v", got, err)
	}
	if s.Revision() < h.Revision {
		t.Fatalf("cache revision %d behind write %d", s.Revision(), h.Revision)
	}
	if v := s.Verdict([]lock.Scope{"eqiad"}); v.Allowed || len(v.Blocking) != 1 {
		t.Fatalf("eqiad should be refused by the hold: %+v", v)
	}
	if v := s.Verdict([]lock.Scope{"codfw"}); !v.Allowed {
		t.Fatalf("codfw should be allowed: %+v", v)
	}

	reason := "migration takes longer"
	amended, err := s.Amend(ctx, h.ID, "bob", lock.Amendment{Reason: &reason, Duration: 3 * time.Hour, Kinds: []lock.Kind{lock.KindManual}})
	if err != nil {
		t.Fatal(err)
	}
	if amended.Reason != reason || !amended.ExpiresAt.After(*h.ExpiresAt) || amended.Lease == h.Lease {
		t.Fatalf("amend did not extend: before %+v after %+v", h, amended)
	}
	if _, err := s.Amend(ctx, "nope", "bob", lock.Amendment{Reason: &reason, Kinds: []lock.Kind{lock.KindManual}}); !errors.Is(err, lock.ErrNotFound) {
		t.Fatalf("amend of missing hold: %v", err)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "carol", Reason: "done", Kinds: []lock.Kind{lock.KindAuto}}); !errors.Is(err, lock.ErrForbidden) {
		t.Fatalf("release with wrong kinds: %v", err)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "carol", Reason: "done", Kinds: []lock.Kind{lock.KindManual}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(h.ID); !errors.Is(err, lock.ErrNotFound) {
		t.Fatalf("released hold still cached: %v", err)
	}
	if v := s.Verdict([]lock.Scope{"eqiad"}); !v.Allowed {
		t.Fatalf("eqiad should be allowed after release: %+v", v)
	}

	page, err := s.History(ctx, lock.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []lock.Action
	for _, ev := range page.Events {
		actions = append(actions, ev.Action)
	}
	want := []lock.Action{lock.ActionReleased, lock.ActionAmended, lock.ActionCreated}
	if len(actions) != 3 || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Fatalf("history actions newest first = %v, want %v", actions, want)
	}
	rel := page.Events[0]
	if rel.Actor != "carol" || rel.Reason != "done" || rel.Hold == nil || rel.Hold.ID != h.ID || rel.Revision == 0 {
		t.Fatalf("release event: %+v", rel)
	}
}

func TestCreateRejectsBadInputAndWritesNothing(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	before := s.Revision()
	for name, req := range map[string]lock.HoldRequest{
		"reason":   {Scope: "eqiad", Kind: lock.KindManual, Owner: "a", Reason: "  "},
		"scope":    {Scope: "Eqiad!", Kind: lock.KindManual, Owner: "a", Reason: "x"},
		"kind":     {Scope: "eqiad", Kind: "other", Owner: "a", Reason: "x"},
		"owner":    {Scope: "eqiad", Kind: lock.KindManual, Reason: "x"},
		"duration": {Scope: "eqiad", Kind: lock.KindManual, Owner: "a", Reason: "x", Duration: -time.Second},
	} {
		_, err := s.Create(ctx, req)
		var fe *lock.FieldError
		if !errors.As(err, &fe) || fe.Field != name {
			t.Errorf("%s: error %v does not name the field", name, err)
		}
	}
	page, _ := s.History(ctx, lock.HistoryQuery{})
	if len(page.Events) != 0 || len(s.Snapshot().Holds) != 0 || s.Revision() != before {
		t.Fatalf("rejected writes left traces: %d events, %d holds", len(page.Events), len(s.Snapshot().Holds))
	}
}

// Two replicas watch the same store; a lease expiry must yield exactly one
// expired event.
func TestExpiryRecordedExactlyOnce(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	a := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: 200 * time.Millisecond})
	b := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: 300 * time.Millisecond})
	ctx := ctxT(t)
	h, err := a.Create(ctx, lock.HoldRequest{Scope: "global", Kind: lock.KindManual, Owner: "alice", Reason: "short", Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRevision(ctx, h.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(h.ID); err != nil {
		t.Fatalf("replica b does not see the hold: %v", err)
	}
	expired := waitForEvent(t, a, lock.ActionExpired, h.ID, 20*time.Second)
	if expired.Actor != "scaplock" || expired.Hold == nil || expired.Hold.Owner != "alice" {
		t.Fatalf("expired event: %+v", expired)
	}
	// Give the slower replica's sweep time to (not) record it again.
	time.Sleep(time.Second)
	page, err := b.History(ctx, lock.HistoryQuery{Action: lock.ActionExpired})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Fatalf("want exactly one expired event, got %d", len(page.Events))
	}
	for _, s := range []*lock.Store{a, b} {
		if _, err := s.Get(h.ID); !errors.Is(err, lock.ErrNotFound) {
			t.Fatalf("expired hold still cached: %v", err)
		}
	}
}

func waitForEvent(t *testing.T, s *lock.Store, action lock.Action, holdID string, within time.Duration) lock.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		page, err := s.History(context.Background(), lock.HistoryQuery{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			if ev.Hold != nil && ev.Hold.ID == holdID {
				return ev
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s event for hold %s within %s", action, holdID, within)
	return lock.Event{}
}

func TestDeployExclusiveAndRefused(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	d, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "deployer1", Reason: "sync-world"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != lock.KindDeploy || d.Lease == 0 || time.Duration(d.TTL) != lock.DefaultDeployTTL {
		t.Fatalf("deploy hold: %+v", d)
	}
	var conflict *lock.DeployConflictError
	for _, scope := range []lock.Scope{"eqiad", "global"} {
		_, err = s.AcquireDeploy(ctx, lock.DeployRequest{Scope: scope, Owner: "deployer2", Reason: "another"})
		if !errors.As(err, &conflict) || conflict.Holder.ID != d.ID {
			t.Fatalf("second deploy to %s: want conflict naming %s, got %v", scope, d.ID, err)
		}
	}
	// Another cluster is free.
	c, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "codfw", Owner: "deployer2", Reason: "codfw"})
	if err != nil {
		t.Fatalf("codfw deploy: %v", err)
	}
	// A manual hold refuses a deploy with the verdict (423, not 409).
	m, err := s.Create(ctx, lock.HoldRequest{Scope: "global", Kind: lock.KindManual, Owner: "sre", Reason: "incident"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{d.ID, c.ID} {
		if _, err := s.Release(ctx, lock.ReleaseRequest{ID: id, Actor: "x", Reason: "done", Kinds: []lock.Kind{lock.KindDeploy}}); err != nil {
			t.Fatal(err)
		}
	}
	var refused *lock.RefusedError
	_, err = s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "deployer3", Reason: "x"})
	if !errors.As(err, &refused) || refused.Verdict.Blocking[0].ID != m.ID {
		t.Fatalf("deploy under a manual hold: want refusal by %s, got %v", m.ID, err)
	}
	// KeepAlive belongs to the owner.
	d2, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "deployer3", Reason: "x"})
	if err == nil {
		t.Fatalf("deploy should still be refused, got %+v", d2)
	}
}

func TestDeployLeaseLapsesAndKeepAlive(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: 200 * time.Millisecond})
	ctx := ctxT(t)
	kept, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "d1", Reason: "kept alive", TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "codfw", Owner: "d2", Reason: "host died", TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeepAlive(ctx, kept.ID, "intruder"); !errors.Is(err, lock.ErrForbidden) {
		t.Fatalf("keepalive by another owner: %v", err)
	}
	stop := time.Now().Add(4 * time.Second)
	for time.Now().Before(stop) {
		if _, err := s.KeepAlive(ctx, kept.ID, "d1"); err != nil {
			t.Fatalf("keepalive: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	ev := waitForEvent(t, s, lock.ActionExpired, dead.ID, 10*time.Second)
	if ev.Kind != lock.KindDeploy {
		t.Fatalf("lapsed deploy event: %+v", ev)
	}
	if _, err := s.Get(kept.ID); err != nil {
		t.Fatalf("kept-alive deploy vanished: %v", err)
	}
}

// Waiters get the scope in the order they asked for it.
func TestDeployWaitersFIFO(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	first, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "d0", Reason: "first"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	owners := []string{"d1", "d2", "d3"}
	for i, owner := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: owner, Reason: "queued", Wait: 20 * time.Second})
			if err != nil {
				t.Errorf("%s: %v", owner, err)
				return
			}
			mu.Lock()
			order = append(order, owner)
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
			if _, err := s.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: owner, Reason: "done", Kinds: []lock.Kind{lock.KindDeploy}, Owner: owner}); err != nil {
				t.Errorf("%s release: %v", owner, err)
			}
		}()
		// Each waiter must be queued before the next one asks.
		waitQueued(t, s, i+1)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: first.ID, Actor: "d0", Reason: "done", Kinds: []lock.Kind{lock.KindDeploy}}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(order) != 3 || order[0] != "d1" || order[1] != "d2" || order[2] != "d3" {
		t.Fatalf("deploy order %v, want %v", order, owners)
	}
}

// waitQueued waits until n waiters are in the store's queue.
func waitQueued(t *testing.T, s *lock.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.QueueLength() >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("queue never reached %d waiters", n)
}

func TestOverrideLiftsAutoHoldsOnly(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	auto, err := s.Create(ctx, lock.HoldRequest{ID: "auto-eqiad", Scope: "eqiad", Kind: lock.KindAuto, Owner: "scaplock", Reason: "control plane degraded"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, lock.HoldRequest{ID: "auto-eqiad", Scope: "eqiad", Kind: lock.KindAuto, Owner: "scaplock", Reason: "again"}); !errors.Is(err, lock.ErrConflict) {
		t.Fatalf("a second auto hold for one scope must conflict, got %v", err)
	}
	if _, err := s.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindOverride, Owner: "sre", Reason: "emergency fix", Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	v := s.Verdict([]lock.Scope{"eqiad"})
	if !v.Allowed || len(v.Overridden) != 1 || v.Overridden[0].ID != auto.ID {
		t.Fatalf("override should lift the auto hold: %+v", v)
	}
	d, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "d", Reason: "emergency fix"})
	if err != nil {
		t.Fatalf("deploy under override: %v", err)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: d.ID, Actor: "d", Reason: "done", Kinds: []lock.Kind{lock.KindDeploy}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "sre2", Reason: "stop"}); err != nil {
		t.Fatal(err)
	}
	if v := s.Verdict([]lock.Scope{"eqiad"}); v.Allowed || v.Blocking[0].Kind != lock.KindManual {
		t.Fatalf("manual holds count despite an override: %+v", v)
	}
}

func TestHistoryFiltersPaginationRetention(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: time.Hour})
	ctx := ctxT(t)
	for i := 0; i < 7; i++ {
		scope := lock.Scope("eqiad")
		if i%2 == 1 {
			scope = "codfw"
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if _, err := s.Create(ctx, lock.HoldRequest{Scope: scope, Kind: lock.KindManual, Owner: "alice", Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []lock.Event
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.History(ctx, lock.HistoryQuery{Scope: "eqiad", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page.Events...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 4 {
		t.Fatalf("eqiad events over all pages: %d, want 4", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if !seen[i].Time.Before(seen[i-1].Time) {
			t.Fatalf("history not newest first at %d", i)
		}
	}
	since := time.Date(2026, 11, 25, 12, 5, 0, 0, time.UTC)
	page, err := s.History(ctx, lock.HistoryQuery{Since: since})
	if err != nil || len(page.Events) != 3 {
		t.Fatalf("since filter: %d events, %v", len(page.Events), err)
	}
	if _, err := s.History(ctx, lock.HistoryQuery{Limit: 5000}); !errors.Is(err, lock.ErrInvalid) {
		t.Fatalf("oversize limit: %v", err)
	}

	// Retention: a store with a 3-minute age limit and a 2-event count limit.
	r := locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: 50 * time.Millisecond, Retention: lock.Retention{MaxAge: 3 * time.Minute, MaxCount: 2}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		page, err := r.History(ctx, lock.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 2 {
			if page.Events[1].Time.Before(now.Add(-3 * time.Minute)) {
				t.Fatalf("an event older than the age limit survived: %v", page.Events[1].Time)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention kept %d events, want 2", len(page.Events))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Holds written by another client reach the cache, and the revision with them.
func TestCacheCatchesUp(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	reader := locktest.OpenStore(t, e.Client(t), lock.Options{})
	writer := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	var last lock.Hold
	for i := 0; i < 20; i++ {
		h, err := writer.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "w", Reason: "r"})
		if err != nil {
			t.Fatal(err)
		}
		last = h
	}
	if err := reader.WaitRevision(ctx, last.Revision); err != nil {
		t.Fatal(err)
	}
	snap := reader.Snapshot()
	if len(snap.Holds) != 20 || snap.Revision < last.Revision {
		t.Fatalf("reader cache: %d holds at revision %d, want 20 at >= %d", len(snap.Holds), snap.Revision, last.Revision)
	}
	if got, _ := reader.Get(last.ID); got.Revision != last.Revision {
		t.Fatalf("cached hold revision %d, want %d", got.Revision, last.Revision)
	}
}

// A keepalive for a deploy that is gone says what became of it.
func TestKeepAliveSaysWhyTheDeployIsGone(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	ctx := ctxT(t)
	d, err := s.AcquireDeploy(ctx, lock.DeployRequest{Scope: "eqiad", Owner: "d1", Reason: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: d.ID, Actor: "admin-bob", Reason: "stuck deploy", Kinds: []lock.Kind{lock.KindDeploy}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.KeepAlive(ctx, d.ID, "d1")
	if !errors.Is(err, lock.ErrNotFound) || !strings.Contains(err.Error(), "released by admin-bob") || !strings.Contains(err.Error(), "stuck deploy") {
		t.Fatalf("keepalive of a released deploy: %v", err)
	}
	page, err := s.History(ctx, lock.HistoryQuery{HoldID: d.ID})
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("history of one hold: %d events, %v", len(page.Events), err)
	}
	if _, err := s.KeepAlive(ctx, "feedfacefeedface", "d1"); !errors.Is(err, lock.ErrNotFound) || !strings.Contains(err.Error(), "no such hold") {
		t.Fatalf("keepalive of an unknown deploy: %v", err)
	}
}

// A write acknowledged by one replica is seen by a Sync on another at once,
// whether the barrier asks etcd over gRPC or, for the embedded single
// member, reads its applied revision in-process, through the barrier or
// without it.
func TestSyncSeesWritesOfAnotherReplica(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	for _, c := range []struct {
		name string
		opts lock.Options
	}{
		{"linearizable Get", lock.Options{}},
		{"embedded member in-process", lock.Options{CurrentRevision: e.CurrentRevision}},
		{"embedded member without the barrier", lock.Options{CurrentRevision: e.CurrentRevision, LocalRevision: e.LocalRevision}},
	} {
		t.Run(c.name, func(t *testing.T) { syncSeesWrites(t, e, c.opts) })
	}
}

func syncSeesWrites(t *testing.T, e *locktest.Etcd, opts lock.Options) {
	a := locktest.OpenStore(t, e.Client(t), lock.Options{})
	b := locktest.OpenStore(t, e.Client(t), opts)
	ctx := ctxT(t)
	for i := range 30 {
		h, err := a.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "sync test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if v := b.Verdict([]lock.Scope{"eqiad"}); v.Allowed {
			t.Fatalf("round %d: replica b allowed eqiad after a acknowledged hold %s", i, h.ID)
		}
		if _, err := a.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "alice", Reason: "done", Kinds: []lock.Kind{lock.KindManual}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if v := b.Verdict([]lock.Scope{"eqiad"}); !v.Allowed {
			t.Fatalf("round %d: replica b still refuses after the release", i)
		}
	}
}
