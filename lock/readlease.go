package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A read lease lets a replica answer verdicts from its cache with no
// read-index round, and stays linearizable because writes wait for it:
//
//   - The replica registers under Keys.Replicas on an etcd lease of TTL
//     and answers from its cache only while it holds the lease by its own
//     clock (CLOCK_BOOTTIME): until the last renewal it sent plus TTL
//     minus a quarter, and once its cache has reached the revision of its
//     registration. Out of its lease, a verdict goes through the read
//     barrier as before.
//   - After every change to a hold it applies, it writes the revision its
//     cache reached into its key: its ack.
//   - It renews the lease only when its cache is sound: every quarter TTL
//     it reads etcd's revision (a linearizable read), waits for its watch
//     to reach it and for its ack to be written, and only then sends the
//     renewal. A replica whose watch or writes are stuck lets its lease
//     expire.
//   - Before a write is acknowledged to its client, the writer fences it:
//     its cache follows the replicas' keys too, and it waits until each
//     replica registered at or before the write's revision has acked it,
//     has stopped, or is gone. Nothing but expiry and the replica itself
//     deletes a key, and etcd expires a lease no sooner than TTL after
//     the last renewal reached it, when the replica's own deadline has
//     passed. A replica registered after the write loads a cache past it.
//
//   - A replica shows a hold change (in verdicts, status, snapshots) only
//     once every other replica registered at its revision has acked it
//     (promoteLocked), and a verdict waits until every change it had
//     received is shown. Otherwise the writer's replica, or any that got
//     the change first, could answer with it while another, still under
//     its lease, answers without it: a later verdict older than an
//     earlier one. The porcupine test caught exactly that.
//
// So every verdict, on any replica, reflects every write acknowledged
// before it arrived, and none misses a change an earlier verdict showed, assuming only that the replicas' and etcd's clocks
// run at rates within a quarter of one another (no synchronised wall
// clocks). The price is paid by writes, which are rare: their ack round
// trip, and while a replica is stuck or dead, until its lease expires
// (about one TTL; etcd extends leases by up to an election on a leader
// change).

// replicaRecord is the value of a replica's key.
type replicaRecord struct {
	// Acked is the revision the replica's cache has reached.
	Acked int64 `json:"acked,omitempty"`
	// TTLMillis is the replica's configured lease TTL (etcd may grant
	// more), for operators reading the key.
	TTLMillis int64 `json:"ttl_ms"`
	// Stopped is written on a clean stop, once the replica no longer
	// answers from its cache.
	Stopped bool `json:"stopped,omitempty"`
}

// readLease is a replica's side of the read lease.
type readLease struct {
	ttl time.Duration
	key string
	// until is the mono() reading up to which verdicts may come from the
	// cache; 0 when the replica holds no lease.
	until atomic.Int64
	// regRev is the revision of the current registration: the cache must
	// reach it before it answers.
	regRev atomic.Int64
	// significant is the newest revision that changed a hold: the cache
	// has something to ack.
	significant atomic.Int64
	kick        chan struct{}
	// served counts verdicts answered under the lease.
	served atomic.Int64

	// Owned by the lease loop.
	lease     clientv3.LeaseID
	acked     int64
	lapsed    bool // a lapse was logged
	warnedTTL bool
}

// fenceStats count what fences did, for metrics.
type fenceStats struct {
	waited, failed atomic.Int64
}

func (l *readLease) margin() time.Duration { return l.ttl / 4 }

// leaseServing reports whether a verdict may come from the cache now.
func (s *Store) leaseServing() bool {
	l := s.rl
	if l == nil || mono() >= l.until.Load() {
		return false
	}
	return s.Revision() >= l.regRev.Load()
}

// noteApplied tells the lease loop that the cache reached rev with a
// change to ack: a full load, or events that touched a hold. Holds are all
// a verdict decides on, and every fenced write changes one; the gate's
// samples and the history alone are not acked, so that a quiet service
// writes no more than before.
func (s *Store) noteApplied(full bool, events []*clientv3.Event, rev int64) {
	l := s.rl
	if l == nil {
		return
	}
	significant := full
	for _, ev := range events {
		if hasPrefix(ev.Kv.Key, s.keys.Holds()) {
			significant = true
			break
		}
	}
	if !significant {
		return
	}
	for {
		old := l.significant.Load()
		if old >= rev || l.significant.CompareAndSwap(old, rev) {
			break
		}
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func hasPrefix(key []byte, prefix string) bool {
	return len(key) >= len(prefix) && string(key[:len(prefix)]) == prefix
}

// leaseLoop registers the replica, acks what its cache applies and renews
// its lease until ctx ends; then it deregisters.
func (s *Store) leaseLoop(ctx context.Context) {
	l := s.rl
	renew := time.NewTicker(l.ttl / 4)
	defer renew.Stop()
	defer s.deregister()
	for ctx.Err() == nil {
		if l.lease == 0 {
			if err := s.register(ctx); err != nil {
				if ctx.Err() == nil {
					s.log.Debug("read lease: register failed; verdicts use the read barrier", "err", err)
				}
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
			s.ack(ctx)
		case <-renew.C:
			s.renew(ctx)
		}
	}
}

// leaseCallTimeout bounds one registration, renewal or ack.
func (l *readLease) callTimeout() time.Duration { return l.ttl / 4 }

func (s *Store) register(ctx context.Context) error {
	l := s.rl
	cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	sent := mono()
	g, err := s.cli.Grant(cctx, leaseSeconds(l.ttl))
	if err != nil {
		return err
	}
	if granted := time.Duration(g.TTL) * time.Second; granted > l.ttl && !l.warnedTTL {
		// etcd's floor is 1.5 election timeouts. The replica still keeps
		// to its own TTL; writers may wait for the longer one.
		l.warnedTTL = true
		s.log.Warn("read lease: etcd granted a longer lease than asked; a dead replica holds writes up that long",
			"asked", l.ttl, "granted", granted)
	}
	rev := s.Revision()
	put, err := s.cli.Put(cctx, l.key, l.record(rev, false), clientv3.WithLease(g.ID))
	if err != nil {
		s.dropLease(g.ID)
		return err
	}
	l.lease, l.acked = g.ID, rev
	l.regRev.Store(put.Header.Revision)
	l.until.Store(sent + int64(l.ttl-l.margin()))
	return nil
}

func (l *readLease) record(acked int64, stopped bool) string {
	b, _ := json.Marshal(replicaRecord{Acked: acked, TTLMillis: l.ttl.Milliseconds(), Stopped: stopped})
	return string(b)
}

// renew keeps the lease, but only for a sound cache: it confirms etcd's
// revision, waits for the watch to reach it and for the ack to be written,
// and only then sends the renewal; the deadline moves only on a renewal
// etcd took.
func (s *Store) renew(ctx context.Context) {
	l := s.rl
	cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	rev, err := s.current(cctx)
	if err == nil {
		err = s.WaitRevision(cctx, rev)
	}
	if err == nil {
		// The ack must cover rev: later changes may still be on their way.
		s.ack(cctx)
		if l.lease == 0 || l.acked < rev && l.significant.Load() > l.acked {
			err = errors.New("ack not written")
		}
	}
	if err != nil {
		s.notRenewed("the cache is not confirmed", err)
		return
	}
	sent := mono()
	resp, err := s.cli.KeepAliveOnce(cctx, l.lease)
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		s.lostLease("renew")
	case err != nil:
		s.notRenewed("etcd did not take the renewal", err)
	case resp.TTL > 0:
		l.until.Store(sent + int64(l.ttl-l.margin()))
		if l.lapsed {
			l.lapsed = false
			s.log.Info("read lease: held again; verdicts come from the cache")
		}
	}
}

// notRenewed logs a failed renewal: once at warning when it leaves the
// replica without its lease, otherwise at debug.
func (s *Store) notRenewed(why string, err error) {
	l := s.rl
	if !l.lapsed && mono() >= l.until.Load() {
		l.lapsed = true
		s.log.Warn("read lease: not renewed; verdicts use the read barrier", "why", why, "err", err)
		return
	}
	s.log.Debug("read lease: not renewed", "why", why, "err", err)
}

// ack writes the revision the cache reached, when it applied a change
// since the last ack.
func (s *Store) ack(ctx context.Context) {
	l := s.rl
	if l.lease == 0 || l.significant.Load() <= l.acked {
		return
	}
	rev := s.Revision()
	cctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	_, err := s.cli.Put(cctx, l.key, l.record(rev, false), clientv3.WithLease(l.lease))
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		s.lostLease("ack")
	case err != nil:
		s.log.Debug("read lease: ack failed", "revision", rev, "err", err)
	default:
		l.acked = rev
	}
}

// lostLease stops answering from the cache: the lease expired. The loop
// registers again.
func (s *Store) lostLease(during string) {
	l := s.rl
	l.until.Store(0)
	l.lease, l.acked = 0, 0
	s.log.Info("read lease lost; verdicts use the read barrier until the replica registers again", "during", during)
}

// deregister stops answering from the cache, then tells writers so
// (Stopped) and drops the key, so that no write waits for this replica.
func (s *Store) deregister() {
	l := s.rl
	l.until.Store(0)
	if l.lease == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.cli.Put(ctx, l.key, l.record(0, true), clientv3.WithLease(l.lease)); err != nil {
		s.log.Debug("read lease: stop record failed; writers wait for the lease to end", "err", err)
	}
	s.dropLease(l.lease)
	l.lease = 0
}

func (s *Store) dropLease(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := s.cli.Revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		s.log.Debug("read lease: revoke failed; it will expire", "err", err)
	}
}

// replicaState is what the cache keeps of a replica's key.
type replicaState struct {
	createRev int64
	replicaRecord
}

func (s *Store) putReplica(kv *mvccpb.KeyValue) *Change {
	if r, ok := decodeReplica(kv); ok {
		s.replicas[string(kv.Key)] = replicaState{createRev: kv.CreateRevision, replicaRecord: r}
	}
	return nil
}

func (s *Store) delReplica(kv *mvccpb.KeyValue) *Change {
	delete(s.replicas, string(kv.Key))
	return nil
}

// waitingForLocked counts the replicas a write at rev still waits for:
// registered at or before rev, neither stopped nor acked rev, and not this
// one (the caller waits for its own cache).
func (s *Store) waitingForLocked(rev int64) int {
	n := 0
	for key, r := range s.replicas {
		if r.createRev <= rev && !r.Stopped && r.Acked < rev && (s.rl == nil || key != s.rl.key) {
			n++
		}
	}
	return n
}

// holdChange is a hold's put or delete, received and waiting to be shown.
type holdChange struct {
	kv  *mvccpb.KeyValue
	put bool
}

// promoteLocked shows queued hold changes, in revision order, as soon as
// every other replica registered at a change's revision has acked it (or
// stopped, or lost its key): a change shown here is in every replica's
// cache, so no replica can answer without it afterwards. That is what
// keeps a verdict from seeing a write that another replica, still under
// its lease, does not see yet. all shows everything (a full load).
func (s *Store) promoteLocked(all bool) {
	n := 0
	for _, c := range s.pending {
		if !all && s.waitingForLocked(c.kv.ModRevision) > 0 {
			break
		}
		if c.put {
			s.putHold(c.kv)
		} else {
			s.delHold(c.kv)
		}
		n++
	}
	if n == len(s.pending) {
		s.pending = s.pending[:0]
		return
	}
	s.pending = append(s.pending[:0], s.pending[n:]...)
}

// shownRevLocked is the revision the shown holds reflect: the cache's,
// or just before the first change still waiting to be shown.
func (s *Store) shownRevLocked() int64 {
	if len(s.pending) > 0 {
		return s.pending[0].kv.ModRevision - 1
	}
	return s.rev
}

// allShown reports whether every hold change received is shown.
func (s *Store) allShown() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pending) == 0
}

// waitShown waits until the shown holds include every hold change the
// cache had received when it was called: a verdict then reflects every
// write acknowledged before it (their writers waited for this replica's
// ack, so it has received them), and nothing another replica may not
// show yet.
func (s *Store) waitShown(ctx context.Context) error {
	s.mu.RLock()
	target := s.holdRev
	s.mu.RUnlock()
	for {
		s.mu.RLock()
		shown, ch := len(s.pending) == 0 || s.pending[0].kv.ModRevision > target, s.changed
		s.mu.RUnlock()
		if shown {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: not every replica has applied the hold change at revision %d: %w", ErrUnavailable, target, ctx.Err())
		}
	}
}

// fence waits until no replica can answer a verdict that misses the write
// at rev (see the top of this file): each has acked it, stopped, or lost
// its lease. A replica that is stuck or dead holds the write up until its
// lease expires. The write stands if fence fails (ctx ends first); it
// then says so.
func (s *Store) fence(ctx context.Context, rev int64) error {
	if err := s.WaitRevision(ctx, rev); err != nil {
		s.fences.failed.Add(1)
		return err
	}
	counted := false
	for {
		s.mu.RLock()
		n, ch := s.waitingForLocked(rev), s.changed
		s.mu.RUnlock()
		if n == 0 {
			return nil
		}
		if !counted {
			counted = true
			s.fences.waited.Add(1)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.fences.failed.Add(1)
			return fmt.Errorf("%d replicas did not confirm revision %d: %w", n, rev, ctx.Err())
		}
	}
}

func decodeReplica(kv *mvccpb.KeyValue) (replicaRecord, bool) {
	var r replicaRecord
	if err := json.Unmarshal(kv.Value, &r); err != nil || r.TTLMillis <= 0 {
		return replicaRecord{}, false
	}
	return r, true
}

// ReadLeaseState tells whether the replica answers verdicts from its cache
// now (it holds its read lease) and how many it has answered so.
func (s *Store) ReadLeaseState() (held bool, served int64) {
	if s.rl == nil {
		return false, 0
	}
	return s.leaseServing(), s.rl.served.Load()
}

// FenceStats counts this store's write fences: writes that waited for
// another replica, and fences that could not confirm every replica.
func (s *Store) FenceStats() (waited, failed int64) {
	return s.fences.waited.Load(), s.fences.failed.Load()
}
