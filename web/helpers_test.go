package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// chromiumPath is Debian's chromium; `make test` installs it when missing.
const chromiumPath = "/usr/bin/chromium"

// daemon is a real scaplockd with embedded etcd, and an SRE token for it.
type daemon struct {
	srv     *server.Server
	url     string
	token   string
	dataDir string
	stopped bool
}

// startDaemon starts scaplockd on a free loopback port and a fresh data
// dir; env overrides or adds SCAPLOCK_* variables. It stops at cleanup
// unless the test stopped it.
func startDaemon(tb testing.TB, env map[string]string) *daemon {
	tb.Helper()
	ctx := context.Background()
	vars := map[string]string{"SCAPLOCK_DATA_DIR": tb.TempDir(), "SCAPLOCK_SHUTDOWN_TIMEOUT": "2s", "SCAPLOCK_SCOPES": "eqiad,codfw"}
	for k, v := range env {
		vars[k] = v
	}
	srv, err := servertest.Start(ctx, vars)
	if err != nil {
		tb.Fatalf("start scaplockd: %v", err)
	}
	d := &daemon{srv: srv, url: srv.URL(), dataDir: vars["SCAPLOCK_DATA_DIR"]}
	tb.Cleanup(func() { d.stop(tb) })
	token, err := servertest.Token(srv.SecretFile, "alice", api.RoleSRE)
	if err != nil {
		tb.Fatalf("sign token: %v", err)
	}
	d.token = token
	return d
}

// stop stops scaplockd; a second call does nothing.
func (d *daemon) stop(tb testing.TB) {
	tb.Helper()
	if d.stopped {
		return
	}
	d.stopped = true
	if err := d.srv.Stop(); err != nil {
		tb.Errorf("stop scaplockd: %v", err)
	}
}

// call sends a JSON request as alice and decodes the answer into out.
func (d *daemon) call(tb testing.TB, method, path string, body, out any) {
	tb.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(method, d.url+path, bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		tb.Fatalf("%s %s: %s: %s", method, path, res.Status, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
}

func (d *daemon) hold(tb testing.TB, scope, reason string) lock.Hold {
	tb.Helper()
	var h lock.Hold
	d.call(tb, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: scope, Reason: reason, Duration: "2h"}, &h)
	return h
}

func (d *daemon) release(tb testing.TB, id string) {
	tb.Helper()
	d.call(tb, http.MethodDelete, "/api/v1/holds/"+id, api.ReleaseBody{Reason: "done"}, nil)
}

// publishDegraded publishes an eqiad report like the incident's: one
// apiserver fine, the other with a CPU burst at crit and thousands of
// retransmits.
func (d *daemon) publishDegraded(tb testing.TB, now time.Time) {
	tb.Helper()
	recent := func(base, burst float64) []health.Point {
		var ps []health.Point
		for i := range 60 {
			v := base + 0.02*float64(i%5)
			if i >= 44 && i < 48 { // a 20-second burst, 5 s samples
				v = burst
			}
			ps = append(ps, health.Point{At: now.Add(time.Duration(i-59) * 5 * time.Second), Value: v})
		}
		return ps
	}
	sig := func(v float64, lvl health.Level, warn, crit float64, rec []health.Point) health.SignalState {
		return health.SignalState{Value: v, Level: lvl, Warn: warn, Crit: crit, At: now, Since: now.Add(-45 * time.Second), Recent: rec}
	}
	st := health.State{
		Cluster: "eqiad", Status: health.StatusDegraded, Since: now.Add(-45 * time.Second), TrippedAt: now.Add(-45 * time.Second),
		CritStreak: 9, UpdatedAt: now,
		Reason: "control plane degraded: kubemaster1002.eqiad.wmnet:6443 CPU 98% (limit 90%), TCP retransmits 6012/s (limit 1000/s)",
		Hosts: []health.HostState{
			{Host: "kubemaster1001.eqiad.wmnet:6443", Signals: map[health.Signal]health.SignalState{
				health.SignalLatency:     sig(0.042, health.LevelOK, 0.5, 1, recent(0.03, 0.4)),
				health.SignalCPU:         sig(0.41, health.LevelOK, 0.75, 0.9, recent(0.35, 0.7)),
				health.SignalRetransmits: sig(12, health.LevelOK, 300, 1000, recent(10, 40)),
				health.SignalNIC:         sig(0.22, health.LevelOK, 0.7, 0.9, recent(0.2, 0.3)),
			}},
			{Host: "kubemaster1002.eqiad.wmnet:6443", Signals: map[health.Signal]health.SignalState{
				health.SignalLatency:     sig(0.83, health.LevelWarn, 0.5, 1, recent(0.3, 4.2)),
				health.SignalCPU:         sig(0.98, health.LevelCrit, 0.75, 0.9, recent(0.55, 0.99)),
				health.SignalRetransmits: sig(6012, health.LevelCrit, 300, 1000, recent(2500, 6100)),
				health.SignalNIC:         {Level: health.LevelError, Err: "node_exporter: connection refused", Warn: 0.7, Crit: 0.9, At: now},
			}},
		},
	}
	// Written as the gate leader publishes it: one evaluation's samples at
	// a time, then the report without them.
	store := d.srv.Store()
	put := func(key string, v any) int64 {
		raw, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		resp, err := store.Client().Put(context.Background(), key, string(raw))
		if err != nil {
			tb.Fatalf("publish health: %v", err)
		}
		return resp.Header.Revision
	}
	for i := range 60 {
		smp := apiv1.Samples{Cluster: "eqiad", At: now.Add(time.Duration(i-59) * 5 * time.Second)}
		for _, h := range st.Hosts {
			hs := apiv1.HostSamples{Host: h.Host, Values: map[apiv1.Signal]float64{}}
			for sig, ss := range h.Signals {
				if len(ss.Recent) > i {
					hs.Values[sig] = ss.Recent[i].Value
				}
			}
			smp.Hosts = append(smp.Hosts, hs)
		}
		put(store.Keys().ClusterSamples("eqiad"), smp)
	}
	rev := put(store.Keys().HealthReport("eqiad"), st.Report())
	if err := store.WaitRevision(context.Background(), rev); err != nil {
		tb.Fatal(err)
	}
}

// browser is a headless chromium on one tab, recording every console error,
// uncaught exception and dialog.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	bad []string
	// outage lets refused connections pass: the test stopped the service on
	// purpose. Chromium reports them a little late, so it stays set.
	outage bool
	// forgiven are errors the test caused on purpose; like outage, they stay
	// forgiven because Chromium may report them after the test moved on.
	forgiven []string
}

// expectOutage lets refused connections pass from now on.
func (b *browser) expectOutage() {
	b.mu.Lock()
	b.outage = true
	b.mu.Unlock()
}

func newBrowser(tb testing.TB) *browser {
	tb.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		tb.Fatalf("%s not found (%v): the browser tests need Debian's chromium; `make test` installs it (apt-get install chromium)", chromiumPath, err)
	}
	// Chromium makes its own org.chromium.Chromium.* directories in
	// $TMPDIR besides the profile, and leaves them when it is killed: both
	// live in the test's temporary directory, removed after the browser.
	tmp := tb.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				msg = "log " + string(e.Entry.Source) + ": " + e.Entry.Text + " " + e.Entry.URL
			}
		case *page.EventJavascriptDialogOpening:
			msg = "dialog " + string(e.Type) + ": " + e.Message
		}
		if msg == "" {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.outage && strings.HasPrefix(msg, "log network:") && strings.Contains(msg, "net::ERR_CONNECTION_REFUSED") {
			return
		}
		for _, f := range b.forgiven {
			if strings.Contains(msg, f) {
				return
			}
		}
		b.bad = append(b.bad, msg)
	})
	if err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil {
		tb.Fatalf("viewport: %v", err)
	}
	return b
}

// forgive drops the problems that contain substr, so far and from now on:
// errors the test caused on purpose.
func (b *browser) forgive(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgiven = append(b.forgiven, substr)
	kept := b.bad[:0]
	for _, p := range b.bad {
		if !strings.Contains(p, substr) {
			kept = append(kept, p)
		}
	}
	b.bad = kept
}

// problems returns what went wrong in the page so far.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bad...)
}

func (b *browser) open(tb testing.TB, url string) {
	tb.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		tb.Fatalf("open %s: %v", url, err)
	}
}

// eval runs a JavaScript expression in the page.
func eval[T any](tb testing.TB, b *browser, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls the expression every 10 ms until it is true, and returns
// how long that took; it fails after timeout with the page's state.
func waitFor(tb testing.TB, b *browser, what, expr string, timeout time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		if eval[bool](tb, b, "!!("+expr+")") {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			tb.Fatalf("after %s the page does not show %s (%s); verdicts read %q; problems: %v", timeout, what, expr,
				eval[string](tb, b, `document.getElementById("verdict-list").innerText`), b.problems())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verdictIs is an expression true when the scope's verdict reads word.
func verdictIs(scope, word string) string {
	return fmt.Sprintf(`(document.querySelector('#verdict-list [data-scope=%q] .verdict-text') || {}).textContent === %q`, scope, "DEPLOYS "+word)
}

// front is a proxy on loopback in front of a daemon, for tests that hold
// some answers back: its handler passes a request on with pass, and waits
// for release, which cleanup closes if the test did not.
type front struct {
	*httptest.Server
	pass    http.Handler
	release chan struct{}
}

// startFront starts a front for d whose requests go to handle. Call it
// before newBrowser: its cleanup then runs after the browser is gone
// (Close waits for the event stream to end).
func startFront(tb testing.TB, d *daemon, handle func(f *front, w http.ResponseWriter, r *http.Request)) *front {
	tb.Helper()
	target, err := url.Parse(d.url)
	if err != nil {
		tb.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // the event stream flows through unbuffered
	f := &front{pass: proxy, release: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(f, w, r) }))
	tb.Cleanup(func() {
		f.letGo()
		f.CloseClientConnections()
		f.Close()
	})
	return f
}

// letGo releases every held request, once.
func (f *front) letGo() {
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

// held waits for release; false if the request ended first.
func (f *front) held(r *http.Request) bool {
	select {
	case <-f.release:
		return true
	case <-r.Context().Done():
		return false
	}
}
