package lock

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Part is one prefix of the watched keys: how a cache keeps its keys and
// what subscribers are told when one changes. The store has its own parts
// (holds, the deploy queue, the history); other packages add theirs with
// Options.Parts (the gate's reports, samples and election), so one watch
// and one revision serve them all.
//
// Reset, Put and Del are called with the store's lock held, in revision
// order: Reset (may be nil) before a full load, then Put for every key the
// load finds; Put and Del for every later change. They return the change
// to announce, nil for none.
type Part struct {
	Prefix string
	Reset  func()
	Put    func(kv *mvccpb.KeyValue) *Change
	Del    func(kv *mvccpb.KeyValue) *Change
	// StreamOnly parts (the history) are announced, never loaded.
	StreamOnly bool
}

// parts is the one table of what the cache follows; load and apply both
// dispatch through it.
func (s *Store) parts() []Part {
	return append([]Part{
		{Prefix: s.keys.Holds(), Put: s.putHold, Del: s.delHold},
		{Prefix: s.keys.Queue(), Put: s.putQueued, Del: s.delQueued},
		{Prefix: s.keys.Bridges(), Put: s.putBridge, Del: s.delBridge},
		{Prefix: s.keys.History(), Put: s.putEvent, Del: s.delEvent, StreamOnly: true},
	}, s.extra...)
}

// load replaces the cache with a consistent snapshot of the watched keys.
func (s *Store) load(ctx context.Context) error {
	var rev int64
	loaded := map[string][]*mvccpb.KeyValue{}
	for _, p := range s.parts() {
		if p.StreamOnly {
			continue
		}
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, p.Prefix, opts...)
		if err != nil {
			return unavailable("load "+p.Prefix, err)
		}
		rev = resp.Header.Revision
		loaded[p.Prefix] = resp.Kvs
	}
	recent, err := s.loadRecent(ctx, rev)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds, s.queue, s.recent, s.bridges = newHoldIndex(), map[string]queued{}, recent, map[string]Bridge{}
	for _, p := range s.parts() {
		if p.Reset != nil {
			p.Reset()
		}
		for _, kv := range loaded[p.Prefix] {
			p.Put(kv)
		}
	}
	s.rev = rev
	// A reload (after a compaction the watch missed) leaves a gap in what
	// subscribers were told: they are let go, as a subscriber that cannot
	// keep up is, and reconnect to a fresh state.
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
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
		i := slices.IndexFunc(parts, func(p Part) bool { return strings.HasPrefix(key, p.Prefix) })
		if i < 0 {
			continue
		}
		var c *Change
		if ev.Type == clientv3.EventTypePut {
			c = parts[i].Put(ev.Kv)
		} else {
			c = parts[i].Del(ev.Kv)
		}
		if c != nil {
			changes = append(changes, *c)
		}
	}
	if rev > s.rev {
		s.rev = rev
	}
	for _, c := range changes {
		c := c.Shared()
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
		s.holds.put(h)
	} else {
		s.log.Warn("skipping undecodable hold", "key", string(kv.Key), "err", err)
	}
	return nil // the history event that comes with every hold change tells
}

func (s *Store) delHold(kv *mvccpb.KeyValue) *Change {
	id := strings.TrimPrefix(string(kv.Key), s.keys.Holds())
	s.holds.del(id)
	select {
	case s.expired <- id:
	default: // the sweep will find it
	}
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

func (s *Store) putEvent(kv *mvccpb.KeyValue) *Change {
	pos, e, ok := s.decodeEvent(kv)
	if !ok {
		return nil
	}
	e.Revision = kv.ModRevision
	s.recent.put(pos, e)
	return &Change{Type: apiv1.ChangeEvent, Event: &e, Revision: e.Revision}
}

func (s *Store) delEvent(kv *mvccpb.KeyValue) *Change {
	s.recent.del(strings.TrimPrefix(string(kv.Key), s.keys.History()))
	return nil
}
