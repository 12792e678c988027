package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock/tick"
)

var rpcLeaseNotFound = rpctypes.ErrLeaseNotFound

// An expired hold is one whose key etcd deleted with its lease while its
// ledger entry is still there (a release deletes both in one transaction).
// Every replica that notices records the expiry with a transaction that
// needs the ledger entry to exist and deletes it, so exactly one succeeds.

// settleExpiries records expiries for holds whose keys the watch saw deleted.
func (s *Store) settleExpiries(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.expired:
			if err := s.settle(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Warn("recording expiry failed; the sweep will retry", "hold", id, "err", err)
			}
		}
	}
}

// settle records the expiry of hold id if its lease took it away.
func (s *Store) settle(ctx context.Context, id string) error {
	resp, err := s.cli.Get(ctx, s.keys.LedgerEntry(id))
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return nil // released, or already recorded
	}
	kv := resp.Kvs[0]
	var h Hold
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return fmt.Errorf("decode ledger entry %s: %w", id, err)
	}
	h.Revision = kv.ModRevision
	now := s.now().UTC()
	reason := "expired"
	switch {
	case h.Kind == KindDeploy:
		reason = fmt.Sprintf("lease lapsed: no keepalive for %s (deploy host gone?)", time.Duration(h.TTL))
	case h.ExpiresAt != nil:
		reason = "expired at " + h.ExpiresAt.UTC().Format(time.RFC3339)
	}
	evOps, err := HistoryOps(s.keys, newEvent(now, "scaplock", ActionExpired, h, reason))
	if err != nil {
		return err
	}
	txn, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(s.keys.LedgerEntry(id)), "=", kv.ModRevision),
		clientv3.Compare(clientv3.CreateRevision(s.keys.Hold(id)), "=", 0),
	).Then(append([]clientv3.Op{clientv3.OpDelete(s.keys.LedgerEntry(id))}, evOps...)...).Commit()
	if err != nil {
		return err
	}
	if txn.Succeeded {
		s.log.Info("hold expired", "hold", id, "scope", h.Scope, "kind", h.Kind, "owner", h.Owner)
	}
	return nil
}

func (s *Store) sweepLoop(ctx context.Context) {
	sweep := func() {
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep failed", "err", err)
		}
	}
	sweep()
	tick.Until(ctx.Done(), s.sweepFreq, sweep)
}

// sweep catches what the watch cannot: expiries that happened while no
// replica was watching, leases that outlived their hold's expiry (etcd
// renews leases on a leader change), and history past its retention;
// then it folds old events into archive chunks.
func (s *Store) sweep(ctx context.Context) error {
	ledger, err := s.cli.Get(ctx, s.keys.Ledger(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	holds, err := s.cli.Get(ctx, s.keys.Holds(), clientv3.WithPrefix(), clientv3.WithRev(ledger.Header.Revision))
	if err != nil {
		return err
	}
	live := map[string]bool{}
	now := s.now()
	for _, kv := range holds.Kvs {
		h, err := decodeHold(kv)
		if err != nil {
			continue
		}
		live[h.ID] = true
		if h.Lease != 0 && h.ExpiresAt != nil && now.After(h.ExpiresAt.Add(time.Second)) {
			s.revoke(h.Lease)
		}
	}
	for _, kv := range ledger.Kvs {
		id := strings.TrimPrefix(string(kv.Key), s.keys.Ledger())
		if !live[id] {
			if err := s.settle(ctx, id); err != nil {
				return err
			}
		}
	}
	if err := s.prune(ctx); err != nil {
		return err
	}
	if _, err := s.archive(ctx, archiveSweepChunks); err != nil {
		return fmt.Errorf("archive history: %w", err)
	}
	return nil
}
