package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/servertest"
)

// embeddedCluster runs three scaplockd processes as one embedded etcd
// cluster on loopback, holds eqiad, SIGKILLs the replica whose member leads
// etcd, and measures how long writes stop and what the survivors answered
// to preflight meanwhile (the baseline: a single embedded replica, which
// has no survivor at all).
func embeddedCluster(ctx context.Context, dir string) []Row {
	const figure = "embedded 3-replica cluster"
	bin, err := buildCommand(ctx, dir, "scaplockd")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	secret := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("b", 40)), 0o600); err != nil {
		return []Row{failed(figure, err)}
	}
	names := []string{"r1", "r2", "r3"}
	var members []string
	etcdURLs := map[string]string{}
	ports, err := embedetcd.FreeLoopbackAddrs(2 * len(names))
	if err != nil {
		return []Row{failed(figure, err)}
	}
	for i, n := range names {
		members = append(members, n+"=http://"+ports[2*i])
		etcdURLs[n] = "http://" + ports[2*i+1]
	}
	procs := map[string]*process{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var startErr error
	began := time.Now()
	start := func(n string) (*process, error) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+filepath.Join(dir, n), "SCAPLOCK_LOG_FORMAT=json",
			"SCAPLOCK_REPLICA_NAME="+n, "SCAPLOCK_ETCD_INITIAL_CLUSTER="+strings.Join(members, ","), "SCAPLOCK_ETCD_CLIENT_URL="+etcdURLs[n],
			"SCAPLOCK_JWT_SECRET_FILE="+secret, "SCAPLOCK_CLUSTERS_FILE=", "SCAPLOCK_ETCD_ENDPOINTS=", "SCAPLOCK_SCOPES=eqiad,codfw")
		return runProcess(ctx, cmd)
	}
	for _, n := range names {
		wg.Go(func() {
			p, err := start(n)
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
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
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
	rows := []Row{info(figure+": bootstrap, 3 processes until all listen", fmtDur(bootstrap))}
	// First a replica whose member follows: etcd keeps its leader and
	// quorum, and the survivors should not notice.
	leader, err := etcdLeaderOf(ctx, etcdURLs)
	if err != nil {
		return append(rows, failed(figure, err))
	}
	follower := names[0]
	if follower == leader {
		follower = names[1]
	}
	rows = append(rows, killReplica(ctx, figure, "a follower's replica", follower, names, procs, etcdURLs, token, false)...)
	// Back to three members before the leader goes, or it would take the
	// quorum with it.
	if procs[follower], err = start(follower); err != nil {
		return append(rows, failed(figure+": restart "+follower, err))
	}
	if err := newClient(procs[follower].url, "").waitReady(ctx, time.Minute); err != nil {
		return append(rows, failed(figure+": restart "+follower, err))
	}
	if leader, err = etcdLeaderOf(ctx, etcdURLs); err != nil {
		return append(rows, failed(figure, err))
	}
	// Then the replica whose member leads etcd: the survivors wait for
	// etcd's election, and no more.
	return append(rows, killReplica(ctx, figure, "the etcd leader's replica", leader, names, procs, etcdURLs, token, true)...)
}

// killReplica SIGKILLs the replica doomed while the others answer
// preflight for a held scope and take writes, and reports how long after
// the kill writes were accepted again, beside etcd's own election when
// the doomed member led, and what the survivors' verdicts answered.
func killReplica(ctx context.Context, figure, which, doomed string, names []string, procs map[string]*process, etcdURLs map[string]string, token string, led bool) []Row {
	var alive []string
	var aliveURLs []string
	for _, n := range names {
		if n != doomed && procs[n].cmd.ProcessState == nil {
			alive = append(alive, n)
			aliveURLs = append(aliveURLs, procs[n].url)
		}
	}
	verdicts := pollVerdicts(ctx, aliveURLs, "eqiad")
	time.Sleep(500 * time.Millisecond)
	killed := time.Now()
	_ = procs[doomed].cmd.Process.Kill()
	<-procs[doomed].done
	elected := make(chan time.Duration, 1)
	if led {
		go func() { elected <- newLeaderAfter(ctx, etcdURLs, alive, killed) }()
	}
	gap, err := writesAgain(ctx, newClient(procs[alive[0]].url, token), "codfw", killed)
	if err != nil {
		verdicts.stop()
		return []Row{failed(figure+": SIGKILL of "+which, err)}
	}
	time.Sleep(time.Second)
	counts := verdicts.stop()
	target, ok := "≤ 1.5 s", gap <= 1500*time.Millisecond
	var rows []Row
	if led {
		election := <-elected
		rows = append(rows, info(figure+": etcd elects a new leader after SIGKILL of "+which, fmtDur(election)))
		target, ok = fmt.Sprintf("≤ etcd's election + 0.5 s = %s", fmtDur(election+500*time.Millisecond)), gap <= election+500*time.Millisecond
	}
	return append(rows,
		check(figure+": writes accepted again after SIGKILL of "+which, fmtDur(gap), target, ok),
		check(figure+": survivors' preflight for a held scope after SIGKILL of "+which, counts.String(),
			"0 allowed, 0 answered 503", counts.allowed == 0 && counts.undecided == 0))
}

// newLeaderAfter polls the surviving members until one of them names a
// leader among them, and returns how long after since that was.
func newLeaderAfter(ctx context.Context, etcdURLs map[string]string, alive []string, since time.Time) time.Duration {
	urls := map[string]string{}
	for _, n := range alive {
		urls[n] = etcdURLs[n]
	}
	for ctx.Err() == nil && time.Since(since) < time.Minute {
		if _, err := etcdLeaderOf(ctx, urls); err == nil {
			return time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(since)
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
