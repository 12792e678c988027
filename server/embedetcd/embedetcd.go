// Package embedetcd runs etcd inside the scaplockd process: the store of a
// first run and of small installations, and the real etcd the tests and the
// bench start in-process. It is a thin layer over go.etcd.io/etcd's embed
// package that picks free loopback ports and waits until the server serves.
package embedetcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/lock/tick"
)

// Etcd is a single-node etcd running inside this process.
type Etcd struct {
	etcd  *embed.Etcd
	close sync.Once
	stop  chan struct{} // closed by Close: ends defragWhenMostlyFree
	wg    sync.WaitGroup
	// Endpoint is the loopback client URL.
	Endpoint string
}

// Options bound the embedded server's memory and disk; zero values take
// the defaults.
type Options struct {
	// CompactionRetention is how much revision history etcd keeps: a
	// duration ("10s", compacted periodically) or a number of revisions
	// ("10000"). Default 10s: the store's watch needs seconds, not an hour
	// (a watch that falls further behind reloads the cache), and every
	// kept revision of a churned key costs memory and disk: in the 5-minute
	// soak, RSS at the end was 157 MB with 1m and 140 MB with 10s.
	CompactionRetention string
	// SnapshotCount is how many applied entries trigger a snapshot, after
	// which the raft log kept in memory is trimmed (default 1000).
	SnapshotCount uint64
	// QuotaBackendBytes caps the database file; past it etcd refuses writes
	// (they fail, nothing is lost) until compaction and defragmentation
	// free space. Default 1 GiB.
	QuotaBackendBytes int64
}

// DefaultCompactionRetention is Options.CompactionRetention's default.
const DefaultCompactionRetention = "10s"

// CompactionMode says whether retention is a duration (periodic) or a
// revision count, and rejects anything else.
func CompactionMode(retention string) (string, error) {
	if d, err := time.ParseDuration(retention); err == nil && d > 0 {
		return embed.CompactorModePeriodic, nil
	}
	if n, err := strconv.ParseInt(retention, 10, 64); err == nil && n > 0 {
		return embed.CompactorModeRevision, nil
	}
	return "", fmt.Errorf("%q is neither a positive duration (1m) nor a positive number of revisions (10000)", retention)
}

// apply sets opts, defaults filled in, on cfg.
func (opts Options) apply(cfg *embed.Config) error {
	if opts.CompactionRetention == "" {
		opts.CompactionRetention = DefaultCompactionRetention
	}
	if opts.SnapshotCount == 0 {
		opts.SnapshotCount = 1000
	}
	if opts.QuotaBackendBytes == 0 {
		opts.QuotaBackendBytes = 1 << 30
	}
	mode, err := CompactionMode(opts.CompactionRetention)
	if err != nil {
		return fmt.Errorf("etcd compaction retention: %w", err)
	}
	cfg.AutoCompactionMode, cfg.AutoCompactionRetention = mode, opts.CompactionRetention
	cfg.SnapshotCount = opts.SnapshotCount
	if !strings.Contains(cfg.InitialCluster, ",") {
		// A single member has no follower to catch up from its log.
		cfg.SnapshotCatchUpEntries = max(opts.SnapshotCount/10, 1)
	}
	cfg.QuotaBackendBytes = opts.QuotaBackendBytes
	return nil
}

// Start starts a single-node etcd whose data lives in dir, listening on
// free loopback ports, and waits until it serves.
func Start(dir string) (*Etcd, error) {
	return StartContext(context.Background(), dir, Options{})
}

// StartContext is Start with opts that gives up when ctx ends (a SIGTERM
// while scaplockd starts).
func StartContext(ctx context.Context, dir string, opts Options) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	clientURL, peerURL, err := FreeURLs()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "scaplock"
	cfg.Dir = filepath.Join(dir, "etcd")
	// At "error" the embedded server logs its own listeners closing as
	// failures on every clean shutdown; real failures reach us through e.Err().
	cfg.LogLevel = "fatal"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peerURL}, []url.URL{*peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	return serve(ctx, cfg, clientURL, 60*time.Second, opts)
}

// serve starts etcd with cfg and waits up to ready for it to serve clients
// (for a cluster member: until the cluster has a leader), or until ctx ends.
func serve(ctx context.Context, cfg *embed.Config, clientURL *url.URL, ready time.Duration, opts Options) (*Etcd, error) {
	if err := opts.apply(cfg); err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(ready):
		e.Close()
		return nil, fmt.Errorf("embedded etcd not ready after %s", ready)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("embedded etcd start abandoned: %w", ctx.Err())
	}
	// Compaction frees pages for reuse but never shrinks the file, and etcd
	// maps the whole file into memory (MAP_POPULATE), free pages too. A
	// member alone in its cluster drops the revisions it kept before anyone
	// is served (nobody watches them yet); a file then mostly free (after
	// a burst, or old history folded into chunks) is rewritten at once, and
	// later whenever the check finds it so.
	if len(cfg.InitialCluster) > 0 && !strings.Contains(cfg.InitialCluster, ",") {
		if rev := e.Server.KV().Rev(); rev > e.Server.KV().FirstRev()+1 {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := e.Server.Compact(cctx, &etcdserverpb.CompactionRequest{Revision: rev, Physical: true})
			cancel()
			if err != nil && !errors.Is(err, mvcc.ErrCompacted) {
				e.Close()
				return nil, fmt.Errorf("compact embedded etcd: %w", err)
			}
		}
	}
	if mostlyFree(e.Server.Backend()) {
		if err := e.Server.Backend().Defrag(); err != nil {
			e.Close()
			return nil, fmt.Errorf("defragment embedded etcd: %w", err)
		}
	}
	ee := &Etcd{etcd: e, Endpoint: clientURL.String(), stop: make(chan struct{})}
	ee.wg.Go(ee.defragWhenMostlyFree)
	return ee, nil
}

// mostlyFree says a database file is worth rewriting: more than 16 MiB
// and more than half of it free.
func mostlyFree(b backend.Backend) bool {
	free := b.Size() - b.SizeInUse()
	return free > 16<<20 && free > b.Size()/2
}

// defragCheckEvery is how often a running member looks at its file. A
// rewrite blocks the member's reads and writes while it copies what is in
// use (a few MB, tens of ms): with half the file free, it is rare.
const defragCheckEvery = time.Minute

// defragWhenMostlyFree rewrites the database file whenever it is mostly
// free, until Close.
func (e *Etcd) defragWhenMostlyFree() {
	tick.Until(e.stop, defragCheckEvery, func() {
		if b := e.etcd.Server.Backend(); mostlyFree(b) {
			_ = b.Defrag() // a failed rewrite leaves the file as it was; the next check tries again
			// The rewrite's buffers are garbage now: give them back at
			// once rather than at the next collection (bursts are what
			// free the file, and the service may be idle now).
			debug.FreeOSMemory()
		}
	})
}

// Client opens a client to the embedded server.
func (e *Etcd) Client() (*clientv3.Client, error) {
	return newClient(clientv3.Config{Endpoints: []string{e.Endpoint}})
}

// Close stops the server; the data stays in its directory. Closing twice
// is harmless.
func (e *Etcd) Close() {
	e.close.Do(func() {
		close(e.stop)
		e.wg.Wait()
		e.etcd.Close()
	})
}

// FreeURLs are an etcd member's client and peer URLs on free loopback
// ports.
func FreeURLs() (client, peer *url.URL, err error) {
	addrs, err := FreeLoopbackAddrs(2)
	if err != nil {
		return nil, nil, err
	}
	return &url.URL{Scheme: "http", Host: addrs[0]}, &url.URL{Scheme: "http", Host: addrs[1]}, nil
}

// FreeLoopbackAddrs are n distinct free loopback host:ports. Every
// listener stays open until all n are picked: a port closed at once may be
// handed out again by the next pick.
func FreeLoopbackAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func freeLoopbackURL() (*url.URL, error) {
	addrs, err := FreeLoopbackAddrs(1)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "http", Host: addrs[0]}, nil
}

// newClient dials etcd; the client's own zap logger is silenced because
// every error it sees is returned to, and logged by, its caller.
func newClient(cfg clientv3.Config) (*clientv3.Client, error) {
	cfg.DialTimeout = 5 * time.Second
	cfg.Logger = zap.NewNop()
	return clientv3.New(cfg)
}

// CurrentRevision is the server's current revision after a linearizable
// read barrier, in-process: the same guarantee as a linearizable Get
// without the gRPC round trip.
//
// A member alone in its cluster needs no read-index round: it is the only
// one that can commit, and etcd answers a write only once this member has
// applied it, so its applied revision already covers every acknowledged
// write. With more members (SCAPLOCK_ETCD_INITIAL_CLUSTER) another member
// may lead, and the read index is asked for.
func (e *Etcd) CurrentRevision(ctx context.Context) (int64, error) {
	srv := e.etcd.Server
	if len(srv.Cluster().Members()) > 1 {
		if err := srv.LinearizableReadNotify(ctx); err != nil {
			return 0, err
		}
	} else if err := ctx.Err(); err != nil {
		return 0, err
	}
	return srv.KV().Rev(), nil
}

// LocalRevision is the server's current revision when it is alone in its
// cluster, where the applied revision already covers every acknowledged
// write (see CurrentRevision); ok is false when other members may lead and
// a read-index round is needed.
func (e *Etcd) LocalRevision() (rev int64, ok bool) {
	srv := e.etcd.Server
	if len(srv.Cluster().Members()) > 1 {
		return 0, false
	}
	return srv.KV().Rev(), true
}
