package lock

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A history query reads two ordered sources at one revision, the live
// events and the archive chunks, and merges them by position: an event
// appended with an old time (an import) can be live and older than
// archived ones.

// historyRange is what a query reads: positions after the cursor (or from
// until on) and before end, at rev (0: the first read sets it).
type historyRange struct {
	after string // position after which the query starts; "" for none
	from  string // position (or stamp) from which it starts
	end   string // position (or stamp) before which it stops; "" for none
	rev   int64
}

// past says pos is at or past the range's end.
func (r *historyRange) past(pos string) bool { return r.end != "" && pos >= r.end }

// before says pos comes before the range's start.
func (r *historyRange) before(pos string) bool {
	return pos < r.from || (r.after != "" && pos <= r.after)
}

// get reads key with opts at the range's revision; the first read of a
// query sets it, so both sources are read at one revision.
func (r *historyRange) get(ctx context.Context, cli *clientv3.Client, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if r.rev != 0 {
		opts = append(opts, clientv3.WithRev(r.rev))
	}
	resp, err := cli.Get(ctx, key, opts...)
	if err == nil && r.rev == 0 {
		r.rev = resp.Header.Revision
	}
	return resp, err
}

// liveScan reads live events in ascending key order, in growing windows of
// time: etcd counts every key of a range it is asked for, whatever the
// limit, so a query does not ask for the whole rest of the history.
type liveScan struct {
	s      *Store
	r      *historyRange
	from   string // next key to read
	end    string // key to stop at
	window int64
	buf    []storedEntry
	done   bool
	// batch is how many keys the next read asks for.
	batch func() int
}

func newLiveScan(s *Store, r *historyRange, batch func() int) *liveScan {
	prefix := s.keys.History()
	l := &liveScan{s: s, r: r, from: prefix + r.from, end: clientv3.GetPrefixRangeEnd(prefix), window: firstHistoryWindow, batch: batch}
	if r.after != "" {
		l.from = max(l.from, prefix+r.after+"\x00")
	}
	if r.end != "" {
		l.end = prefix + r.end
	}
	return l
}

// peek is the next live event, nil at the end. With a bound (a
// position; "" for none) it reads no further than the bound: past an
// archived event the merge only needs the live events before it, and deep
// in the archive those are few (stragglers), so one read per chunk says so.
func (l *liveScan) peek(ctx context.Context, bound string) (*storedEntry, error) {
	prefix := l.s.keys.History()
	for len(l.buf) == 0 && !l.done && (bound == "" || l.from < prefix+bound) {
		if err := l.read(ctx, bound); err != nil {
			return nil, err
		}
	}
	if len(l.buf) == 0 {
		return nil, nil
	}
	return &l.buf[0], nil
}

func (l *liveScan) pop() { l.buf = l.buf[1:] }

// read reads the next batch, or moves to the next window.
func (l *liveScan) read(ctx context.Context, bound string) error {
	if l.from >= l.end {
		l.done = true
		return nil
	}
	prefix := l.s.keys.History()
	upper := l.s.windowEnd(prefix, l.from, l.end, l.window)
	bounded := bound != "" && prefix+bound < upper
	if bounded {
		upper = prefix + bound
	}
	resp, err := l.r.get(ctx, l.s.cli, l.from, clientv3.WithRange(upper), clientv3.WithLimit(int64(max(l.batch(), 1))))
	if err != nil {
		return unavailable("read history", err)
	}
	for _, kv := range resp.Kvs {
		l.buf = append(l.buf, storedEntry{pos: string(positionOf(kv.Key)), rev: kv.ModRevision, val: kv.Value})
	}
	if resp.More {
		l.from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	} else if l.from = upper; !bounded {
		l.window *= 4 // the window is read: the next one is wider
	}
	return nil
}

// archiveScan reads archive chunks in ascending key order (newest first),
// a few keys at a time, and decompresses a chunk only when the merge
// reaches it: until then its key tells its newest position.
type archiveScan struct {
	s      *Store
	r      *historyRange
	next   string // next chunk key to read
	chunks []chunkInfo
	open   []storedEntry // the entries of chunks[0], once decompressed
	opened bool
	done   bool
}

func newArchiveScan(s *Store, r *historyRange) *archiveScan {
	a := &archiveScan{s: s, r: r, next: s.keys.HistoryArchive() + r.from}
	if r.after != "" {
		// The first chunk whose oldest event is past the cursor.
		a.next = max(a.next, s.keys.HistoryArchive()+r.after+chunkKeyAfter)
	}
	return a
}

// archiveKeysRead is how many chunk keys one read asks for.
const archiveKeysRead = 4

// peek is the position of the next archived event, "" at the end; it
// decompresses a chunk only when needed to know it.
func (a *archiveScan) peek(ctx context.Context) (string, error) {
	pos, _, err := a.peekChunk(ctx)
	return pos, err
}

// peekChunk is peek, and the position of the oldest event of the chunk
// the next event is in.
func (a *archiveScan) peekChunk(ctx context.Context) (pos, chunkOldest string, err error) {
	for {
		if len(a.chunks) == 0 {
			if a.done {
				return "", "", nil
			}
			if err := a.readKeys(ctx); err != nil {
				return "", "", err
			}
			continue
		}
		c := a.chunks[0]
		if !a.opened && !a.r.before(c.newest) {
			if a.r.past(c.newest) {
				a.chunks, a.done = nil, true
				return "", "", nil
			}
			return c.newest, c.oldest, nil
		}
		if !a.opened {
			if err := a.openChunk(ctx); err != nil {
				return "", "", err
			}
		}
		for len(a.open) > 0 && a.r.before(a.open[0].pos) {
			a.open = a.open[1:]
		}
		if len(a.open) == 0 {
			a.chunks, a.opened = a.chunks[1:], false
			continue
		}
		if a.r.past(a.open[0].pos) {
			a.chunks, a.open, a.done = nil, nil, true
			return "", "", nil
		}
		return a.open[0].pos, a.chunks[0].oldest, nil
	}
}

// take returns the next archived event; false at the end.
func (a *archiveScan) take(ctx context.Context) (storedEntry, bool, error) {
	for {
		pos, err := a.peek(ctx)
		if err != nil || pos == "" {
			return storedEntry{}, false, err
		}
		if a.opened {
			e := a.open[0]
			a.open = a.open[1:]
			if len(a.open) == 0 {
				a.chunks, a.opened = a.chunks[1:], false
			}
			return e, true, nil
		}
		if err := a.openChunk(ctx); err != nil {
			return storedEntry{}, false, err
		}
	}
}

func (a *archiveScan) readKeys(ctx context.Context) error {
	prefix := a.s.keys.HistoryArchive()
	resp, err := a.r.get(ctx, a.s.cli, a.next, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithKeysOnly(), clientv3.WithLimit(archiveKeysRead))
	if err != nil {
		return unavailable("read history archive", err)
	}
	for _, kv := range resp.Kvs {
		c, err := parseChunkKey(prefix, kv.Key)
		if err != nil {
			a.s.log.Warn("unreadable history chunk key", "key", string(kv.Key), "err", err)
			continue
		}
		a.chunks = append(a.chunks, c)
	}
	if !resp.More || len(resp.Kvs) == 0 {
		a.done = true
	} else {
		a.next = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	return nil
}

// openChunk decompresses chunks[0].
func (a *archiveScan) openChunk(ctx context.Context) error {
	c := a.chunks[0]
	resp, err := a.s.cli.Get(ctx, c.key, clientv3.WithRev(a.r.rev))
	if err != nil {
		return unavailable("read history chunk", err)
	}
	a.opened, a.open = true, nil
	if len(resp.Kvs) == 0 {
		return nil // pruned since its key was read: cannot be at one revision
	}
	entries, err := decodeChunk(resp.Kvs[0].Value)
	if err != nil {
		a.s.log.Warn("unreadable history chunk", "key", c.key, "err", err)
		return nil
	}
	a.open = entries
	return nil
}
