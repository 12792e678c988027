package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock/linear"
)

// Options configure a Store.
type Options struct {
	// Prefix is the etcd key prefix, "/scaplock/" by default.
	Prefix string
	Logger *slog.Logger
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Retention bounds the history.
	Retention Retention
	// SweepEvery is how often expiries, overdue leases and retention are
	// checked; 10s by default.
	SweepEvery time.Duration
	// Registerer receives the store's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Parts are other caches fed by the store's watch (see Part).
	Parts []Part
	// Scopes are the scopes new holds, deploys and preflight may name;
	// the zero value accepts every well-formed scope. Holds already stored
	// on a scope no longer known stay visible and still count.
	Scopes KnownScopes
	// CurrentRevision confirms etcd's current revision for the read
	// barrier (package linear); it must be linearizable. A Get of one
	// small key by default; an embedded etcd can answer in-process
	// (embedetcd.Etcd.CurrentRevision).
	CurrentRevision func(ctx context.Context) (int64, error)
	// LocalRevision, when set, tells etcd's current revision in process
	// when that needs no read-index round (embedetcd.Etcd.LocalRevision:
	// a member alone in its cluster); ok false sends Sync to the shared
	// read.
	LocalRevision func() (rev int64, ok bool)
}

// Retention bounds the history by age and by count; zero means unbounded.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int
}

// Change is one thing a subscriber is told about: a message of the event
// stream.
type Change = apiv1.Change

type queued struct {
	scope     Scope
	createRev int64
}

// Store keeps holds in etcd and serves reads from a watch-fed cache.
type Store struct {
	cli       *clientv3.Client
	keys      Keys
	log       *slog.Logger
	now       func() time.Time
	retention Retention
	sweepFreq time.Duration
	scopes    KnownScopes

	mu      sync.RWMutex
	holds   holdIndex
	queue   map[string]queued
	bridges map[string]Bridge // by key: hosts a person left unguarded
	recent  recent
	extra   []Part
	rev     int64
	changed chan struct{}
	subs    map[chan Change]struct{}

	expired chan string
	// linear confirms the cache against etcd before every answer: the
	// one consistency rule, kept by package linear.
	linear *linear.Barrier

	idemMu      sync.Mutex
	idemLease   clientv3.LeaseID
	idemGranted time.Time

	bgMu     sync.Mutex
	bgClosed bool
	// runCtx ends at Close; background clean-up (lease revokes) runs on it.
	runCtx context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// Open loads the current state from etcd and keeps it current until Close.
// Cancelling ctx only aborts the initial load.
func Open(ctx context.Context, cli *clientv3.Client, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/scaplock/"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = 10 * time.Second
	}
	s := &Store{
		cli: cli, keys: NewKeys(opts.Prefix), log: opts.Logger, now: opts.Now,
		retention: opts.Retention, sweepFreq: opts.SweepEvery, scopes: opts.Scopes,
		changed: make(chan struct{}), subs: map[chan Change]struct{}{},
		expired: make(chan string, 1024), extra: opts.Parts,
	}
	current := opts.CurrentRevision
	if current == nil {
		current = s.currentRevision
	}
	s.linear = linear.New(s, current, opts.LocalRevision)
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(&holdCollector{s: s}); err != nil {
			return nil, fmt.Errorf("register hold metrics: %w", err)
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	s.runCtx, s.stop = runCtx, stop
	s.wg.Add(5)
	go func() { defer s.wg.Done(); s.linear.Run(runCtx) }()
	go func() { defer s.wg.Done(); s.watch(runCtx) }()
	go func() { defer s.wg.Done(); s.confirmLoop(runCtx) }()
	go func() { defer s.wg.Done(); s.settleExpiries(runCtx) }()
	go func() { defer s.wg.Done(); s.sweepLoop(runCtx) }()
	return s, nil
}

// Close stops the watch and the background work and waits for them.
func (s *Store) Close() {
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	s.stop()
	s.wg.Wait()
	s.mu.Lock()
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
	s.mu.Unlock()
}

// Keys returns the store's key builder.
func (s *Store) Keys() Keys { return s.keys }

// Client returns the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.cli }

// watch keeps the cache current. On compaction or a broken stream it
// reloads a snapshot and watches on from there.
func (s *Store) watch(ctx context.Context) {
	// An outage is logged once when it starts and once when it ends, not
	// at every retry (a dead member or a lost leader fails each one).
	broken := false
	for ctx.Err() == nil {
		s.mu.RLock()
		from := s.rev + 1
		s.mu.RUnlock()
		wctx := clientv3.WithRequireLeader(ctx)
		for resp := range s.cli.Watch(wctx, s.keys.Prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify()) {
			if err := resp.Err(); err != nil {
				if !broken && ctx.Err() == nil {
					s.log.Warn("etcd watch interrupted; retrying every 500ms until it resumes", "err", err)
				} else {
					s.log.Debug("etcd watch interrupted", "err", err)
				}
				broken = true
				if errors.Is(err, rpctypes.ErrCompacted) || resp.CompactRevision != 0 {
					if err := s.load(ctx); err != nil {
						s.log.Warn("reload after compaction failed", "err", err)
					}
				}
				break
			}
			if broken {
				broken = false
				s.log.Info("etcd watch resumed", "revision", resp.Header.Revision)
			}
			s.apply(resp.Events, resp.Header.Revision)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Store) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Subscribe returns a channel of every change from now on. The channel is
// closed when cancel is called, when the store closes, or when the
// subscriber falls more than 256 changes behind.
func (s *Store) Subscribe() (changes <-chan Change, cancel func()) {
	ch := make(chan Change, 256)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
	}
}

// Revision is the etcd revision the cache reflects.
func (s *Store) Revision() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}

// WaitRevision blocks until the cache reflects rev or ctx is done.
func (s *Store) WaitRevision(ctx context.Context, rev int64) error {
	for {
		s.mu.RLock()
		cur, ch := s.rev, s.changed
		s.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: the cache did not reach revision %d (at %d): %w", ErrUnavailable, rev, cur, ctx.Err())
		}
	}
}

// Changed returns a channel closed at the next cache update.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Snapshot is a consistent view of the cache: holds (and, from Snapshot,
// the hosts a person left unguarded) at one revision.
type Snapshot struct {
	Holds    []Hold
	Bridges  []Bridge
	Revision int64
}

// Snapshot returns the cached holds, oldest first, and the unguarded
// hosts by name.
func (s *Store) Snapshot() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Snapshot{Holds: s.holds.all(), Bridges: s.bridgesLocked(), Revision: s.rev}
}

// Covering returns the cached holds that can cover a deploy to one of
// scopes, oldest first: what a verdict on them reads, and no more.
func (s *Store) Covering(scopes []Scope) Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Snapshot{Holds: s.holds.covering(scopes), Revision: s.rev}
}

// Get returns a hold from the cache.
func (s *Store) Get(id string) (Hold, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.holds.byID[id]
	if !ok {
		return Hold{}, fmt.Errorf("hold %s: %w", id, ErrNotFound)
	}
	return h, nil
}

// Verdict decides, from the cache, whether deploys to scopes are allowed now.
func (s *Store) Verdict(scopes []Scope) Verdict {
	snap := s.Covering(scopes)
	v := Decide(snap.Holds, scopes, s.now())
	v.Revision = snap.Revision
	return v
}

// Scopes are the scopes the store accepts (Options.Scopes).
func (s *Store) Scopes() KnownScopes { return s.scopes }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// currentRevision is etcd's current revision, by a linearizable read of
// one small key.
func (s *Store) currentRevision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.keys.SchemaVersion(), clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}
