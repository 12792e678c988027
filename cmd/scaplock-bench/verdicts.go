package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	verdictClients  = 64
	verdictWarmup   = time.Second
	verdictDuration = 6 * time.Second // per server, in verdictSlices slices
	verdictSlices   = 6
)

// bareBody is what the baseline handler answers: about the size of an
// allowed preflight's body.
var bareBody = []byte(`{"allowed":true,"scopes":["eqiad"],"holds":[],"revision":1}` + "\n")

// linearizableVerdicts measures preflight, which confirms the current etcd
// revision through the shared read barrier before answering, against a
// bare net/http handler returning a fixed JSON body. Each server runs in
// its own process (this binary re-executed with -serve); this process only
// generates load, 64 keep-alive clients, one server at a time. Both etcd
// topologies: the embedded single node and a 3-member cluster of Debian's
// etcd-server on loopback.
func linearizableVerdicts(ctx context.Context, dir string) []Row {
	bare, err := startChild(ctx, "bare", nil)
	if err != nil {
		return []Row{failed("preflight vs bare handler: start the bare handler", err)}
	}
	defer bare.stop()
	var rows []Row

	embedded, err := startChild(ctx, "scaplockd", map[string]string{"SCAPLOCK_DATA_DIR": filepath.Join(dir, "embedded"), "SCAPLOCK_SCOPES": "eqiad"})
	if err != nil {
		rows = append(rows, failed("preflight vs bare handler, embedded etcd: start scaplockd", err))
	} else {
		rows = append(rows, compareVerdicts(ctx, "embedded etcd", bare.url, verdictTarget{"preflight", embedded.url, true})...)
		embedded.stop()
	}

	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o700); err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd", err))
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	cluster, err := locktest.StartCluster(cctx, filepath.Join(dir, "cluster"), 3)
	cancel()
	if err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd: start the cluster", err))
	}
	defer cluster.Stop()
	secret := filepath.Join(dir, "jwt.secret")
	var b [32]byte
	_, _ = rand.Read(b[:])
	if err := os.WriteFile(secret, []byte(hex.EncodeToString(b[:])), 0o600); err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd", err))
	}
	env := map[string]string{
		"SCAPLOCK_DATA_DIR": filepath.Join(dir, "external"), "SCAPLOCK_ETCD_ENDPOINTS": strings.Join(cluster.Endpoints(), ","),
		"SCAPLOCK_JWT_SECRET_FILE": secret, "SCAPLOCK_SCOPES": "eqiad",
	}
	external, err := startChild(ctx, "scaplockd", env)
	if err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd: start scaplockd", err))
	}
	defer external.stop()
	// A second replica on the same etcd: the one a replica kill leaves.
	env["SCAPLOCK_DATA_DIR"] = filepath.Join(dir, "external-2")
	second, err := startChild(ctx, "scaplockd", env)
	if err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd: start the second scaplockd", err))
	}
	defer second.stop()
	leader := cluster.Leader(ctx)
	if leader < 0 {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd", errors.New("no etcd leader")))
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints()[leader : leader+1], DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd", err))
	}
	defer cli.Close()
	// No floor here: every verdict waits for an etcd read-index round
	// (issue 18 asks for the ratio, reported).
	rows = append(rows, compareVerdicts(ctx, "3-member Debian etcd", bare.url,
		verdictTarget{"preflight", external.url, false})...)
	rctx, stop := context.WithTimeout(ctx, time.Second)
	rounds := readRounds(rctx, cli)
	stop()
	if len(rounds) > 0 {
		rows = append(rows, info("etcd leader's linearizable read, one at a time, idle (3-member Debian etcd)",
			fmt.Sprintf("p50 %s, p99 %s (%d reads); a barrier verdict waits about 1.5 rounds, more under load", fmtDur(median(rounds)), fmtDur(percentile(rounds, 99)), len(rounds))))
	}
	// The same raw work through a client set up as scaplockd's is (every
	// member, etcd's round-robin balancer): two of three writes go
	// through a follower, which forwards them to the leader.
	balanced, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return append(rows, failed("preflight vs bare handler, 3-member Debian etcd", err))
	}
	defer balanced.Close()
	rows = append(rows, writesVsRawEtcd(ctx, secret, external.url, cli, balanced)...)
	return append(rows, replicaKill(ctx, secret, external, second)...)
}

// writeCycles is how many hold create+release cycles writesVsRawEtcd
// times, and raw transaction pairs beside them.
const writeCycles = 300

// writesVsRawEtcd times hold create+release cycles through the API, one
// at a time, against the raw etcd work beneath them (a put-if-absent
// transaction and a delete) on the same 3-member etcd, alternating in
// slices so that all meet the same machine. The checked baseline sends
// the raw pair to the leader; the second sends it as scaplockd does, to
// every member in turn.
func writesVsRawEtcd(ctx context.Context, secret, url string, leader, balanced *clientv3.Client) []Row {
	const figure = "hold create+release through the API vs a raw etcd txn pair, 3-member Debian etcd"
	token, err := servertest.Token(secret, "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	c := newClient(url, token)
	toLeader, toAll := rawTxnPair(ctx, leader), rawTxnPair(ctx, balanced)
	var api, etcd, spread []time.Duration
	for range 10 {
		a, err := timeN(writeCycles/10, func() error { return c.holdCycle(ctx, "eqiad") })
		if err != nil {
			return []Row{failed(figure, err)}
		}
		e, err := timeN(writeCycles/10, toLeader)
		if err != nil {
			return []Row{failed(figure, err)}
		}
		b, err := timeN(writeCycles/10, toAll)
		if err != nil {
			return []Row{failed(figure, err)}
		}
		api, etcd, spread = append(api, a...), append(etcd, e...), append(spread, b...)
	}
	ratio := float64(median(api)) / float64(median(etcd))
	return []Row{
		info("hold create+release through the API, one at a time, 3-member Debian etcd",
			fmt.Sprintf("p50 %s, p99 %s (n=%d)", fmtDur(median(api)), fmtDur(percentile(api, 99)), len(api))),
		info("baseline: raw etcd put-if-absent txn + delete sent to the leader, same etcd, same slices",
			fmt.Sprintf("p50 %s, p99 %s (n=%d)", fmtDur(median(etcd)), fmtDur(percentile(etcd, 99)), len(etcd))),
		info("the same raw pair through a client on every member, as scaplockd's, same slices",
			fmt.Sprintf("p50 %s, p99 %s (n=%d); the API is %.2f× this", fmtDur(median(spread)), fmtDur(percentile(spread, 99)), len(spread), float64(median(api))/float64(median(spread)))),
		check(figure+" sent to the leader, p50", fmt.Sprintf("%.2f×", ratio), "≤ 1.5×", ratio <= 1.5),
	}
}

// replicaKill SIGKILLs one of two replicas on a 3-member etcd while the
// other takes writes and answers preflight for a held scope, and reports
// how long writes on the survivor stopped (none should: no replica waits
// for another) and what its verdicts answered meanwhile.
func replicaKill(ctx context.Context, secret string, doomed, survivor *process) []Row {
	const figure = "SIGKILL of a replica, 3-member Debian etcd"
	token, err := servertest.Token(secret, "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	c := newClient(survivor.url, token)
	if err := c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "eqiad", Reason: "bench: held across the kill"}, nil, http.StatusCreated); err != nil {
		return []Row{failed(figure, err)}
	}
	verdicts := pollVerdicts(ctx, []string{survivor.url}, "eqiad")
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	doomed.kill()
	gap, err := writesAgain(ctx, c, "eqiad", killed)
	counts := verdicts.stop()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	return []Row{
		check(figure+": writes on the survivor accepted again", fmtDur(gap), "≤ 1.5 s", gap <= 1500*time.Millisecond),
		check(figure+": the survivor's preflight for a held scope meanwhile", counts.String(), "0 allowed, 0 answered 503", counts.allowed == 0 && counts.undecided == 0),
	}
}

// readRounds times linearizable reads sent one after another to the etcd
// leader until ctx ends: how long one read-index round takes, which
// bounds a barrier's throughput (a verdict waits for the end of the round
// in flight and then a whole round).
func readRounds(ctx context.Context, cli *clientv3.Client) []time.Duration {
	var rounds []time.Duration
	for ctx.Err() == nil {
		start := time.Now()
		if _, err := cli.Get(ctx, "scaplock-bench-round", clientv3.WithCountOnly()); err != nil {
			continue
		}
		rounds = append(rounds, time.Since(start))
	}
	return rounds
}

// verdictTarget is one scaplockd whose preflight compareVerdicts loads;
// checked targets are held to the targets, the others reported.
type verdictTarget struct {
	label string
	url   string
	check bool
}

// compareVerdicts loads the bare handler and each target's preflight in
// alternating slices (so that whatever else runs on the machine weighs on
// all alike; nothing else is measured meanwhile) and compares throughput
// and p99.
func compareVerdicts(ctx context.Context, topology, bareURL string, targets ...verdictTarget) []Row {
	loadFor(ctx, bareURL, verdictWarmup, nil)
	type measured struct {
		verdictTarget
		preflight string
		res       loadResult
		counts0   barrierCounts
		countErr  error
	}
	ms := make([]*measured, len(targets))
	for i, tg := range targets {
		m := &measured{verdictTarget: tg, preflight: tg.url + "/api/v1/preflight?scope=eqiad"}
		loadFor(ctx, m.preflight, verdictWarmup, nil)
		m.counts0, m.countErr = scrapeBarrier(ctx, tg.url)
		ms[i] = m
	}
	var base loadResult
	for range verdictSlices {
		if err := base.add(ctx, bareURL); err != nil {
			return []Row{failed("bare net/http handler ("+topology+" run)", err)}
		}
		for _, m := range ms {
			if err := m.res.add(ctx, m.preflight); err != nil {
				return []Row{failed(m.label+", "+topology, err)}
			}
		}
	}
	baseRate, baseP99 := base.rate(), percentile(base.lat, 99)
	rows := []Row{info("baseline: bare net/http handler, own process, 64 keep-alive clients ("+topology+" run)",
		fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", baseRate, fmtDur(median(base.lat)), fmtDur(baseP99)))}
	for _, m := range ms {
		rate, p99 := m.res.rate(), percentile(m.res.lat, 99)
		ratio := rate / baseRate
		rows = append(rows, info(m.label+", "+topology+", 64 keep-alive clients",
			fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", rate, fmtDur(median(m.res.lat)), fmtDur(p99))))
		tput := fmt.Sprintf("%.2f×", ratio)
		tail := fmt.Sprintf("%.2f× (%s vs %s)", float64(p99)/float64(baseP99), fmtDur(p99), fmtDur(baseP99))
		if m.check {
			rows = append(rows,
				check("preflight throughput vs bare handler, "+topology, tput, "≥ 0.7×", ratio >= 0.7),
				check("preflight p99 vs bare handler, "+topology, tail, "≤ 2×", p99 <= 2*baseP99))
		} else {
			rows = append(rows, info(m.label+" vs bare handler, "+topology+": throughput, p99", tput+", "+tail))
		}
		how := "how " + m.label + " confirmed its verdicts, " + topology
		shared := info(how, "not scraped: "+fmt.Sprint(m.countErr))
		if m.countErr == nil {
			if c1, err := scrapeBarrier(ctx, m.url); err != nil {
				shared = info(how, "not scraped: "+err.Error())
			} else {
				d := c1.sub(m.counts0)
				shared = info(how, fmt.Sprintf("%.0f verdicts: %.0f through %.0f shared linearizable reads, %.0f in process (a member alone in its cluster)",
					d.syncs, d.syncs-inProcess(d), d.reads, inProcess(d)))
			}
		}
		rows = append(rows, shared)
	}
	return rows
}

// loadResult accumulates the slices of one server's load.
type loadResult struct {
	lat  []time.Duration
	took time.Duration
}

// add runs one slice of verdictClients keep-alive clients against url;
// every answer must be 200, or one of want when given.
func (r *loadResult) add(ctx context.Context, url string, want ...int) error {
	if len(want) == 0 {
		want = []int{http.StatusOK}
	}
	var err error
	var errOnce sync.Once
	began := time.Now()
	lat := loadFor(ctx, url, verdictDuration/verdictSlices, func(status int) {
		if !slices.Contains(want, status) {
			errOnce.Do(func() { err = fmt.Errorf("GET %s: HTTP %d, want %v", url, status, want) })
		}
	})
	r.took += time.Since(began)
	r.lat = append(r.lat, lat...)
	return err
}

func (r *loadResult) rate() float64 { return float64(len(r.lat)) / r.took.Seconds() }

func loadFor(ctx context.Context, url string, d time.Duration, check func(int)) []time.Duration {
	tr := &http.Transport{MaxIdleConnsPerHost: verdictClients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for range verdictClients {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 4096)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			for ctx.Err() == nil {
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue // cut off by the end of the run
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(start))
				if check != nil {
					check(resp.StatusCode)
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// startChild re-executes this binary with -serve kind and env, and waits
// for the URL it prints.
func startChild(ctx context.Context, kind string, env map[string]string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", kind)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	c := newProcess(cmd)
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, "http://") {
			c.stop()
			return nil, fmt.Errorf("%s server did not start (said %q)", kind, line)
		}
		c.url = line
		return c, nil
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	case <-time.After(90 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s server not listening after 90s", kind)
	}
}

// serveChild is the -serve mode: run one server until SIGTERM, printing
// its URL on the first line of stdout.
func serveChild(kind string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch kind {
	case "bare":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(bareBody)
		})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		fmt.Println("http://" + l.Addr().String())
		if err := srv.Serve(l); err != http.ErrServerClosed {
			return err
		}
		return nil
	case "scaplockd":
		if path := os.Getenv("SCAPLOCK_BENCH_CPUPROFILE"); path != "" {
			// One profile per scaplockd the bench starts: path.<pid>.
			f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		cfg, err := servertest.Config(ctx, envMap())
		if err != nil {
			return err
		}
		s, err := server.Start(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		fmt.Println(s.URL())
		<-ctx.Done()
		return s.Stop()
	}
	return fmt.Errorf("-serve: unknown server %q", kind)
}

// envMap is the SCAPLOCK_* environment.
func envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SCAPLOCK_") {
			m[k] = v
		}
	}
	return m
}

// barrierCounts are scaplockd's read barrier counters: verdicts
// confirmed and the linearizable reads that served them.
type barrierCounts struct{ syncs, reads float64 }

func (c barrierCounts) sub(o barrierCounts) barrierCounts {
	return barrierCounts{c.syncs - o.syncs, c.reads - o.reads}
}

// inProcess is how many verdicts no read confirmed: with reads, none (the
// barrier served them all); without, all (a member alone in its cluster).
func inProcess(d barrierCounts) float64 {
	if d.reads > 0 {
		return 0
	}
	return d.syncs
}

// scrapeBarrier reads base's barrierCounts from its /metrics.
func scrapeBarrier(ctx context.Context, base string) (barrierCounts, error) {
	var c barrierCounts
	syncs, reads := &c.syncs, &c.reads
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return c, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return c, err
		}
		if mf.GetName() != "scaplock_read_barrier_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				switch {
				case l.GetName() == "what" && l.GetValue() == "syncs":
					*syncs = m.GetCounter().GetValue()
				case l.GetName() == "what" && l.GetValue() == "reads":
					*reads = m.GetCounter().GetValue()
				}
			}
		}
	}
	if c.syncs == 0 {
		return c, fmt.Errorf("no scaplock_read_barrier_total{what=\"syncs\"} in %s/metrics", base)
	}
	return c, nil
}
