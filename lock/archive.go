package lock

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The history keeps its newest events one key each (the watch, the event
// stream and the cache's newest page follow them) and folds older ones
// into archive chunks: up to archiveChunkSize events in one gzip-compressed
// key. etcd keeps about 200 bytes of index in the heap for every key and
// maps its whole database into memory, so 100,000 events cost about 100
// keys and a few MB instead of 100,000 keys and about 50 MB.
//
// A chunk is named <oldest position>!<newest position>!<count> (see
// Keys.HistoryChunk); its value is the gzip of one line per event, newest
// first: "<position> <revision> <stored event>". Chunks are disjoint in
// position order.

const (
	// archiveChunkSize is the most events one chunk holds.
	archiveChunkSize = 1000
	// archiveKeepLive is how many of the newest events stay live; at least
	// recentCap, which the cache serves from memory.
	archiveKeepLive = 2 * recentCap
	// archiveMinAge keeps newer events live whatever their number, so that
	// a replica's clock skew or a slow commit rarely makes a new event sort
	// among archived ones (one that does is read in its place, and folded
	// into the chunk whose span it falls in). Short, because every live key
	// counts: under heavy churn (560 events/s in the soak) 30 s of live
	// events are tens of thousands of keys, and the database file keeps its
	// largest size mapped into memory.
	archiveMinAge = 10 * time.Second
	// archiveSweepChunks bounds the chunks one sweep writes (20,000 events
	// every 10 s by default): a long backlog (an import) is caught up over
	// a few sweeps.
	archiveSweepChunks = 20
	// maxChunkBytes stays well within etcd's 1.5 MiB request limit.
	maxChunkBytes = 1 << 20
)

// chunkInfo is what a chunk's key says of it.
type chunkInfo struct {
	key            string
	oldest, newest string
	count          int
}

// parseChunkKey reads a chunk's key under prefix.
func parseChunkKey(prefix string, key []byte) (chunkInfo, error) {
	parts := strings.Split(strings.TrimPrefix(string(key), prefix), "!")
	if len(parts) != 3 {
		return chunkInfo{}, fmt.Errorf("history chunk key %q: want oldest!newest!count", key)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 || parts[0] < parts[1] {
		return chunkInfo{}, fmt.Errorf("history chunk key %q: bad count or order", key)
	}
	return chunkInfo{key: string(key), oldest: parts[0], newest: parts[1], count: n}, nil
}

// storedEntry is one event as the history stores it: its position, its
// revision and its stored form (encodeStoredEvent).
type storedEntry struct {
	pos string
	rev int64
	val []byte
}

// encodeChunk is the stored form of entries, newest first.
func encodeChunk(entries []storedEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, e := range entries {
		if bytes.IndexByte(e.val, '\n') >= 0 {
			return nil, fmt.Errorf("history event %s: stored form has a newline", e.pos)
		}
		fmt.Fprintf(zw, "%s %d %s\n", e.pos, e.rev, e.val)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeChunk reads a chunk's value back into its entries, newest first.
func decodeChunk(val []byte) ([]storedEntry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(val))
	if err != nil {
		return nil, fmt.Errorf("history chunk: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("history chunk: %w", err)
	}
	var entries []storedEntry
	for line := range bytes.Lines(raw) {
		pos, rest, ok1 := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(" "))
		rev, val, ok2 := bytes.Cut(rest, []byte(" "))
		n, err := strconv.ParseInt(string(rev), 10, 64)
		if !ok1 || !ok2 || err != nil {
			return nil, fmt.Errorf("history chunk: unreadable line %.40q", line)
		}
		entries = append(entries, storedEntry{pos: string(pos), rev: n, val: val})
	}
	return entries, nil
}

// ArchiveHistory folds every event past the newest live ones (and older
// than archiveMinAge) into archive chunks, as the sweep does a few chunks
// at a time, and returns how many it folded. An import calls it once done.
func (s *Store) ArchiveHistory(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.archive(ctx, archiveSweepChunks)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// archive writes up to maxChunks chunks of the oldest live events and
// returns how many events it folded. Every replica runs it: each chunk is
// committed only if nothing in its range of events, and no chunk, changed
// since they were read, so concurrent archivers never lose or duplicate an
// event (the loser tries again at its next sweep).
func (s *Store) archive(ctx context.Context, maxChunks int) (int, error) {
	prefix := s.keys.History()
	count, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	excess := count.Count - archiveKeepLive
	if excess < archiveChunkSize {
		return 0, nil
	}
	n := min(excess, int64(maxChunks*archiveChunkSize)) / archiveChunkSize * archiveChunkSize
	from, err := s.oldest(ctx, n, count.Header.Revision) // the n oldest of those counted
	if err != nil {
		return 0, err
	}
	from = max(from, prefix+historyStamp(s.now().Add(-archiveMinAge)))
	end := clientv3.GetPrefixRangeEnd(prefix)
	folded := 0
	for range maxChunks {
		n, next, err := s.archiveChunk(ctx, from, end)
		if err != nil || next == "" {
			return folded + n, err
		}
		folded, from = folded+n, next
	}
	return folded, nil
}

// archiveChunk folds up to archiveChunkSize live events from key from on
// into one chunk, and returns how many it folded and where the next chunk
// starts ("" at the end). Events that fall within an existing chunk's span
// (stragglers) are folded into that chunk: chunks stay disjoint.
func (s *Store) archiveChunk(ctx context.Context, from, end string) (int, string, error) {
	prefix, archive := s.keys.History(), s.keys.HistoryArchive()
	resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(archiveChunkSize))
	if err != nil || len(resp.Kvs) == 0 {
		return 0, "", err
	}
	rev := resp.Header.Revision
	kvs := resp.Kvs
	next := ""
	if resp.More {
		next = string(kvs[len(kvs)-1].Key) + "\x00"
	}
	// The first chunk whose oldest event is at or past ours is the only one
	// that can overlap.
	firstPos := string(positionOf(kvs[0].Key))
	near, err := s.cli.Get(ctx, archive+firstPos, clientv3.WithRange(clientv3.GetPrefixRangeEnd(archive)),
		clientv3.WithKeysOnly(), clientv3.WithLimit(1), clientv3.WithRev(rev))
	if err != nil {
		return 0, "", err
	}
	if len(near.Kvs) > 0 {
		c, err := parseChunkKey(archive, near.Kvs[0].Key)
		if err != nil {
			return 0, "", err
		}
		if firstPos >= c.newest {
			return s.foldStragglers(ctx, c, kvs, resp.More, rev)
		}
		if cut := len(kvs) - countFrom(kvs, c.newest); cut < len(kvs) {
			kvs, next = kvs[:cut], prefix+c.newest // the rest are stragglers within c
		}
	}
	entries := make([]storedEntry, len(kvs))
	for i, kv := range kvs {
		entries[i] = storedEntry{pos: string(positionOf(kv.Key)), rev: kv.ModRevision, val: kv.Value}
	}
	val, err := encodeChunk(entries)
	if err != nil {
		return 0, "", err
	}
	if len(val) > maxChunkBytes {
		return 0, "", fmt.Errorf("history chunk of %d events is %d bytes, over %d", len(entries), len(val), maxChunkBytes)
	}
	first, last := string(kvs[0].Key), string(kvs[len(kvs)-1].Key)
	newest, oldest := entries[0].pos, entries[len(entries)-1].pos
	// Nothing in the range changed since rev, its ends are still there (a
	// concurrent chunk over either end deleted it) and no chunk ends within
	// it (one strictly inside deleted neither end).
	txn, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(first), "<", rev+1).WithRange(last+"\x00"),
		clientv3.Compare(clientv3.CreateRevision(first), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(last), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(archive+newest), "=", 0).WithRange(archive+oldest+chunkKeyAfter),
	).Then(
		clientv3.OpDelete(first, clientv3.WithRange(last+"\x00")),
		clientv3.OpPut(s.keys.HistoryChunk(oldest, newest, len(entries)), string(val)),
	).Commit()
	if err != nil {
		return 0, "", err
	}
	if !txn.Succeeded {
		return 0, "", nil // another replica is archiving: next sweep
	}
	return len(entries), next, nil
}

// foldStragglers rewrites chunk c with the live events that fall within
// its span (an import's old events, or a replica's clock behind the
// others'), which kvs (ascending, read at rev, more after them when more)
// start with, and returns how many it folded and where the next chunk
// starts. The chunk's span stays the same, so chunks stay disjoint.
func (s *Store) foldStragglers(ctx context.Context, c chunkInfo, kvs []*mvccpb.KeyValue, more bool, rev int64) (int, string, error) {
	inside := len(kvs) - countFrom(kvs, c.oldest+"\x00")
	next := s.keys.History() + c.oldest + "\x00"
	if more && inside == len(kvs) {
		next = string(kvs[inside-1].Key) + "\x00" // more of them after these
	}
	kvs = kvs[:inside]
	if inside == 0 {
		return 0, next, nil
	}
	resp, err := s.cli.Get(ctx, c.key, clientv3.WithRev(rev))
	if err != nil || len(resp.Kvs) == 0 {
		return 0, "", err
	}
	archived, err := decodeChunk(resp.Kvs[0].Value)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", c.key, err)
	}
	merged := make([]storedEntry, 0, len(archived)+len(kvs))
	for _, kv := range kvs {
		e := storedEntry{pos: string(positionOf(kv.Key)), rev: kv.ModRevision, val: kv.Value}
		for len(archived) > 0 && archived[0].pos < e.pos {
			merged, archived = append(merged, archived[0]), archived[1:]
		}
		if len(archived) > 0 && archived[0].pos == e.pos {
			archived = archived[1:] // the same event written again: once
		}
		merged = append(merged, e)
	}
	merged = append(merged, archived...)
	val, err := encodeChunk(merged)
	if err != nil {
		return 0, "", err
	}
	if len(val) > maxChunkBytes {
		return 0, "", fmt.Errorf("history chunk %s with %d stragglers is %d bytes, over %d", c.key, len(kvs), len(val), maxChunkBytes)
	}
	first, last := string(kvs[0].Key), string(kvs[len(kvs)-1].Key)
	txn, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(first), "<", rev+1).WithRange(last+"\x00"),
		clientv3.Compare(clientv3.CreateRevision(first), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(last), ">", 0),
		clientv3.Compare(clientv3.ModRevision(c.key), "=", resp.Kvs[0].ModRevision),
	).Then(
		clientv3.OpDelete(first, clientv3.WithRange(last+"\x00")),
		clientv3.OpDelete(c.key),
		clientv3.OpPut(s.keys.HistoryChunk(c.oldest, c.newest, len(merged)), string(val)),
	).Commit()
	if err != nil || !txn.Succeeded {
		return 0, "", err // another replica changed c: next sweep
	}
	return len(kvs), next, nil
}

// countFrom is how many of kvs (ascending) have a position at or past pos.
func countFrom(kvs []*mvccpb.KeyValue, pos string) int {
	n := 0
	for i := len(kvs) - 1; i >= 0 && string(positionOf(kvs[i].Key)) >= pos; i-- {
		n++
	}
	return n
}
