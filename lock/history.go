package lock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// HistoryQuery filters the history. Zero fields match everything.
type HistoryQuery struct {
	Scope  Scope
	Kind   Kind
	Actor  string
	Action Action
	// HoldID keeps the events of one hold.
	HoldID string
	Since  time.Time
	Until  time.Time
	// Limit is the page size: 50 by default, at most 1000.
	Limit int
	// Cursor continues from a previous page's Next.
	Cursor string
}

// HistoryPage is one page of events, newest first.
type HistoryPage = apiv1.HistoryPage

// MaxHistoryLimit is the largest page.
const MaxHistoryLimit = apiv1.MaxHistoryLimit

const (
	// HistoryScanBudget is how many events one query examines at most
	// before it answers with what it found and a cursor: a filter no index
	// serves costs a bounded read, never a read of the whole history.
	HistoryScanBudget = 2000
	// maxTxnOps stays within etcd's default --max-txn-ops (128).
	maxTxnOps = 128
)

// HistoryOps are the writes that append e to the history. Every writer of
// events uses them.
//
// An event is one key. Indexes by hold and actor (layout 2) cost two more
// keys per event, and etcd keeps every key in its in-memory index
// (about 200 bytes each): at the default retention they doubled the
// service's memory. Filters scan instead, at most HistoryScanBudget
// events per request, and answer with a cursor.
func HistoryOps(keys Keys, e Event) ([]clientv3.Op, error) {
	val, err := encodeStoredEvent(e)
	if err != nil {
		return nil, err
	}
	return []clientv3.Op{clientv3.OpPut(keys.HistoryEvent(e.Time, e.ID), string(val))}, nil
}

// eventOps gives e an ID and the time now where it has none, and returns
// the operations that append it to the history.
func (s *Store) eventOps(e *Event) ([]clientv3.Op, error) {
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	return HistoryOps(s.keys, *e)
}

// AppendEvents writes events to the history in as few transactions as
// etcd allows, for imports and load tests, and returns once the cache has
// them. Events without an ID or a time get them.
func (s *Store) AppendEvents(ctx context.Context, events []Event) error {
	var ops []clientv3.Op
	var rev int64
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return unavailable("append events", err)
		}
		rev, ops = resp.Header.Revision, ops[:0]
		return nil
	}
	for _, e := range events {
		eops, err := s.eventOps(&e)
		if err != nil {
			return err
		}
		if len(ops)+len(eops) > maxTxnOps {
			if err := flush(); err != nil {
				return err
			}
		}
		ops = append(ops, eops...)
	}
	if err := flush(); err != nil {
		return err
	}
	return s.WaitRevision(ctx, rev)
}

var cursorPattern = regexp.MustCompile(`^[0-9]{19}-[0-9A-Za-z_.-]{1,128}$`)

// History returns the events matching q, newest first. It reads about as
// many keys as it returns without a filter (a time range is not a filter:
// it narrows the key range), and at most HistoryScanBudget events with
// one; a page that stopped there carries a cursor. (A hold filter cannot
// stop at the hold's creation: the gate's holds reuse their ids.) Live
// events and archive chunks are read at one revision and merged by
// position (historyscan.go); a chunk counts as the events examined in it.
func (s *Store) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 0 || q.Limit > MaxHistoryLimit {
		return HistoryPage{}, invalid("limit", "must be between 1 and %d", MaxHistoryLimit)
	}
	if q.Cursor != "" && !cursorPattern.MatchString(q.Cursor) {
		return HistoryPage{}, invalid("cursor", "is not a cursor from this history")
	}
	if q == (HistoryQuery{Limit: q.Limit}) {
		// The newest page comes from the cache, once it is confirmed to
		// hold every event etcd acknowledged (one read shared by all).
		if err := s.Sync(ctx); err != nil {
			return HistoryPage{}, err
		}
		if page, ok := s.recentPage(q); ok {
			return page, nil
		}
	}
	r := &historyRange{after: q.Cursor}
	if !q.Until.IsZero() {
		r.from = historyStamp(q.Until)
	}
	if !q.Since.IsZero() && q.Since.UnixNano() > 0 {
		r.end = historyStamp(q.Since.Add(-time.Nanosecond))
	}
	filtered := q.Scope != "" || q.Kind != "" || q.Actor != "" || q.Action != "" || q.HoldID != ""
	needles := q.filterNeedles()

	page := HistoryPage{Events: []Event{}}
	scanned, last := 0, ""
	live := newLiveScan(s, r, func() int {
		batch := q.Limit - len(page.Events) + 1
		if filtered {
			batch = max(batch, 256)
		}
		return min(batch, HistoryScanBudget-scanned, 500)
	})
	archived := newArchiveScan(s, r)
	for {
		if scanned >= HistoryScanBudget {
			page.Next = last // a step that ends on the last event may not know it
			break
		}
		next, fromArchive, err := nextStored(ctx, live, archived)
		if err != nil {
			return HistoryPage{}, err
		}
		if next == "" {
			break
		}
		if len(page.Events) == q.Limit {
			page.Next = last // and next shows there is more
			break
		}
		var e storedEntry
		if fromArchive {
			var ok bool
			if e, ok, err = archived.take(ctx); err != nil {
				return HistoryPage{}, err
			} else if !ok {
				continue
			}
		} else {
			e = live.buf[0]
			live.pop()
		}
		scanned++
		last = e.pos
		if filtered && !q.matchesRaw(e.val, needles) {
			continue
		}
		ev, err := decodeStoredEvent(e.pos, e.val, e.rev)
		if err != nil {
			continue
		}
		if q.matches(ev) {
			page.Events = append(page.Events, ev)
		}
	}
	page.Revision = r.rev
	return page, nil
}

// nextStored is the position of the next event of the merged history, ""
// at the end, and whether it is archived.
func nextStored(ctx context.Context, live *liveScan, archived *archiveScan) (string, bool, error) {
	ap, chunkOldest, err := archived.peekChunk(ctx)
	if err != nil {
		return "", false, err
	}
	bound := ""
	if ap != "" {
		bound = chunkOldest + "\x00" // live events among the chunk's, or newer
	}
	le, err := live.peek(ctx, bound)
	if err != nil {
		return "", false, err
	}
	switch {
	case le != nil && (ap == "" || le.pos < ap):
		return le.pos, false, nil
	case ap != "":
		return ap, true, nil
	}
	return "", false, nil
}

// firstHistoryWindow is the span of time a query reads first. etcd counts
// every key of a range it is asked for, whatever the limit, so a query
// reads growing windows of time instead of the whole rest of the history.
const firstHistoryWindow = int64(15 * time.Minute)

// windowEnd is the end of the window of span nanoseconds (of event time,
// older) that starts at from, within end.
func (s *Store) windowEnd(prefix, from, end string, span int64) string {
	base := int64(math.MaxInt64) - max(s.now().UnixNano(), 0)
	if rest := strings.TrimPrefix(from, prefix); len(rest) >= 19 {
		if v, err := strconv.ParseInt(rest[:19], 10, 64); err == nil {
			base = v
		}
	}
	if base > math.MaxInt64-span {
		return end
	}
	return min(end, fmt.Sprintf("%s%019d", prefix, base+span))
}

// positionOf is the HistoryPosition a history or index key ends in.
func positionOf(key []byte) []byte {
	i := strings.LastIndexByte(string(key), '/')
	return key[i+1:]
}

// eventFilterFields are the fields filters look at: decoding only them
// makes a scan that rejects most events several times cheaper.
type eventFilterFields struct {
	Actor  string `json:"actor"`
	Action Action `json:"action"`
	Scope  Scope  `json:"scope"`
	Kind   Kind   `json:"kind"`
	Hold   *struct {
		ID string `json:"id"`
	} `json:"hold"`
}

// filterNeedles are the JSON strings a stored event must contain to match
// q: each filtered value as the encoder that stored the event wrote it.
func (q HistoryQuery) filterNeedles() [][]byte {
	var needles [][]byte
	for _, v := range []string{string(q.Scope), string(q.Kind), q.Actor, string(q.Action), q.HoldID} {
		if v != "" {
			b, _ := json.Marshal(v)
			needles = append(needles, b)
		}
	}
	return needles
}

// matchesRaw is matches on a stored event, decoding only what it needs;
// false when it cannot be decoded. An event whose bytes lack one of
// needles (filterNeedles) cannot match and is not decoded at all: a scan
// that matches nothing is mostly byte searches.
func (q HistoryQuery) matchesRaw(val []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(val, n) {
			return false
		}
	}
	var f eventFilterFields
	if json.Unmarshal(val, &f) != nil {
		return false
	}
	e := Event{Actor: f.Actor, Action: f.Action, Scope: f.Scope, Kind: f.Kind}
	if f.Hold != nil {
		e.Hold = &Hold{ID: f.Hold.ID}
	}
	return q.matches(e)
}

func (q HistoryQuery) matches(e Event) bool {
	return (q.Scope == "" || e.Scope == q.Scope) &&
		(q.Kind == "" || e.Kind == q.Kind) &&
		(q.Actor == "" || e.Actor == q.Actor) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.HoldID == "" || (e.Hold != nil && e.Hold.ID == q.HoldID))
}

// pruneBatch bounds the events one sweep deletes, so a lowered retention
// is caught up over a few sweeps instead of in one long one.
const pruneBatch = 10000

// prune enforces the retention: events older than MaxAge go, then the
// oldest beyond MaxCount. Archive chunks go whole, oldest first: a chunk
// goes by age once its newest event is past MaxAge, and by count only
// while the excess is at least its count, so retention is approximate to
// one chunk (up to archiveChunkSize events).
func (s *Store) prune(ctx context.Context) error {
	if s.retention.MaxAge > 0 {
		stamp := historyStamp(s.now().Add(-s.retention.MaxAge - time.Nanosecond))
		if err := s.pruneChunksByAge(ctx, stamp); err != nil {
			return fmt.Errorf("prune history archive by age: %w", err)
		}
		if err := s.deleteOldest(ctx, s.keys.History()+stamp, pruneBatch); err != nil {
			return fmt.Errorf("prune history by age: %w", err)
		}
	}
	if s.retention.MaxCount > 0 {
		if err := s.pruneByCount(ctx); err != nil {
			return fmt.Errorf("prune history by count: %w", err)
		}
	}
	return nil
}

// pruneChunksByAge deletes the chunks whose newest event sorts at or past
// stamp (is older than the age limit).
func (s *Store) pruneChunksByAge(ctx context.Context, stamp string) error {
	archive := s.keys.HistoryArchive()
	end := clientv3.GetPrefixRangeEnd(archive)
	// Chunks sort by their oldest event: the first whose oldest is past
	// the limit may straddle it; every later one is wholly past it.
	resp, err := s.cli.Get(ctx, archive+stamp, clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(2))
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		c, err := parseChunkKey(archive, kv.Key)
		if err != nil {
			return err
		}
		if c.newest >= stamp {
			_, err := s.cli.Delete(ctx, c.key, clientv3.WithRange(end))
			return err
		}
	}
	return nil
}

// pruneByCount deletes the oldest events beyond MaxCount, counting the
// live ones and those the chunks' keys say they hold.
func (s *Store) pruneByCount(ctx context.Context) error {
	archive := s.keys.HistoryArchive()
	keys, err := s.cli.Get(ctx, archive, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return err
	}
	count, err := s.cli.Get(ctx, s.keys.History(), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(keys.Header.Revision))
	if err != nil {
		return err
	}
	var chunks []chunkInfo
	total := count.Count
	for _, kv := range keys.Kvs {
		c, err := parseChunkKey(archive, kv.Key)
		if err != nil {
			return err
		}
		chunks, total = append(chunks, c), total+int64(c.count)
	}
	excess := total - int64(s.retention.MaxCount)
	from := ""
	for len(chunks) > 0 && excess >= int64(chunks[len(chunks)-1].count) {
		c := chunks[len(chunks)-1]
		chunks, excess, from = chunks[:len(chunks)-1], excess-int64(c.count), c.key
	}
	if from != "" {
		if _, err := s.cli.Delete(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(archive))); err != nil {
			return err
		}
	}
	if len(chunks) > 0 || excess <= 0 {
		return nil // older chunks first; what is left is less than the oldest
	}
	excess = min(excess, pruneBatch)
	cut, err := s.oldest(ctx, excess, count.Header.Revision)
	if err != nil {
		return err
	}
	return s.deleteOldest(ctx, cut, int(excess))
}

// oldest finds the history key from which at most n events remain to the
// end of the range (the n oldest) at rev (0: the current revision), by
// bisecting the time stamp on counts:
// etcd counts a range from its in-memory index, and reading the oldest
// events directly would mean a descending read of everything.
func (s *Store) oldest(ctx context.Context, n, rev int64) (string, error) {
	end := clientv3.GetPrefixRangeEnd(s.keys.History())
	newest, err := s.cli.Get(ctx, s.keys.History(), clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(1), clientv3.WithRev(rev))
	if err != nil || len(newest.Kvs) == 0 {
		return end, err
	}
	stamp := string(positionOf(newest.Kvs[0].Key))
	lo, err := strconv.ParseInt(stamp[:min(19, len(stamp))], 10, 64)
	if err != nil {
		return end, fmt.Errorf("history key %q: %w", newest.Kvs[0].Key, err)
	}
	if rev == 0 {
		rev = newest.Header.Revision // a header tells the current revision, not the one read
	}
	hi := int64(math.MaxInt64)
	at := func(v int64) string { return fmt.Sprintf("%s%019d", s.keys.History(), v) }
	// Invariant: more than n events from lo on, at most n from hi on.
	for lo < hi-1 {
		mid := lo + (hi-lo)/2
		c, err := s.cli.Get(ctx, at(mid), clientv3.WithRange(end), clientv3.WithCountOnly(), clientv3.WithRev(rev))
		if err != nil {
			return end, err
		}
		if c.Count > n {
			lo = mid
		} else {
			hi = mid
		}
	}
	return at(hi), nil
}

// deleteOldest deletes up to n events from key from to the end of the
// history: it finds the nth key and deletes the range up to it.
func (s *Store) deleteOldest(ctx context.Context, from string, n int) error {
	end := clientv3.GetPrefixRangeEnd(s.keys.History())
	for n > 0 {
		resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(int64(min(n, 5000))))
		if err != nil || len(resp.Kvs) == 0 {
			return err
		}
		upTo := string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if _, err := s.cli.Delete(ctx, from, clientv3.WithRange(upTo)); err != nil {
			return err
		}
		n -= len(resp.Kvs)
		if !resp.More {
			return nil
		}
		from = upTo
	}
	return nil
}
