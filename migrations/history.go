package migrations

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
)

// errLockLost means another process took the migration lock mid-copy.
var errLockLost = errors.New("migration lock lost while copying")

// copyHistory rewrites layout 1's history (oldest first, every page a read
// of the whole range) into the newest-first layout with its indexes. It
// can run again: the copies of an event are the same keys and values.
func copyHistory(ctx context.Context, cli *clientv3.Client, keys lock.Keys, guard clientv3.Cmp) error {
	from, end := keys.LegacyHistory(), clientv3.GetPrefixRangeEnd(keys.LegacyHistory())
	var ops []clientv3.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		resp, err := cli.Txn(ctx).If(guard).Then(ops...).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return errLockLost
		}
		ops = ops[:0]
		return nil
	}
	for {
		resp, err := cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(500))
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			e, ok := legacyEvent(string(kv.Key), keys, kv.Value)
			if !ok {
				continue
			}
			if e.Revision == 0 {
				e.Revision = kv.ModRevision // the revision it was written at, not the copy's
			}
			eops, err := lock.HistoryOps(keys, e)
			if err != nil {
				return err
			}
			if len(ops)+len(eops) > 120 {
				if err := flush(); err != nil {
					return err
				}
			}
			ops = append(ops, eops...)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return flush()
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// legacyEvent decodes a layout 1 event; its key (nanoseconds-id) fills an
// id or time the value lacks. Undecodable values are dropped.
func legacyEvent(key string, keys lock.Keys, val []byte) (lock.Event, bool) {
	var e lock.Event
	if json.Unmarshal(val, &e) != nil {
		return e, false
	}
	nanos, id, _ := strings.Cut(strings.TrimPrefix(key, keys.LegacyHistory()), "-")
	if e.ID == "" {
		e.ID = id
	}
	if e.Time.IsZero() {
		n, err := strconv.ParseInt(nanos, 10, 64)
		if err != nil {
			return e, false
		}
		e.Time = time.Unix(0, n).UTC()
	}
	return e, e.ID != ""
}

// dropLegacyHistory deletes layout 1's history once it is copied, and
// records the new layout.
func dropLegacyHistory(ctx context.Context, cli *clientv3.Client, keys lock.Keys) ([]clientv3.Op, error) {
	ops, err := createLayout(ctx, cli, keys)
	if err != nil {
		return nil, err
	}
	return append(ops, clientv3.OpDelete(keys.LegacyHistory(), clientv3.WithPrefix())), nil
}
