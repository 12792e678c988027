package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// IdempotencyTTL is how long a write's outcome is kept for retries with
// the same key: at least this long (the lease is rotated hourly).
const IdempotencyTTL = 24 * time.Hour

const idemLeaseRotate = time.Hour

// Idempotency makes a write safe to retry: the outcome is recorded under
// Key in the same transaction as the change, and a retry with the same
// Key and Fingerprint gets that outcome back instead of writing again.
type Idempotency struct {
	// Key is the caller's key as given (for messages).
	Key string
	// Actor scopes Key: two callers' keys never collide.
	Actor string
	// Fingerprint names what was asked (route and body); the same Key with
	// another Fingerprint is ErrIdempotencyMismatch.
	Fingerprint string
}

// id is the etcd key's last segment: one hash of actor and key.
func (i *Idempotency) id() string {
	sum := sha256.Sum256([]byte(i.Actor + "\x00" + i.Key))
	return hex.EncodeToString(sum[:])
}

// Fingerprint hashes what a request asks for.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\x00", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// outcome is what is recorded for a key.
type outcome struct {
	Fingerprint string    `json:"fingerprint"`
	Time        time.Time `json:"time"`
	Hold        Hold      `json:"hold"`
	// Released: Hold is the hold as it was before the write, with its own
	// revision; otherwise Hold was written by it, at the record's revision.
	Released bool `json:"released,omitempty"`
	// Window is the window a removal took away, as it was.
	Window *Window `json:"window,omitempty"`
}

// replay returns the hold outcome recorded under idem, if any. A record
// with another fingerprint is ErrIdempotencyMismatch.
func (s *Store) replay(ctx context.Context, idem *Idempotency) (Hold, bool, error) {
	o, rev, ok, err := s.recorded(ctx, idem)
	if !ok || err != nil {
		return Hold{}, ok, err
	}
	if !o.Released {
		o.Hold.Revision = rev
	}
	s.catchUp(ctx, "replay", o.Hold.ID, rev)
	return o.Hold, true, nil
}

// recorded reads the outcome recorded under idem and the revision it was
// recorded at.
func (s *Store) recorded(ctx context.Context, idem *Idempotency) (outcome, int64, bool, error) {
	if idem == nil {
		return outcome{}, 0, false, nil
	}
	resp, err := s.cli.Get(ctx, s.keys.IdempotencyRecord(idem.id()))
	if err != nil {
		return outcome{}, 0, false, unavailable("read idempotency key", err)
	}
	if len(resp.Kvs) == 0 {
		return outcome{}, 0, false, nil
	}
	var o outcome
	if err := json.Unmarshal(resp.Kvs[0].Value, &o); err != nil {
		return outcome{}, 0, false, fmt.Errorf("decode idempotency record: %w", err)
	}
	if o.Fingerprint != idem.Fingerprint {
		return outcome{}, 0, false, fmt.Errorf("Idempotency-Key %q was used at %s for another request: %w",
			idem.Key, o.Time.UTC().Format(time.RFC3339), ErrIdempotencyMismatch)
	}
	return o, resp.Kvs[0].ModRevision, true, nil
}

// record returns the condition and the put that record h as idem's
// outcome in the write's transaction; none without idem.
func (s *Store) record(ctx context.Context, idem *Idempotency, h Hold, released bool) ([]clientv3.Cmp, []clientv3.Op, error) {
	return s.recordOutcome(ctx, idem, outcome{Hold: h, Released: released})
}

// recordOutcome returns the condition and the put that record o as idem's
// outcome in the write's transaction; none without idem.
func (s *Store) recordOutcome(ctx context.Context, idem *Idempotency, o outcome) ([]clientv3.Cmp, []clientv3.Op, error) {
	if idem == nil {
		return nil, nil, nil
	}
	lease, err := s.idempotencyLease(ctx)
	if err != nil {
		return nil, nil, err
	}
	o.Fingerprint, o.Time = idem.Fingerprint, s.now().UTC()
	val, err := json.Marshal(o)
	if err != nil {
		return nil, nil, err
	}
	key := s.keys.IdempotencyRecord(idem.id())
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(key, string(val), clientv3.WithLease(lease))}, nil
}

// lost handles a transaction whose conditions failed: when idem's record
// now exists, a concurrent request with the same key won, and its outcome
// is the answer (ok); otherwise the write conflicted. When the record
// cannot be read, a request with the same key may have won: the outcome
// is unknown (a retry with the key tells), never a conflict.
func (s *Store) lost(ctx context.Context, idem *Idempotency, op, holdID string) (Hold, bool, error) {
	h, ok, err := s.replay(ctx, idem)
	if errors.Is(err, ErrUnavailable) {
		return Hold{}, false, &OutcomeUnknownError{Op: op, HoldID: holdID, Err: err}
	}
	return h, ok, err
}

// idempotencyLease is the lease records live on: granted for
// IdempotencyTTL plus the rotation period and replaced every hour, so that
// every record lives at least IdempotencyTTL.
func (s *Store) idempotencyLease(ctx context.Context) (clientv3.LeaseID, error) {
	s.idemMu.Lock()
	defer s.idemMu.Unlock()
	if s.idemLease != 0 && time.Since(s.idemGranted) < idemLeaseRotate {
		return s.idemLease, nil
	}
	resp, err := s.cli.Grant(ctx, leaseSeconds(IdempotencyTTL+2*idemLeaseRotate))
	if err != nil {
		return 0, unavailable("grant idempotency lease", err)
	}
	s.idemLease, s.idemGranted = resp.ID, time.Now()
	return resp.ID, nil
}
