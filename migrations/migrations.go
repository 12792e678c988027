package migrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/scaplock/scaplock/lock"
)

// ErrNewerStore means the store was written by a newer scaplock.
var ErrNewerStore = errors.New("store layout is newer than this binary")

// Migration is one step of the key layout. Ops returns the writes of the
// step; they are committed in one transaction with the version bump.
// Copy, when set, runs first for data too large for one transaction: it
// writes in batches, each guarded by guard (the migration lock), and must
// be safe to run again if the step is interrupted before its Ops commit.
type Migration struct {
	Version int
	Name    string
	Copy    func(ctx context.Context, cli *clientv3.Client, keys lock.Keys, guard clientv3.Cmp) error
	Ops     func(ctx context.Context, cli *clientv3.Client, keys lock.Keys) ([]clientv3.Op, error)
}

// All are scaplock's migrations, in order.
var All = []Migration{
	{Version: 1, Name: "create the key layout", Ops: createLayout},
	{Version: 2, Name: "history newest first, indexed by hold and actor", Copy: copyHistory, Ops: dropLegacyHistory},
	{Version: 3, Name: "drop the history's indexes (filters scan, bounded)", Ops: dropHistoryIndexes},
	// Writes nothing but the version: an older scaplock, which would miss
	// every archived event, refuses the store.
	{Version: 4, Name: "fold old history events into archive chunks", Ops: createLayout},
}

// Latest is the layout version this binary writes.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// createLayout records what the layout is, for humans reading etcd.
func createLayout(_ context.Context, _ *clientv3.Client, keys lock.Keys) ([]clientv3.Op, error) {
	layout, err := json.Marshal(map[string]string{
		"holds":   keys.Holds(),
		"ledger":  keys.Ledger(),
		"history": keys.History(),
		"archive": keys.HistoryArchive(),
		"queue":   keys.Queue(),
		"health":  keys.Health(),
		"gate":    keys.Election(),
	})
	if err != nil {
		return nil, err
	}
	return []clientv3.Op{clientv3.OpPut(keys.Prefix+"schema/layout", string(layout))}, nil
}

// dropHistoryIndexes deletes layout 2's index entries, two keys per event
// that etcd kept in memory, and records the layout without them.
func dropHistoryIndexes(ctx context.Context, cli *clientv3.Client, keys lock.Keys) ([]clientv3.Op, error) {
	layout, err := createLayout(ctx, cli, keys)
	if err != nil {
		return nil, err
	}
	return append(layout, clientv3.OpDelete(keys.LegacyHistoryIndexes(), clientv3.WithPrefix())), nil
}

// Version reads the store's layout version; 0 for an empty store.
func Version(ctx context.Context, cli *clientv3.Client, keys lock.Keys) (version int, modRev int64, err error) {
	resp, err := cli.Get(ctx, keys.SchemaVersion())
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return 0, 0, nil
	}
	v, err := strconv.Atoi(string(resp.Kvs[0].Value))
	if err != nil {
		return 0, 0, fmt.Errorf("schema version %q is not a number", resp.Kvs[0].Value)
	}
	return v, resp.Kvs[0].ModRevision, nil
}

// Run applies the migrations in ms the store lacks and returns the versions
// it applied. It holds an etcd mutex while it works; cancelling ctx gives
// up waiting for it.
func Run(ctx context.Context, cli *clientv3.Client, keys lock.Keys, ms []Migration, log *slog.Logger) ([]int, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	session, err := concurrency.NewSession(cli, concurrency.WithTTL(10), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("migration session: %w", err)
	}
	defer session.Close()
	mu := concurrency.NewMutex(session, keys.MigrationLock())
	if err := mu.Lock(ctx); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = mu.Unlock(uctx)
	}()

	current, modRev, err := Version(ctx, cli, keys)
	if err != nil {
		return nil, err
	}
	if latest := Latest(ms); current > latest {
		return nil, fmt.Errorf("%w: etcd prefix %s is at layout version %d, this scaplock knows up to %d; upgrade scaplock (it will not downgrade the store)",
			ErrNewerStore, keys.Prefix, current, latest)
	}
	var applied []int
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if m.Copy != nil {
			if err := m.Copy(ctx, cli, keys, mu.IsOwner()); err != nil {
				return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		ops, err := m.Ops(ctx, cli, keys)
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		ops = append(ops, clientv3.OpPut(keys.SchemaVersion(), strconv.Itoa(m.Version)))
		resp, err := cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(keys.SchemaVersion()), "=", modRev),
			mu.IsOwner(),
		).Then(ops...).Commit()
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if !resp.Succeeded {
			return applied, fmt.Errorf("migration %d (%s): schema version changed underneath or lock lost", m.Version, m.Name)
		}
		modRev, current = resp.Header.Revision, m.Version
		applied = append(applied, m.Version)
		log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return applied, nil
}
