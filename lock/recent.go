package lock

import (
	"context"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// recentCap is how many of the newest events the cache keeps: every
// unfiltered first page (the status page's, the CLI's) is served from
// memory, as the holds are.
const recentCap = MaxHistoryLimit

// recentEvent is a cached event with its position (its key's order).
type recentEvent struct {
	pos string
	ev  Event
}

// recent are the newest events, newest first, fed by the watch. complete
// says they are the whole history (fewer than recentCap exist).
type recent struct {
	events   []recentEvent
	complete bool
}

// put adds an event at its place, dropping the oldest past recentCap.
func (r *recent) put(pos string, e Event) {
	i, found := slices.BinarySearchFunc(r.events, pos, func(x recentEvent, p string) int { return strings.Compare(x.pos, p) })
	if found {
		r.events[i].ev = e
		return
	}
	if i >= recentCap {
		r.complete = false
		return // older than everything kept
	}
	r.events = slices.Insert(r.events, i, recentEvent{pos: pos, ev: e})
	if len(r.events) > recentCap {
		r.events = r.events[:recentCap]
		r.complete = false
	}
}

// del drops a pruned event.
func (r *recent) del(pos string) {
	if i, found := slices.BinarySearchFunc(r.events, pos, func(x recentEvent, p string) int { return strings.Compare(x.pos, p) }); found {
		r.events = slices.Delete(r.events, i, i+1)
	}
}

// page is the newest limit events and the cursor after them, if the cache
// can answer: it holds limit events, or the whole history.
func (r *recent) page(limit int) (events []Event, next string, ok bool) {
	if len(r.events) < limit && !r.complete {
		return nil, "", false
	}
	n := min(limit, len(r.events))
	events = make([]Event, n)
	for i := range n {
		events[i] = r.events[i].ev
	}
	if n > 0 && (len(r.events) > n || !r.complete) {
		next = r.events[n-1].pos
	}
	return events, next, true
}

// loadRecent reads the newest events at rev into a fresh recent.
func (s *Store) loadRecent(ctx context.Context, rev int64) (recent, error) {
	resp, err := s.cli.Get(ctx, s.keys.History(), clientv3.WithPrefix(), clientv3.WithLimit(recentCap), clientv3.WithRev(rev))
	if err != nil {
		return recent{}, unavailable("load recent history", err)
	}
	r := recent{complete: !resp.More}
	if r.complete {
		// Archived events are history too.
		chunks, err := s.cli.Get(ctx, s.keys.HistoryArchive(), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(rev))
		if err != nil {
			return recent{}, unavailable("load recent history", err)
		}
		r.complete = chunks.Count == 0
	}
	for _, kv := range resp.Kvs {
		if pos, e, ok := s.decodeEvent(kv); ok {
			r.events = append(r.events, recentEvent{pos: pos, ev: e})
		}
	}
	return r, nil
}

// decodeEvent reads a history key-value: its position and its event.
func (s *Store) decodeEvent(kv *mvccpb.KeyValue) (string, Event, bool) {
	pos := strings.TrimPrefix(string(kv.Key), s.keys.History())
	e, err := decodeStoredEvent(pos, kv.Value, kv.ModRevision)
	if err != nil {
		s.log.Warn("unreadable history event", "key", string(kv.Key), "err", err)
		return "", Event{}, false
	}
	return pos, e, true
}

// recentPage serves an unfiltered first page from the cache when it can.
func (s *Store) recentPage(q HistoryQuery) (HistoryPage, bool) {
	if q != (HistoryQuery{Limit: q.Limit}) {
		return HistoryPage{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	events, next, ok := s.recent.page(q.Limit)
	if !ok {
		return HistoryPage{}, false
	}
	return HistoryPage{Events: events, Next: next, Revision: s.rev}, true
}
