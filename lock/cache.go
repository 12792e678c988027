package lock

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cachePart is one prefix of the watched keys: how the cache keeps its
// keys and what subscribers are told when one changes. put and del run
// under s.mu and return the change to announce, nil for none.
type cachePart struct {
	prefix string
	put    func(kv *mvccpb.KeyValue) *Change
	del    func(kv *mvccpb.KeyValue) *Change
	// streamOnly parts (the history) are announced, never loaded.
	streamOnly bool
}

// parts is the one table of what the cache follows; load and apply both
// dispatch through it.
func (s *Store) parts() []cachePart {
	return []cachePart{
		{prefix: s.keys.Holds(), put: s.putHold, del: s.delHold},
		{prefix: s.keys.Health(), put: s.putHealth, del: s.delHealth},
		{prefix: s.keys.Samples(), put: s.putSamples, del: s.delSamples},
		{prefix: s.keys.Queue(), put: s.putQueued, del: s.delQueued},
		{prefix: s.keys.Election(), put: s.putCandidate, del: s.delCandidate},
		{prefix: s.keys.History(), put: s.putEvent, del: func(*mvccpb.KeyValue) *Change { return nil }, streamOnly: true},
	}
}

// load replaces the cache with a consistent snapshot of the watched keys.
func (s *Store) load(ctx context.Context) error {
	var rev int64
	loaded := map[string][]*mvccpb.KeyValue{}
	for _, p := range s.parts() {
		if p.streamOnly {
			continue
		}
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, p.prefix, opts...)
		if err != nil {
			return unavailable("load "+p.prefix, err)
		}
		rev = resp.Header.Revision
		loaded[p.prefix] = resp.Kvs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds, s.health, s.queue, s.candidates = map[string]Hold{}, map[string]apiv1.ClusterHealth{}, map[string]queued{}, map[string]candidate{}
	s.samples = map[string]map[string]map[apiv1.Signal][]apiv1.Point{}
	for _, p := range s.parts() {
		for _, kv := range loaded[p.prefix] {
			p.put(kv)
		}
	}
	s.rev = rev
	s.notifyLocked()
	return nil
}

// apply brings the cache to rev with the watched events and tells every
// subscriber what changed.
func (s *Store) apply(events []*clientv3.Event, rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := s.parts()
	var changes []Change
	for _, ev := range events {
		key := string(ev.Kv.Key)
		i := slices.IndexFunc(parts, func(p cachePart) bool { return strings.HasPrefix(key, p.prefix) })
		if i < 0 {
			continue
		}
		var c *Change
		if ev.Type == clientv3.EventTypePut {
			c = parts[i].put(ev.Kv)
		} else {
			c = parts[i].del(ev.Kv)
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	if rev > s.rev {
		s.rev = rev
	}
	for _, c := range changes {
		for ch := range s.subs {
			select {
			case ch <- c:
			default: // a subscriber that cannot keep up is dropped; it reconnects
				close(ch)
				delete(s.subs, ch)
			}
		}
	}
	s.notifyLocked()
}

func decodeHold(kv *mvccpb.KeyValue) (Hold, error) {
	var h Hold
	if err := json.Unmarshal(kv.Value, &h); err != nil {
		return Hold{}, err
	}
	h.Revision = kv.ModRevision
	return h, nil
}

func (s *Store) putHold(kv *mvccpb.KeyValue) *Change {
	if h, err := decodeHold(kv); err == nil {
		s.holds[h.ID] = h
	} else {
		s.log.Warn("skipping undecodable hold", "key", string(kv.Key), "err", err)
	}
	return nil // the history event that comes with every hold change tells
}

func (s *Store) delHold(kv *mvccpb.KeyValue) *Change {
	id := strings.TrimPrefix(string(kv.Key), s.keys.Holds())
	delete(s.holds, id)
	select {
	case s.expired <- id:
	default: // the sweep will find it
	}
	return nil
}

func (s *Store) putHealth(kv *mvccpb.KeyValue) *Change {
	cluster := strings.TrimPrefix(string(kv.Key), s.keys.Health())
	var r apiv1.ClusterHealth
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		s.log.Warn("skipping undecodable health report", "key", string(kv.Key), "err", err)
		return nil
	}
	s.health[cluster] = r
	return &Change{Type: apiv1.ChangeHealth, Cluster: cluster, Health: &r, Revision: kv.ModRevision}
}

func (s *Store) delHealth(kv *mvccpb.KeyValue) *Change {
	cluster := strings.TrimPrefix(string(kv.Key), s.keys.Health())
	delete(s.health, cluster)
	return &Change{Type: apiv1.ChangeHealth, Cluster: cluster, Revision: kv.ModRevision}
}

// putSamples appends one evaluation's values to the cluster's recent
// samples, keeping the last apiv1.MaxRecentSamples of each signal.
func (s *Store) putSamples(kv *mvccpb.KeyValue) *Change {
	var smp apiv1.Samples
	if err := json.Unmarshal(kv.Value, &smp); err != nil {
		s.log.Warn("skipping undecodable samples", "key", string(kv.Key), "err", err)
		return nil
	}
	cluster := strings.TrimPrefix(string(kv.Key), s.keys.Samples())
	smp.Cluster = cluster
	hosts := s.samples[cluster]
	if hosts == nil {
		hosts = map[string]map[apiv1.Signal][]apiv1.Point{}
		s.samples[cluster] = hosts
	}
	for _, h := range smp.Hosts {
		sigs := hosts[h.Host]
		if sigs == nil {
			sigs = map[apiv1.Signal][]apiv1.Point{}
			hosts[h.Host] = sigs
		}
		for sig, v := range h.Values {
			pts := append(sigs[sig], apiv1.Point{At: smp.At, Value: v})
			if len(pts) > apiv1.MaxRecentSamples {
				// A fresh slice: readers hold copies of the old one.
				pts = slices.Clone(pts[len(pts)-apiv1.MaxRecentSamples:])
			}
			sigs[sig] = pts
		}
	}
	return &Change{Type: apiv1.ChangeSamples, Cluster: cluster, Samples: &smp, Revision: kv.ModRevision}
}

func (s *Store) delSamples(kv *mvccpb.KeyValue) *Change {
	delete(s.samples, strings.TrimPrefix(string(kv.Key), s.keys.Samples()))
	return nil
}

func (s *Store) putQueued(kv *mvccpb.KeyValue) *Change {
	s.queue[string(kv.Key)] = queued{scope: Scope(kv.Value), createRev: kv.CreateRevision}
	return nil
}

func (s *Store) delQueued(kv *mvccpb.KeyValue) *Change {
	delete(s.queue, string(kv.Key))
	return nil
}

// The election's candidates are cached so that every replica can name the
// gate's leader: the candidate with the lowest create revision, as
// concurrency.Election decides.
func (s *Store) putCandidate(kv *mvccpb.KeyValue) *Change {
	before := s.leaderLocked()
	s.candidates[string(kv.Key)] = candidate{createRev: kv.CreateRevision, name: string(kv.Value)}
	return s.leaderChange(before, kv.ModRevision)
}

func (s *Store) delCandidate(kv *mvccpb.KeyValue) *Change {
	before := s.leaderLocked()
	delete(s.candidates, string(kv.Key))
	return s.leaderChange(before, kv.ModRevision)
}

func (s *Store) leaderChange(before string, rev int64) *Change {
	if after := s.leaderLocked(); after != before {
		return &Change{Type: apiv1.ChangeLeader, Leader: after, Revision: rev}
	}
	return nil
}

func (s *Store) leaderLocked() string {
	best := candidate{}
	for _, c := range s.candidates {
		if best.createRev == 0 || c.createRev < best.createRev {
			best = c
		}
	}
	return best.name
}

func (s *Store) putEvent(kv *mvccpb.KeyValue) *Change {
	var e Event
	if err := json.Unmarshal(kv.Value, &e); err != nil {
		return nil
	}
	e.Revision = kv.ModRevision
	return &Change{Type: apiv1.ChangeEvent, Event: &e, Revision: e.Revision}
}

// RecentSamples are the cached recent values of every cluster, host and
// signal, oldest first.
func (s *Store) RecentSamples() apiv1.SamplesResponse {
	s.mu.RLock()
	defer s.mu.RUnlock()
	resp := apiv1.SamplesResponse{Revision: s.rev, Clusters: make(map[string]map[string]map[apiv1.Signal][]apiv1.Point, len(s.samples))}
	for cluster, hosts := range s.samples {
		c := make(map[string]map[apiv1.Signal][]apiv1.Point, len(hosts))
		for host, sigs := range hosts {
			c[host] = maps.Clone(sigs) // the point slices are never changed in place
		}
		resp.Clusters[cluster] = c
	}
	return resp
}
