package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// HoldRequest asks for a new manual, auto or override hold.
type HoldRequest struct {
	Scope  Scope
	Kind   Kind
	Owner  string
	Reason string
	// Duration is how long the hold lasts; zero means until released.
	Duration time.Duration
	Details  []string
	Hint     string
	// Recovering names the deploy an auto cooldown hold is for.
	Recovering *apiv1.DeployRef
	// ID is chosen by the caller when non-empty (the gate uses one auto hold
	// id per scope, so two leaders can never create two).
	ID string
	// Signals and Clears are an auto hold's measurements and what ends
	// it (the gate's); Details and Hint say the same in prose.
	Signals []apiv1.SignalReading
	Clears  *apiv1.Clears
	// Guard, when set, is the leadership the write needs (the gate's).
	Guard *Leadership
	// Idem, when set, makes the request safe to retry.
	Idem *Idempotency
}

func (r HoldRequest) validate() error {
	if _, err := ParseScope(string(r.Scope)); err != nil {
		return err
	}
	if r.Kind == KindDeploy {
		return invalid("kind", "deploy holds are taken with AcquireDeploy")
	}
	if _, err := ParseKind(string(r.Kind)); err != nil {
		return err
	}
	if r.Owner == "" {
		return invalid("owner", "is required")
	}
	if r.Duration < 0 {
		return invalid("duration", "must be positive, got %s", r.Duration)
	}
	return ValidateReason(r.Reason)
}

// Create writes a new hold and its history event in one transaction. A
// hold with a Duration lives on an etcd lease of that length.
func (s *Store) Create(ctx context.Context, req HoldRequest) (Hold, error) {
	if err := req.validate(); err != nil {
		return Hold{}, err
	}
	if err := s.scopes.Check(req.Scope); err != nil {
		return Hold{}, err
	}
	if h, ok, err := s.replay(ctx, req.Idem); ok || err != nil {
		return h, err
	}
	now := s.now().UTC()
	h := Hold{
		ID: req.ID, Scope: req.Scope, Kind: req.Kind, Owner: req.Owner, Reason: req.Reason,
		Details: req.Details, Hint: req.Hint, Signals: req.Signals, Clears: req.Clears, Recovering: req.Recovering, CreatedAt: now, UpdatedAt: now,
	}
	if h.ID == "" {
		h.ID = newID()
	}
	if req.Duration > 0 {
		exp := now.Add(req.Duration)
		h.ExpiresAt = &exp
	}
	return s.put(ctx, h, req.Duration, req.Owner, ActionCreated, req.Reason, req.Idem, req.Guard.cmps())
}

// put writes a new hold (absent until now) on a fresh lease of ttl.
func (s *Store) put(ctx context.Context, h Hold, ttl time.Duration, actor string, action Action, reason string, idem *Idempotency, guard []clientv3.Cmp, extra ...clientv3.Cmp) (Hold, error) {
	if ttl > 0 {
		lease, err := s.cli.Grant(ctx, leaseSeconds(ttl))
		if err != nil {
			return Hold{}, unavailable("grant lease", err)
		}
		h.Lease = int64(lease.ID)
	}
	idemCmps, idemOps, err := s.record(ctx, idem, h, false)
	if err != nil {
		s.revoke(h.Lease)
		return Hold{}, err
	}
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(s.keys.Hold(h.ID)), "=", 0)}, guard...)
	cmps = append(cmps, extra...)
	cmps = append(cmps, idemCmps...)
	resp, err := s.txn(ctx, cmps, h, actor, action, reason, idemOps...)
	if err != nil {
		// The lease stays: if the write was committed, the hold lives on it.
		return Hold{}, err
	}
	if !resp.Succeeded {
		s.revoke(h.Lease)
		if won, ok, err := s.lost(ctx, idem, "write hold", h.ID); ok || err != nil {
			return won, err
		}
		return Hold{}, fmt.Errorf("hold %s: written concurrently: %w", h.ID, ErrConflict)
	}
	h.Revision = resp.Header.Revision
	s.catchUp(ctx, "write hold", h.ID, h.Revision)
	return h, nil
}

// catchUp waits, within ctx, until this replica's cache reflects the
// write committed at rev, so that what reads the cache without Sync (the
// gate) sees the write at once. Answers need nothing more: every read
// Syncs, and etcd acknowledged the write. So a wait cut short is only
// logged; the write is answered as committed.
func (s *Store) catchUp(ctx context.Context, op, holdID string, rev int64) {
	if err := s.WaitRevision(ctx, rev); err != nil {
		s.log.Debug("write committed; this replica's cache has not caught up yet", "op", op, "hold", holdID, "revision", rev, "err", err)
	}
}

// ledgerOps keeps the lease-free copy of h that lets its expiry be
// recorded after etcd deleted the hold with its lease. A hold without a
// lease never expires, so it has none: a release deletes the entry
// whatever the hold had, which also clears entries older versions wrote.
func (s *Store) ledgerOps(h Hold, val []byte) []clientv3.Op {
	if h.Lease == 0 {
		return nil
	}
	return []clientv3.Op{clientv3.OpPut(s.keys.LedgerEntry(h.ID), string(val))}
}

// txn writes h (to its hold key, and its ledger entry when it has a lease) and one history event if cmps
// hold, plus extra ops (an idempotency record).
func (s *Store) txn(ctx context.Context, cmps []clientv3.Cmp, h Hold, actor string, action Action, reason string, extra ...clientv3.Op) (*clientv3.TxnResponse, error) {
	val, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	evOps, err := HistoryOps(s.keys, newEvent(h.UpdatedAt, actor, action, h, reason))
	if err != nil {
		return nil, err
	}
	var opts []clientv3.OpOption
	if h.Lease != 0 {
		opts = append(opts, clientv3.WithLease(clientv3.LeaseID(h.Lease)))
	}
	ops := append([]clientv3.Op{clientv3.OpPut(s.keys.Hold(h.ID), string(val), opts...)}, s.ledgerOps(h, val)...)
	ops = append(ops, evOps...)
	ops = append(ops, extra...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return nil, outcomeUnknown("write hold", h.ID, err)
	}
	return resp, nil
}

// Amendment changes a hold. Nil or zero fields are left as they are.
type Amendment struct {
	Reason *string
	// Duration, when positive, sets the expiry to now + Duration.
	Duration time.Duration
	// MaxDuration bounds Duration; zero means no bound.
	MaxDuration time.Duration
	// Kinds are the kinds the caller may amend.
	Kinds []Kind
	// Idem, when set, makes the request safe to retry.
	Idem *Idempotency
}

// Amend changes a hold's reason or expiry, comparing on its mod revision
// so a concurrent change is reported (ErrConflict) instead of lost.
func (s *Store) Amend(ctx context.Context, id, actor string, a Amendment) (Hold, error) {
	if a.Reason == nil && a.Duration == 0 {
		return Hold{}, invalid("body", "nothing to amend: give reason or duration")
	}
	if a.Reason != nil {
		if err := ValidateReason(*a.Reason); err != nil {
			return Hold{}, err
		}
	}
	if a.Duration != 0 {
		if err := ValidateDuration("duration", a.Duration, a.MaxDuration); err != nil {
			return Hold{}, err
		}
	}
	if h, ok, err := s.replay(ctx, a.Idem); ok || err != nil {
		return h, err
	}
	h, err := s.fetch(ctx, id)
	if err != nil {
		return Hold{}, err
	}
	if !kindIn(h.Kind, a.Kinds) {
		return Hold{}, fmt.Errorf("hold %s is a %s hold: %w", id, h.Kind, ErrForbidden)
	}
	now := s.now().UTC()
	next := h
	next.UpdatedAt = now
	why := "amended"
	if a.Reason != nil {
		next.Reason = *a.Reason
		why = *a.Reason
	}
	oldLease := h.Lease
	if a.Duration > 0 {
		exp := now.Add(a.Duration)
		next.ExpiresAt = &exp
		lease, err := s.cli.Grant(ctx, leaseSeconds(a.Duration))
		if err != nil {
			return Hold{}, unavailable("grant lease", err)
		}
		next.Lease = int64(lease.ID)
	}
	idemCmps, idemOps, err := s.record(ctx, a.Idem, next, false)
	if err != nil {
		if next.Lease != oldLease {
			s.revoke(next.Lease)
		}
		return Hold{}, err
	}
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.keys.Hold(id)), "=", h.Revision)}, idemCmps...)
	resp, err := s.txn(ctx, cmps, next, actor, ActionAmended, why, idemOps...)
	if err != nil {
		return Hold{}, err // both leases stay: either may carry the hold
	}
	if !resp.Succeeded {
		if next.Lease != oldLease {
			s.revoke(next.Lease)
		}
		if won, ok, err := s.lost(ctx, a.Idem, "amend hold", id); ok || err != nil {
			return won, err
		}
		return Hold{}, fmt.Errorf("hold %s changed while amending, try again: %w", id, ErrConflict)
	}
	if next.Lease != oldLease {
		s.revoke(oldLease) // nothing lives on it any more
	}
	next.Revision = resp.Header.Revision
	s.catchUp(ctx, "amend hold", id, next.Revision)
	return next, nil
}

// ReleaseRequest ends a hold.
type ReleaseRequest struct {
	ID     string
	Actor  string
	Reason string
	// Kinds are the kinds the caller may release.
	Kinds []Kind
	// Owner, when set, must be the hold's owner.
	Owner string
	// Guard, when set, is the leadership the release needs (the gate's).
	Guard *Leadership
	// Idem, when set, makes the request safe to retry: a retry of a
	// release that went through answers with the released hold, not 404.
	Idem *Idempotency
	// Outcome, for a deploy's release, goes on its history event.
	Outcome *ReleaseOutcome
	// Released, when set, is called once with the released hold, only by
	// the request whose transaction committed (not by a retry's replay), so
	// that metrics count each release once across replicas.
	Released func(Hold)
}

// Release deletes a hold and records who released it and why, in one
// transaction that compares on the hold's mod revision. It starts from
// the cached hold: when the cache is current, that is one round trip;
// when not, the transaction fails, reads the hold back in its Else branch,
// and the release is decided once more on what etcd had.
func (s *Store) Release(ctx context.Context, req ReleaseRequest) (Hold, error) {
	if err := ValidateReason(req.Reason); err != nil {
		return Hold{}, err
	}
	if err := ValidateID(req.ID); err != nil {
		return Hold{}, err
	}
	if err := req.Outcome.validate(); err != nil {
		return Hold{}, err
	}
	if h, ok, err := s.replay(ctx, req.Idem); ok || err != nil {
		return h, err
	}
	h, err := s.Get(req.ID) // a starting point: the transaction compares on its revision
	if err != nil {
		if h, err = s.fetch(ctx, req.ID); err != nil {
			return Hold{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		if err := req.allows(h); err != nil {
			return Hold{}, err
		}
		resp, err := s.releaseTxn(ctx, req, h)
		if err != nil {
			return Hold{}, err
		}
		if resp.Succeeded {
			s.revoke(h.Lease)
			if req.Released != nil {
				req.Released(h)
			}
			s.catchUp(ctx, "release hold", h.ID, resp.Header.Revision)
			return h, nil
		}
		if won, ok, err := s.lost(ctx, req.Idem, "release hold", req.ID); ok || err != nil {
			return won, err
		}
		// etcd's answer, as of the transaction: the hold is gone, or
		// it changed (the cache was behind, or a keepalive or an
		// amendment came in between): decide once more on what etcd had.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return Hold{}, fmt.Errorf("hold %s: %w", req.ID, ErrNotFound)
		}
		if attempt > 0 {
			return Hold{}, fmt.Errorf("hold %s changed while releasing, try again: %w", req.ID, ErrConflict)
		}
		if h, err = decodeHold(kvs[0]); err != nil {
			return Hold{}, err
		}
	}
}

// allows checks that the request may release h.
func (req ReleaseRequest) allows(h Hold) error {
	if !kindIn(h.Kind, req.Kinds) {
		return fmt.Errorf("hold %s is a %s hold: %w", h.ID, h.Kind, ErrForbidden)
	}
	if req.Owner != "" && req.Owner != h.Owner {
		return fmt.Errorf("hold %s belongs to %s: %w", h.ID, h.Owner, ErrForbidden)
	}
	if req.Outcome != nil && h.Kind != KindDeploy {
		return invalid("outcome", "only a deploy's release has one; hold %s is a %s hold", h.ID, h.Kind)
	}
	return nil
}

// releaseTxn deletes h if it is still at h.Revision (and req's guard
// holds); otherwise its Else branch reads the hold back.
func (s *Store) releaseTxn(ctx context.Context, req ReleaseRequest, h Hold) (*clientv3.TxnResponse, error) {
	key := s.keys.Hold(h.ID)
	evOps, err := HistoryOps(s.keys, req.Outcome.on(newEvent(s.now().UTC(), req.Actor, ActionReleased, h, req.Reason)))
	if err != nil {
		return nil, err
	}
	idemCmps, idemOps, err := s.record(ctx, req.Idem, h, true)
	if err != nil {
		return nil, err
	}
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", h.Revision)}, req.Guard.cmps()...)
	cmps = append(cmps, idemCmps...)
	ops := append([]clientv3.Op{clientv3.OpDelete(key), clientv3.OpDelete(s.keys.LedgerEntry(h.ID))}, evOps...)
	ops = append(ops, idemOps...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, outcomeUnknown("release hold", h.ID, err)
	}
	return resp, nil
}

// Record appends an event that changes no hold (the gate in observe mode).
func (s *Store) Record(ctx context.Context, e Event) (Event, error) {
	ops, err := s.eventOps(&e)
	if err != nil {
		return Event{}, err
	}
	resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return Event{}, unavailable("record event", err)
	}
	e.Revision = resp.Header.Revision
	// Committed: a cache that is slow to show it does not make it fail.
	s.catchUp(ctx, "record event", "", e.Revision)
	return e, nil
}

// fetch reads a hold from etcd itself, for writes that compare on it.
func (s *Store) fetch(ctx context.Context, id string) (Hold, error) {
	if err := ValidateID(id); err != nil {
		return Hold{}, err
	}
	resp, err := s.cli.Get(ctx, s.keys.Hold(id))
	if err != nil {
		return Hold{}, unavailable("read hold "+id, err)
	}
	if len(resp.Kvs) == 0 {
		return Hold{}, fmt.Errorf("hold %s: %w", id, ErrNotFound)
	}
	return decodeHold(resp.Kvs[0])
}

// revokeTimeout bounds one background lease revoke.
const revokeTimeout = 5 * time.Second

// revoke drops a lease in the background, so that the request that no
// longer needs it answers without waiting; the store owns and joins the
// goroutine. A lease that cannot be revoked simply expires.
func (s *Store) revoke(lease int64) {
	if lease == 0 {
		return
	}
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.runCtx, revokeTimeout)
		defer cancel()
		if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
			s.log.Debug("lease revoke failed; it will expire", "lease", lease, "err", err)
		}
	}()
}

func leaseSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

func kindIn(k Kind, kinds []Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}
