package lock

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Leadership is the condition of a leader's write: the election key it
// won still exists at the revision it was created with. A deposed
// leader's write then fails with ErrConflict instead of landing. A nil
// Leadership is no condition.
type Leadership struct {
	Key string
	Rev int64
}

func (l *Leadership) cmps() []clientv3.Cmp {
	if l == nil {
		return nil
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(l.Key), "=", l.Rev)}
}

// KV is one key and value for Publish.
type KV struct{ Key, Value string }

// Publish writes kvs in one transaction while lead holds: the keys of
// other packages' parts (the gate's health reports and samples), which
// the store's watch then shows. It is ErrConflict when lead no longer
// holds, ErrUnavailable when etcd does not answer.
func (s *Store) Publish(ctx context.Context, lead *Leadership, kvs ...KV) error {
	ops := make([]clientv3.Op, len(kvs))
	for i, kv := range kvs {
		ops[i] = clientv3.OpPut(kv.Key, kv.Value)
	}
	resp, err := s.cli.Txn(ctx).If(lead.cmps()...).Then(ops...).Commit()
	if err != nil {
		return unavailable("publish", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("publish: no longer leader: %w", ErrConflict)
	}
	return nil
}
