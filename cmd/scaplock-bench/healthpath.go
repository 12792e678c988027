package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/servertest"
)

// healthPathBaseline is the last commit before the light health path: its
// scaplockd is built and measured beside this one, in the same run.
const healthPathBaseline = "69656d8"

const (
	// degradedOffset is where the incident has kubemaster1002's NIC
	// saturated: eqiad stays degraded, with 2 apiservers, for minutes.
	degradedOffset = 2*time.Hour + 20*time.Minute
	pageClients    = 50
	sseWindow      = 20 * time.Second
	etcdWindow     = 24 * time.Second // two heartbeats
	cpuWindow      = 30 * time.Second
)

// healthPathFigures holds one build's measurements.
type healthPathFigures struct {
	sseBytesPerInterval  float64
	etcdBytesPerInterval float64
	cpuSeconds           float64 // scaplockd CPU over cpuWindow with pageClients pages open
	statusBytes          int
	pageRequests         int64
}

// healthPath measures the health path of this build and of the baseline
// side by side, each as a scaplockd --demo subprocess (the simulated eqiad:
// 2 apiservers, 1 s interval) on one shared etcd: event-stream bytes per
// subscriber per interval while eqiad is degraded, etcd bytes written per
// interval while nothing changes (the healthy scenario), and scaplockd's
// CPU with 50 page-like subscribers open during the incident.
func healthPath(ctx context.Context, dir string) []Row {
	const figure = "health path"
	etcd, err := embedetcd.Start(filepath.Join(dir, "etcd"))
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer etcd.Close()
	cli, err := etcd.Client()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer cli.Close()

	progress("  go build ./cmd/scaplockd (this build)")
	current := filepath.Join(dir, "scaplockd")
	if err := servertest.GoBuild(ctx, current, servertest.Scaplockd); err != nil {
		return []Row{failed(figure, err)}
	}
	progress("  building the baseline scaplockd at %s", healthPathBaseline)
	baseline, buildErr := buildAt(ctx, healthPathBaseline, dir)

	progress("  measuring this build")
	now, err := measureHealthPath(ctx, current, "new", etcd.Endpoint, cli, dir, false)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	var before healthPathFigures
	var beforeErr error
	if buildErr != nil {
		beforeErr = buildErr
	} else {
		progress("  measuring the baseline")
		before, beforeErr = measureHealthPath(ctx, baseline, "old", etcd.Endpoint, cli, dir, true)
	}
	was := func(f func(healthPathFigures) string) string {
		if beforeErr != nil {
			return "baseline not measured: " + beforeErr.Error()
		}
		return "baseline " + f(before)
	}
	kb := func(b float64) string { return fmt.Sprintf("%.2f KB", b/1024) }
	return []Row{
		check("event-stream bytes per subscriber per interval, eqiad degraded (2 apiservers, 1 s interval)",
			kb(now.sseBytesPerInterval)+"; "+was(func(f healthPathFigures) string { return kb(f.sseBytesPerInterval) }),
			"≤ 2 KB", now.sseBytesPerInterval <= 2048),
		check("etcd bytes written per interval while nothing changes (healthy scenario, 12-round heartbeat included)",
			fmt.Sprintf("%.0f B; %s", now.etcdBytesPerInterval, was(func(f healthPathFigures) string { return fmt.Sprintf("%.0f B", f.etcdBytesPerInterval) })),
			"≤ 1 KB", now.etcdBytesPerInterval <= 1024),
		info(fmt.Sprintf("scaplockd CPU with %d page-like subscribers for %s during the incident demo", pageClients, cpuWindow),
			fmt.Sprintf("%.2f s (%.0f%% of a core), %d page requests; %s", now.cpuSeconds, 100*now.cpuSeconds/cpuWindow.Seconds(), now.pageRequests,
				was(func(f healthPathFigures) string {
					return fmt.Sprintf("%.2f s (%.0f%% of a core), %d page requests", f.cpuSeconds, 100*f.cpuSeconds/cpuWindow.Seconds(), f.pageRequests)
				}))),
		info("GET /api/v1/status size, eqiad degraded",
			fmt.Sprintf("%s; %s", kb(float64(now.statusBytes)), was(func(f healthPathFigures) string { return kb(float64(f.statusBytes)) }))),
	}
}

// buildAt builds cmd/scaplockd as it was at commit, in a temporary worktree.
func buildAt(ctx context.Context, commit, dir string) (string, error) {
	tree := filepath.Join(dir, "baseline-src")
	if out, err := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", tree, commit).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git worktree add %s: %v: %s", commit, err, strings.TrimSpace(string(out)))
	}
	defer exec.Command("git", "worktree", "remove", "--force", tree).Run()
	bin := filepath.Join(dir, "scaplockd-baseline")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/scaplockd")
	build.Dir = tree
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build at %s: %v: %s", commit, err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// measureHealthPath runs bin twice: the healthy scenario for etcd writes,
// then the incident while degraded for the stream and the pages.
// refetchAlways says how its page behaves: the baseline's page re-fetched
// status and history on every message.
func measureHealthPath(ctx context.Context, bin, name, endpoint string, cli *clientv3.Client, dir string, refetchAlways bool) (healthPathFigures, error) {
	var f healthPathFigures

	prefix := fmt.Sprintf("/bench-%s-healthy/", name)
	p, err := startDemo(ctx, bin, filepath.Join(dir, name+"-healthy"), endpoint, prefix, "healthy", 0)
	if err != nil {
		return f, err
	}
	time.Sleep(3 * time.Second) // the first report and the leader's first rounds
	written, err := bytesWritten(ctx, cli, prefix, etcdWindow)
	p.stop()
	if err != nil {
		return f, err
	}
	f.etcdBytesPerInterval = float64(written) / etcdWindow.Seconds()

	p, err = startDemo(ctx, bin, filepath.Join(dir, name+"-incident"), endpoint, fmt.Sprintf("/bench-%s-incident/", name), "incident-2024-05-28", degradedOffset)
	if err != nil {
		return f, err
	}
	defer p.stop()
	c := newClient(p.url, "")
	if err := waitRefused(ctx, c, "eqiad", 60*time.Second); err != nil {
		return f, err
	}
	time.Sleep(2 * time.Second)
	n, err := streamBytes(ctx, p.url, sseWindow)
	if err != nil {
		return f, err
	}
	f.sseBytesPerInterval = float64(n) / sseWindow.Seconds()
	status, err := fetch(ctx, c, "/api/v1/status")
	if err != nil {
		return f, err
	}
	f.statusBytes = len(status)

	before, err := cpuSeconds(p.cmd.Process.Pid)
	if err != nil {
		return f, err
	}
	pctx, cancel := context.WithTimeout(ctx, cpuWindow)
	var requests atomic.Int64
	var wg sync.WaitGroup
	for range pageClients {
		wg.Go(func() { pageLike(pctx, c, refetchAlways, &requests) })
	}
	wg.Wait()
	cancel()
	after, err := cpuSeconds(p.cmd.Process.Pid)
	if err != nil {
		return f, err
	}
	f.cpuSeconds, f.pageRequests = after-before, requests.Load()
	return f, nil
}

// startDemo starts bin --demo on scenario at offset, on the shared etcd
// under prefix.
func startDemo(ctx context.Context, bin, dataDir, endpoint, prefix, scenario string, offset time.Duration) (*process, error) {
	secret := filepath.Join(filepath.Dir(dataDir), "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("bench-secret-", 4)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--demo", "--demo-scenario", scenario, "--demo-offset", offset.String())
	cmd.Env = append(os.Environ(), "SCAPLOCK_JWT_SECRET_FILE="+secret,
		"SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+dataDir, "SCAPLOCK_LOG_FORMAT=json",
		"SCAPLOCK_ETCD_ENDPOINTS="+endpoint, "SCAPLOCK_ETCD_PREFIX="+prefix, "SCAPLOCK_CLUSTERS_FILE=",
		"SCAPLOCK_REPLICA_NAME=bench-"+strings.Trim(prefix, "/"))
	return runProcess(ctx, cmd)
}

// bytesWritten sums the keys and values put under prefix during window.
func bytesWritten(ctx context.Context, cli *clientv3.Client, prefix string, window time.Duration) (int, error) {
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	total := 0
	for resp := range cli.Watch(wctx, prefix, clientv3.WithPrefix()) {
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypePut {
				total += len(ev.Kv.Key) + len(ev.Kv.Value)
			}
		}
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return total, nil
}

// streamBytes counts what one event-stream subscriber receives in window.
func streamBytes(ctx context.Context, base string, window time.Duration) (int64, error) {
	sctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, base+"/api/v1/events", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /api/v1/events: %s", resp.Status)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil && sctx.Err() == nil {
		return 0, err
	}
	return n, nil
}

// pageLike behaves as the status page (web/static/app.js) does on the
// event stream, and counts its requests: "health" and "samples" it applies
// with no request; after an "event" it re-reads the status without the
// clusters' reports at once (one read in flight, and one more when
// messages came meanwhile); after a "leader" message it reads the status
// whole; a "hello" asks nothing of a page that read after it. refetchAlways
// is the baseline page, which re-read status and history (debounced 100 ms)
// after every message.
func pageLike(ctx context.Context, c *client, refetchAlways bool, requests *atomic.Int64) {
	get := func(paths ...string) {
		for _, path := range paths {
			if _, err := fetch(ctx, c, path); err == nil {
				requests.Add(1)
			}
		}
	}
	full := []string{"/api/v1/status", "/api/v1/history?limit=50"}
	get(full...)
	sc, body, err := openEvents(ctx, c)
	if err != nil {
		return
	}
	defer body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	if refetchAlways {
		baselinePage(ctx, lines, func() { get(full...) })
		return
	}
	// reads holds the one read that waits for the one in flight: true
	// when it must read the reports too.
	reads := make(chan bool, 1)
	go func() {
		for whole := range reads {
			if whole {
				get("/api/v1/status")
			} else {
				get("/api/v1/status?health=false")
			}
		}
	}()
	defer close(reads)
	ask := func(whole bool) {
		select {
		case reads <- whole:
		default: // a read waits already; it must read whole if either asked so
			if whole {
				select {
				case <-reads:
				default:
				}
				select {
				case reads <- true:
				default:
				}
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-lines:
			if !ok {
				return
			}
			switch typ, _ := strings.CutPrefix(l, "event: "); typ {
			case "event":
				ask(false)
			case "leader":
				ask(true)
			}
		}
	}
}

// baselinePage is the page before the light health path: it re-read
// everything, 100 ms after any message.
func baselinePage(ctx context.Context, lines <-chan string, read func()) {
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-debounce:
			debounce = nil
			read()
		case l, ok := <-lines:
			if !ok {
				return
			}
			if strings.HasPrefix(l, "event: ") && debounce == nil {
				debounce = time.After(100 * time.Millisecond)
			}
		}
	}
}

// openEvents opens c's event stream and returns a scanner over its lines
// and the body to close.
func openEvents(ctx context.Context, c *client) (*bufio.Scanner, io.Closer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/events", nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("GET /api/v1/events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return sc, resp.Body, nil
}

// waitRefused waits until preflight refuses scope.
func waitRefused(ctx context.Context, c *client, scope string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		allowed, err := c.preflight(ctx, scope)
		if err == nil && !allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New(scope + " never refused")
}

// cpuSeconds is the user and system CPU time pid has used.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}
