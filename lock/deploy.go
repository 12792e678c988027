package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// DeployRequest asks for the exclusive deploy hold on a scope.
type DeployRequest struct {
	Scope  Scope
	Owner  string
	Reason string
	// TTL is the lease time-to-live: the hold lapses this long after the
	// last keepalive. 30s by default.
	TTL time.Duration
	// Wait, when positive, queues the request (first come, first served)
	// until the scope is free or Wait has passed.
	Wait time.Duration
	// Idem, when set, makes the request safe to retry.
	Idem *Idempotency
	// Calendar, when set, has the deployment windows that also decide.
	Calendar *Calendar
}

// DefaultDeployTTL is the deploy lease's time-to-live when none is given.
const DefaultDeployTTL = apiv1.DefaultDeployTTL

// WriteTimeout bounds a write that its caller can no longer cancel.
const WriteTimeout = 10 * time.Second

const queueLeaseTTL = 10 // seconds; a waiter that dies leaves the queue this fast

// AcquireDeploy takes the exclusive deploy hold on req.Scope. A deploy in
// scope X conflicts with another deploy in X or in global (and a global
// deploy with every deploy): that is a *DeployConflictError. Any other hold
// covering the scope refuses it with a *RefusedError. The check and the
// write are one transaction. With Wait, the request waits its turn behind
// earlier waiters; cancelling ctx gives up the place in the queue.
func (s *Store) AcquireDeploy(ctx context.Context, req DeployRequest) (Hold, error) {
	if _, err := s.scopes.Parse(string(req.Scope)); err != nil {
		return Hold{}, err
	}
	if err := ValidateReason(req.Reason); err != nil {
		return Hold{}, err
	}
	if req.Owner == "" {
		return Hold{}, invalid("owner", "is required")
	}
	if req.TTL == 0 {
		req.TTL = DefaultDeployTTL
	}
	if req.TTL < 2*time.Second || req.TTL > time.Hour {
		return Hold{}, invalid("ttl", "%s is outside 2s..1h", req.TTL)
	}
	if h, ok, err := s.replay(ctx, req.Idem); ok || err != nil {
		return h, err
	}
	// A refusal or a conflict must reflect every write acknowledged before
	// this request, on any replica.
	if err := s.Sync(ctx); err != nil {
		return Hold{}, err
	}
	if req.Wait <= 0 {
		return s.tryDeploy(ctx, req, "")
	}
	ctx, cancel := context.WithTimeout(ctx, req.Wait)
	defer cancel()
	place, leave, err := s.joinQueue(ctx, req.Scope)
	if err != nil {
		return Hold{}, err
	}
	defer leave()
	var last error
	for {
		changed := s.Changed()
		if s.firstInQueue(place, req.Scope) {
			h, err := s.tryDeploy(ctx, req, place)
			if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrRefused) {
				return h, err
			}
			last = err
		}
		select {
		case <-changed:
		case <-windowChange(last, s.now()):
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
				// Not the wait running out: the caller left, or the service is stopping.
				return Hold{}, fmt.Errorf("left the deploy queue for %s: %w: %w", req.Scope, ErrUnavailable, cause)
			}
			if last == nil {
				last = fmt.Errorf("still queued behind earlier deployers after %s: %w", req.Wait, ErrConflict)
			}
			return Hold{}, last
		}
	}
}

// tryDeploy makes one decision on the cached state and commits it only if
// no hold was written since that state: ModRevision over the holds prefix
// must not exceed the cache revision, and every override the decision
// relied on must still be there.
func (s *Store) tryDeploy(ctx context.Context, req DeployRequest, place string) (Hold, error) {
	for attempt := 0; attempt < 20; attempt++ {
		snap := s.Covering([]Scope{req.Scope})
		now := s.now().UTC()
		for _, h := range snap.Holds {
			if h.Kind == KindDeploy && h.Active(now) && overlaps(h.Scope, req.Scope) {
				return Hold{}, &DeployConflictError{Scope: req.Scope, Holder: h}
			}
		}
		if place == "" && s.waitersAhead(req.Scope) {
			return Hold{}, fmt.Errorf("deployers are queued for %s: %w", req.Scope, ErrConflict)
		}
		v := Decide(snap.Holds, []Scope{req.Scope}, now)
		if req.Calendar != nil {
			v = ApplyWindows(v, req.Calendar.List(), now)
		}
		v.Revision = snap.Revision
		if !v.Allowed {
			return Hold{}, &RefusedError{Verdict: v}
		}
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.keys.Holds()), "<", snap.Revision+1).WithPrefix()}
		if req.Calendar != nil {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.keys.Windows()), "<", snap.Revision+1).WithPrefix())
		}
		for _, o := range v.Overrides {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.keys.Hold(o.ID)), "=", o.Revision))
		}
		// The hold carries its own deadline: etcd may keep the lease past
		// its TTL (it renews leases on a leader change), the hold not.
		deadline := now.Add(req.TTL)
		h := Hold{
			ID: newID(), Scope: req.Scope, Kind: KindDeploy, Owner: req.Owner, Reason: req.Reason,
			CreatedAt: now, UpdatedAt: now, TTL: Duration(req.TTL), ExpiresAt: &deadline,
		}
		// Once decided, the write finishes even if the wait is cancelled.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), WriteTimeout)
		got, err := s.put(wctx, h, req.TTL, req.Owner, ActionCreated, req.Reason, req.Idem, nil, cmps...)
		cancel()
		if err == nil || !errors.Is(err, ErrConflict) {
			return got, err
		}
		// Someone wrote in between: catch the cache up and decide again.
		if err := s.Sync(ctx); err != nil {
			return Hold{}, err
		}
	}
	return Hold{}, fmt.Errorf("scope %s kept changing while taking the deploy hold: %w", req.Scope, ErrConflict)
}

// joinQueue puts a waiter's place in the FIFO queue on a lease kept alive
// until leave is called or ctx ends.
func (s *Store) joinQueue(ctx context.Context, scope Scope) (place string, leave func(), err error) {
	lease, err := s.cli.Grant(ctx, queueLeaseTTL)
	if err != nil {
		return "", nil, unavailable("join deploy queue", err)
	}
	kctx, stopKeepAlive := context.WithCancel(ctx)
	acks, err := s.cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		stopKeepAlive()
		s.revoke(int64(lease.ID))
		return "", nil, unavailable("join deploy queue", err)
	}
	go func() {
		for range acks { // drained so the client never queues; ends with kctx
		}
	}()
	place = s.keys.Queue() + newID()
	resp, err := s.cli.Put(ctx, place, string(scope), clientv3.WithLease(lease.ID))
	leave = func() {
		stopKeepAlive()
		s.revoke(int64(lease.ID))
	}
	if err != nil {
		leave()
		return "", nil, unavailable("join deploy queue", err)
	}
	if err := s.WaitRevision(ctx, resp.Header.Revision); err != nil {
		leave()
		return "", nil, err
	}
	return place, leave, nil
}

// firstInQueue reports whether no earlier waiter wants an overlapping scope.
func (s *Store) firstInQueue(place string, scope Scope) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	me, ok := s.queue[place]
	if !ok {
		return false
	}
	for key, q := range s.queue {
		if key != place && q.createRev < me.createRev && overlaps(q.scope, scope) {
			return false
		}
	}
	return true
}

func (s *Store) waitersAhead(scope Scope) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, q := range s.queue {
		if overlaps(q.scope, scope) {
			return true
		}
	}
	return false
}

// KeepAlive renews a deploy hold's lease and moves its deadline to now +
// TTL; only its owner may. A hold past its deadline has lapsed even if
// etcd still keeps its lease.
func (s *Store) KeepAlive(ctx context.Context, id, owner string) (Hold, error) {
	for attempt := 0; attempt < 5; attempt++ {
		h, err := s.fetch(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return Hold{}, fmt.Errorf("deploy %s %s: %w", id, s.whyGone(ctx, id), ErrNotFound)
		}
		if err != nil {
			return Hold{}, err
		}
		if h.Kind != KindDeploy {
			return Hold{}, fmt.Errorf("hold %s is a %s hold, not a deploy: %w", id, h.Kind, ErrNotFound)
		}
		if h.Owner != owner {
			return Hold{}, fmt.Errorf("deploy %s belongs to %s: %w", id, h.Owner, ErrForbidden)
		}
		now := s.now().UTC()
		if !h.Active(now) {
			s.revoke(h.Lease)
			return Hold{}, fmt.Errorf("deploy %s lapsed: no keepalive before its deadline %s: %w", id, h.ExpiresAt.UTC().Format(time.RFC3339), ErrNotFound)
		}
		if _, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(h.Lease)); err != nil {
			if errors.Is(err, rpcLeaseNotFound) {
				return Hold{}, fmt.Errorf("deploy %s lapsed: its lease expired: %w", id, ErrNotFound)
			}
			return Hold{}, unavailable("keepalive deploy "+id, err)
		}
		next := h
		deadline := now.Add(time.Duration(h.TTL))
		next.ExpiresAt = &deadline
		val, err := json.Marshal(next)
		if err != nil {
			return Hold{}, err
		}
		resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(s.keys.Hold(id)), "=", h.Revision)).Then(
			append([]clientv3.Op{clientv3.OpPut(s.keys.Hold(id), string(val), clientv3.WithLease(clientv3.LeaseID(h.Lease)))}, s.ledgerOps(next, val)...)...,
		).Commit()
		if err != nil {
			return Hold{}, outcomeUnknown("keepalive deploy", id, err)
		}
		if resp.Succeeded {
			next.Revision = resp.Header.Revision
			s.catchUp(ctx, "keepalive deploy", id, next.Revision)
			return next, nil
		}
		// A concurrent keepalive or release: look again.
	}
	return Hold{}, fmt.Errorf("deploy %s kept changing during keepalive: %w", id, ErrConflict)
}

// QueueLength is how many deployers are waiting, across scopes.
func (s *Store) QueueLength() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.queue)
}

// whyGone says what became of a hold that is no longer live, from its last
// event in the past day: released by whom and why, or lapsed.
func (s *Store) whyGone(ctx context.Context, id string) string {
	page, err := s.History(ctx, HistoryQuery{HoldID: id, Since: s.now().Add(-24 * time.Hour), Limit: 1})
	if err != nil || len(page.Events) == 0 {
		return "is not held (no such hold in the past day)"
	}
	e := page.Events[0]
	switch e.Action {
	case ActionReleased:
		return fmt.Sprintf("was released by %s at %s: %q", e.Actor, e.Time.UTC().Format(time.RFC3339), e.Reason)
	case ActionExpired:
		return fmt.Sprintf("lapsed at %s: %s", e.Time.UTC().Format(time.RFC3339), e.Reason)
	}
	return "is no longer held"
}
