package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// replicaTTL is the registration lease: a replica that dies shows as dead
// this long after its last renewal. Liveness only: no answer depends on
// it, so its length is a matter of display, not of correctness.
const replicaTTL = 5 // seconds

// keepDead is how long a dead or stopped replica stays listed.
const keepDead = time.Hour

// replicaRecord is the value of replicas/<name>.
type replicaRecord struct {
	URL     string    `json:"url,omitempty"`
	Started time.Time `json:"started"`
	Stopped bool      `json:"stopped,omitempty"`
}

// replicas registers this replica under replicas/<name> on a lease it
// keeps alive, and follows every replica's key through the store's watch
// (Part), so that status and the page show a replica that died as dead.
type replicas struct {
	prefix, name string
	log          *slog.Logger
	now          func() time.Time

	mu   sync.Mutex
	seen map[string]apiv1.ReplicaState
	url  string
}

func newReplicas(keys lock.Keys, name string, log *slog.Logger) *replicas {
	return &replicas{prefix: keys.Replicas(), name: name, log: log, now: time.Now, seen: map[string]apiv1.ReplicaState{}}
}

// Part follows the replicas' keys in the store's cache.
func (r *replicas) Part() lock.Part {
	return lock.Part{Prefix: r.prefix, Reset: r.reset, Put: r.put, Del: r.del}
}

func (r *replicas) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A reload keeps what it knew of the dead; the live are listed anew.
	for name, st := range r.seen {
		if st.State == "alive" {
			delete(r.seen, name)
		}
	}
}

func (r *replicas) put(kv *mvccpb.KeyValue) *lock.Change {
	var rec replicaRecord
	if json.Unmarshal(kv.Value, &rec) != nil {
		return nil // a record of another version: not shown
	}
	name := strings.TrimPrefix(string(kv.Key), r.prefix)
	st := apiv1.ReplicaState{Name: name, URL: rec.URL, State: "alive", Since: rec.Started}
	if rec.Stopped {
		st.State, st.Since = "stopped", r.now().UTC()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[name] = st
	return nil
}

func (r *replicas) del(kv *mvccpb.KeyValue) *lock.Change {
	name := strings.TrimPrefix(string(kv.Key), r.prefix)
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.seen[name]
	if !ok || st.State == "stopped" {
		return nil
	}
	// Only etcd's expiry deletes a live replica's key: it stopped renewing.
	st.State, st.Since = "dead", r.now().UTC()
	r.seen[name] = st
	r.log.Warn("replica is dead: its registration expired", "replica", name, "url", st.URL)
	return nil
}

// States lists the replicas, this one first, then by name.
func (r *replicas) States() []apiv1.ReplicaState {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]apiv1.ReplicaState, 0, len(r.seen))
	for name, st := range r.seen {
		if st.State != "alive" && now.Sub(st.Since) > keepDead {
			delete(r.seen, name)
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == r.name) != (out[j].Name == r.name) {
			return out[i].Name == r.name
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// run keeps this replica registered until ctx ends, then marks it stopped
// and drops the lease, so that its peers show a clean stop, not a death.
func (r *replicas) run(ctx context.Context, cli *clientv3.Client, url string) {
	rec, _ := json.Marshal(replicaRecord{URL: url, Started: r.now().UTC()})
	key := r.prefix + r.name
	var lease clientv3.LeaseID
	defer func() {
		if lease == 0 {
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		stopped, _ := json.Marshal(replicaRecord{URL: url, Started: r.now().UTC(), Stopped: true})
		_, _ = cli.Put(sctx, key, string(stopped), clientv3.WithLease(lease))
		_, _ = cli.Revoke(sctx, lease)
	}()
	for ctx.Err() == nil {
		id, acks, err := register(ctx, cli, key, string(rec))
		if err != nil {
			r.log.Debug("replica registration failed; retrying", "err", err)
		} else {
			lease = id
			for range acks { // drained until the keepalive ends (ctx, or the lease lost)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// register puts key on a fresh lease and keeps it alive.
func register(ctx context.Context, cli *clientv3.Client, key, val string) (clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	g, err := cli.Grant(cctx, replicaTTL)
	if err != nil {
		return 0, nil, err
	}
	if _, err := cli.Put(cctx, key, val, clientv3.WithLease(g.ID)); err != nil {
		return 0, nil, err
	}
	acks, err := cli.KeepAlive(ctx, g.ID)
	if err != nil {
		return 0, nil, err
	}
	if acks == nil {
		return 0, nil, errors.New("no keepalive")
	}
	return g.ID, acks, nil
}
