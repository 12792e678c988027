package server

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// leaderReader confirms etcd's current revision for the store's read
// barrier with a linearizable read sent straight to the raft leader: a
// follower would forward the read index request to the leader and wait for
// its answer, one more round trip per verdict. When the leader is unknown
// or its read fails, the read goes through the balanced client and the
// leader is looked up again.
type leaderReader struct {
	cli *clientv3.Client // the balanced client
	key string
	tls *tls.Config

	mu       sync.Mutex
	leader   *clientv3.Client
	endpoint string
	closed   bool
	finding  bool
	stop     context.CancelFunc
	runCtx   context.Context
	wg       sync.WaitGroup
}

func newLeaderReader(cli *clientv3.Client, key string, tlsCfg *tls.Config) *leaderReader {
	ctx, stop := context.WithCancel(context.Background())
	return &leaderReader{cli: cli, key: key, tls: tlsCfg, runCtx: ctx, stop: stop}
}

// CurrentRevision is etcd's current revision after a linearizable read.
func (l *leaderReader) CurrentRevision(ctx context.Context) (int64, error) {
	if c := l.current(); c != nil {
		resp, err := c.Get(ctx, l.key, clientv3.WithCountOnly())
		if err == nil {
			return resp.Header.Revision, nil
		}
		l.forget(c)
	}
	resp, err := l.cli.Get(ctx, l.key, clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	l.findLater()
	return resp.Header.Revision, nil
}

// findLater looks for the leader in the background, one search at a time,
// so that a dead endpoint never slows a read down.
func (l *leaderReader) findLater() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.finding || l.leader != nil {
		return
	}
	l.finding = true
	l.wg.Go(func() {
		l.find(l.runCtx)
		l.mu.Lock()
		l.finding = false
		l.mu.Unlock()
	})
}

func (l *leaderReader) current() *clientv3.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader
}

func (l *leaderReader) forget(c *clientv3.Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader == c {
		l.leader, l.endpoint = nil, ""
		c.Close()
	}
}

// find asks each endpoint whether it leads and dials the one that does.
func (l *leaderReader) find(ctx context.Context) {
	for _, ep := range l.cli.Endpoints() {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := l.cli.Status(sctx, ep)
		cancel()
		if err != nil || st.Header.MemberId != st.Leader {
			continue
		}
		c, err := newClient(clientv3.Config{Endpoints: []string{ep}, TLS: l.tls})
		if err != nil {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed || l.leader != nil {
			c.Close()
			return
		}
		l.leader, l.endpoint = c, ep
		return
	}
}

// Close stops a search for the leader and closes the leader's client;
// reads fall back to the balanced client.
func (l *leaderReader) Close() {
	l.stop()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leader != nil {
		l.leader.Close()
		l.leader = nil
	}
}
