package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/servertest"
)

// embeddedCluster runs three scaplockd processes as one embedded etcd
// cluster on loopback, holds eqiad, SIGKILLs the replica whose member leads
// etcd, and measures how long writes stop and what the survivors answered
// to preflight meanwhile (the baseline: a single embedded replica, which
// has no survivor at all).
func embeddedCluster(ctx context.Context) []Row {
	const figure = "embedded 3-replica cluster"
	dir, err := os.MkdirTemp("", "scaplock-bench-cluster-")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "scaplockd")
	progress("  go build ./cmd/scaplockd")
	if err := servertest.GoBuild(ctx, bin, servertest.Scaplockd); err != nil {
		return []Row{failed(figure, err)}
	}
	secret := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("b", 40)), 0o600); err != nil {
		return []Row{failed(figure, err)}
	}
	names := []string{"r1", "r2", "r3"}
	var members []string
	etcdURLs := map[string]string{}
	for _, n := range names {
		peer, err := freeLoopback()
		if err != nil {
			return []Row{failed(figure, err)}
		}
		members = append(members, n+"=http://"+peer)
		if etcdURLs[n], err = freeLoopback(); err != nil {
			return []Row{failed(figure, err)}
		}
		etcdURLs[n] = "http://" + etcdURLs[n]
	}
	procs := map[string]*process{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var startErr error
	began := time.Now()
	for _, n := range names {
		wg.Go(func() {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+filepath.Join(dir, n), "SCAPLOCK_LOG_FORMAT=json",
				"SCAPLOCK_REPLICA_NAME="+n, "SCAPLOCK_ETCD_INITIAL_CLUSTER="+strings.Join(members, ","), "SCAPLOCK_ETCD_CLIENT_URL="+etcdURLs[n],
				"SCAPLOCK_JWT_SECRET_FILE="+secret, "SCAPLOCK_CLUSTERS_FILE=", "SCAPLOCK_ETCD_ENDPOINTS=", "SCAPLOCK_SCOPES=eqiad,codfw")
			p, err := runProcess(ctx, cmd)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				startErr = errors.Join(startErr, fmt.Errorf("%s: %w", n, err))
				return
			}
			procs[n] = p
		})
	}
	wg.Wait()
	for _, p := range procs {
		defer p.stop()
	}
	if startErr != nil {
		return []Row{failed(figure, startErr)}
	}
	bootstrap := time.Since(began)
	token, err := servertest.Token(secret, "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	if err := newClient(procs["r1"].url, token).do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "eqiad", Reason: "bench: held across the kill"}, nil, http.StatusCreated); err != nil {
		return []Row{failed(figure, err)}
	}
	doomed, err := etcdLeaderOf(ctx, etcdURLs)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	var alive []string
	for _, n := range names {
		if n != doomed {
			alive = append(alive, n)
		}
	}
	// Both survivors answer preflight for the held scope continuously.
	var refused, undecided, wrongAllowed atomic.Int64
	pollCtx, stopPoll := context.WithCancel(ctx)
	var polls sync.WaitGroup
	for _, n := range alive {
		c := newClient(procs[n].url, "")
		polls.Go(func() {
			for pollCtx.Err() == nil {
				allowed, err := c.preflight(pollCtx, "eqiad")
				switch {
				case err != nil:
					undecided.Add(1)
				case allowed:
					wrongAllowed.Add(1)
				default:
					refused.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	killed := time.Now()
	_ = procs[doomed].cmd.Process.Kill()
	<-procs[doomed].done
	writer := newClient(procs[alive[0]].url, token)
	// A write sent at once meets a member that still forwards to the dead
	// leader: it waits for etcd's request timeout. Meanwhile attempts of
	// 300 ms find when writes are accepted again (to within 300 ms).
	type answer struct {
		took time.Duration
		err  error
	}
	inFlight := make(chan answer, 1)
	go func() {
		began := time.Now()
		err := writer.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "codfw", Reason: "bench: sent at the kill"}, nil, http.StatusCreated)
		inFlight <- answer{time.Since(began), err}
	}()
	var gap time.Duration
	for {
		actx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := writer.do(actx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "codfw", Reason: "bench: after the kill"}, nil, http.StatusCreated)
		cancel()
		if err == nil {
			gap = time.Since(killed)
			break
		}
		if time.Since(killed) > 60*time.Second || ctx.Err() != nil {
			stopPoll()
			polls.Wait()
			return []Row{failed(figure, fmt.Errorf("no write accepted within 60s of the kill: %v", err))}
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := <-inFlight
	firstOutcome := "accepted"
	if first.err != nil {
		firstOutcome = first.err.Error()
		if i := strings.Index(firstOutcome, ": "); i > 0 && strings.Contains(firstOutcome, "503") {
			firstOutcome = "503"
		}
	}
	time.Sleep(time.Second)
	stopPoll()
	polls.Wait()
	return []Row{
		info(figure+": bootstrap, 3 processes until all listen", fmtDur(bootstrap)),
		check(figure+": writes accepted again after SIGKILL of the etcd leader's replica", fmtDur(gap),
			"writes go on (baseline, one embedded replica: no survivor)", true),
		info(figure+": a write sent right at the kill", fmt.Sprintf("answered after %s: %s (etcd's request timeout)", fmtDur(first.took), firstOutcome)),
		check(figure+": survivors' preflight for a held scope during failover",
			fmt.Sprintf("%d refused, %d could not decide, %d allowed", refused.Load(), undecided.Load(), wrongAllowed.Load()),
			"0 allowed", wrongAllowed.Load() == 0),
	}
}

// etcdLeaderOf returns the name whose member leads etcd.
func etcdLeaderOf(ctx context.Context, urls map[string]string) (string, error) {
	ids := map[uint64]string{}
	var leader uint64
	for n, u := range urls {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{u}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return "", err
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := cli.Status(sctx, u)
		cancel()
		cli.Close()
		if err != nil {
			return "", fmt.Errorf("etcd status of %s: %w", n, err)
		}
		ids[st.Header.MemberId], leader = n, st.Leader
	}
	if n, ok := ids[leader]; ok {
		return n, nil
	}
	return "", fmt.Errorf("etcd leader %x is none of the members", leader)
}

func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
