package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// fleetName is the i-th cluster of a simulated fleet.
func fleetName(i int) string { return fmt.Sprintf("cluster-%03d", i+1) }

// startFleetDaemon starts scaplockd knowing n cluster scopes.
func startFleetDaemon(tb testing.TB, n int) *daemon {
	tb.Helper()
	names := make([]string, n)
	for i := range n {
		names[i] = fleetName(i)
	}
	return startDaemon(tb, map[string]string{"SCAPLOCK_SCOPES": strings.Join(names, ",")})
}

// publishReport writes one cluster's report as the gate leader does and
// returns its revision. level is the readyz latency's level on every
// apiserver (the host signals are ok); status the cluster's.
func (d *daemon) publishReport(tb testing.TB, cluster string, status health.Status, level health.Level, reason string, now time.Time) int64 {
	tb.Helper()
	latency := map[health.Level]float64{health.LevelOK: 0.042, health.LevelWarn: 0.62, health.LevelCrit: 1}[level]
	hosts := make([]apiv1.HostHealth, 3)
	for i := range hosts {
		sig := func(v float64, l health.Level, warn, crit float64) apiv1.SignalHealth {
			return apiv1.SignalHealth{Value: v, Level: l, Warn: warn, Crit: crit, At: now, Since: now.Add(-time.Minute)}
		}
		sigs := map[apiv1.Signal]apiv1.SignalHealth{
			apiv1.SignalLatency:     sig(latency, level, 0.5, 1),
			apiv1.SignalCPU:         sig(0.31, health.LevelOK, 0.8, 0.9),
			apiv1.SignalRetransmits: sig(12, health.LevelOK, 500, 1000),
			apiv1.SignalNIC:         sig(0.04, health.LevelOK, 0.8, 0.9),
		}
		hosts[i] = apiv1.HostHealth{Host: fmt.Sprintf("%s-master%d:6443", cluster, i+1), Signals: sigs}
	}
	r := apiv1.ClusterHealth{Cluster: cluster, Status: status, Since: now.Add(-time.Minute), Hosts: hosts, Reason: reason, UpdatedAt: now}
	raw, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	store := d.srv.Store()
	resp, err := store.Client().Put(context.Background(), store.Keys().HealthReport(cluster), string(raw))
	if err != nil {
		tb.Fatalf("publish %s: %v", cluster, err)
	}
	return resp.Header.Revision
}

// publishFleet reports n clusters: the ones in degraded degraded, the ones
// in warn ok with every signal at warn, the rest ok and quiet.
func (d *daemon) publishFleet(tb testing.TB, n int, degraded, warn []string) {
	tb.Helper()
	now := time.Now().UTC()
	var rev int64
	for i := range n {
		name := fleetName(i)
		switch {
		case contains(degraded, name):
			rev = d.publishReport(tb, name, health.StatusDegraded, health.LevelCrit, "control plane degraded: readyz timeout", now)
		case contains(warn, name):
			rev = d.publishReport(tb, name, health.StatusOK, health.LevelWarn, "", now)
		default:
			rev = d.publishReport(tb, name, health.StatusOK, health.LevelOK, "", now)
		}
	}
	if err := d.srv.Store().WaitRevision(context.Background(), rev); err != nil {
		tb.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The page at 100 clusters: what refuses comes first, healthy clusters
// fold into one line each in the verdicts and the health, and a filter
// box finds a cluster by name.
func TestPageAtManyClusters(t *testing.T) {
	const n = 100
	d := startFleetDaemon(t, n)
	d.publishFleet(t, n, []string{"cluster-042"}, []string{"cluster-013"})
	if _, err := d.srv.Store().Create(t.Context(), lock.HoldRequest{
		Scope: "cluster-042", Kind: lock.KindAuto, Owner: "scaplock", Reason: "control plane degraded",
	}); err != nil {
		t.Fatal(err)
	}
	d.hold(t, "cluster-077", "etcd defrag on cluster-077")
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "REFUSED for cluster-077", verdictIs("cluster-077", "REFUSED"), 5*time.Second)
	waitFor(t, b, "the health fold", `document.querySelector('#health-list > details.fold')`, 5*time.Second)

	t.Run("refused first, allowed clusters folded", func(t *testing.T) {
		got := eval[[]string](t, b, `[...document.querySelectorAll('#verdict-list > article.verdict')].map(e => e.dataset.scope + " " + e.querySelector('.verdict-text').textContent)`)
		want := []string{"global DEPLOYS REFUSED", "cluster-042 DEPLOYS REFUSED", "cluster-077 DEPLOYS REFUSED"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("verdict cards outside the fold %q, want %q", got, want)
		}
		if got := eval[string](t, b, `document.querySelector('#verdict-list > details.fold > summary').textContent`); got != "98 clusters: deploys allowed" {
			t.Errorf("verdict fold line %q, want %q", got, "98 clusters: deploys allowed")
		}
		if got := eval[string](t, b, `document.querySelector('#verdict-list > :last-child').tagName`); got != "DETAILS" {
			t.Errorf("the verdicts end with a %s, want the fold", got)
		}
	})

	t.Run("degraded first, then warn, healthy folded", func(t *testing.T) {
		got := eval[[]string](t, b, `[...document.querySelectorAll('#health-list > article.cluster')].map(e => e.dataset.cluster)`)
		if want := []string{"cluster-042", "cluster-013"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("cluster boxes outside the fold %q, want %q", got, want)
		}
		if got := eval[string](t, b, `document.querySelector('#health-list > details.fold > summary').textContent`); got != "98 clusters healthy" {
			t.Errorf("health fold line %q, want %q", got, "98 clusters healthy")
		}
		if got := eval[int](t, b, `document.querySelectorAll('#health-list details.fold article.cluster').length`); got != 0 {
			t.Errorf("%d healthy boxes built while folded, want 0", got)
		}
		eval[bool](t, b, `document.querySelector('#health-list > details.fold').open = true`)
		waitFor(t, b, "98 healthy boxes in the open fold", `document.querySelectorAll('#health-list details.fold article.cluster').length === 98`, 2*time.Second)
		eval[bool](t, b, `document.querySelector('#health-list > details.fold').open = false`)
		waitFor(t, b, "the fold closed again", `document.querySelectorAll('#health-list details.fold article.cluster').length === 0`, 2*time.Second)
	})

	t.Run("filter by cluster name", func(t *testing.T) {
		setFilter := func(s string) {
			t.Helper()
			// As typing does: the value changes, then an input event.
			eval[bool](t, b, fmt.Sprintf(`(() => { const i = document.getElementById("cluster-filter"); i.value = %q; i.dispatchEvent(new Event("input")); return true; })()`, s))
		}
		setFilter("cluster-05")
		waitFor(t, b, "10 matches", `document.getElementById('filter-count').textContent === "10 of 100 clusters match"`, 2*time.Second)
		got := eval[[]string](t, b, `[...document.querySelectorAll('#health-list article.cluster')].map(e => e.dataset.cluster)`)
		var want []string
		for i := 49; i < 59; i++ { // cluster-050 .. cluster-059
			want = append(want, fleetName(i))
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("health boxes for %q: %q, want %q", "cluster-05", got, want)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#verdict-list details.fold, #health-list details.fold').length`); n != 0 {
			t.Errorf("%d folds while filtering, want none: every match shows", n)
		}
		verdicts := eval[[]string](t, b, `[...document.querySelectorAll('#verdict-list article.verdict')].map(e => e.dataset.scope)`)
		if len(verdicts) != 11 || verdicts[0] != "global" {
			t.Errorf("verdicts while filtering %q, want global and the 10 matches", verdicts)
		}

		setFilter("077")
		waitFor(t, b, "one match", `document.getElementById('filter-count').textContent === "1 of 100 clusters match"`, 2*time.Second)
		if got := eval[[]string](t, b, `[...document.querySelectorAll('#verdict-list article.verdict')].map(e => e.dataset.scope)`); strings.Join(got, "|") != "global|cluster-077" {
			t.Errorf("verdicts for 077: %q, want global and cluster-077", got)
		}

		setFilter("")
		waitFor(t, b, "the folds back", `document.querySelectorAll('#verdict-list > details.fold, #health-list > details.fold').length === 2`, 2*time.Second)
	})

	t.Run("screenshot", func(t *testing.T) {
		if os.Getenv("SCAPLOCK_SCREENSHOT") == "" {
			return
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "screenshot-100-clusters.png")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	})

	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}

// shownScript, evaluated at the start of every document, records in
// window.__shown (milliseconds since navigation began) the first frame in
// which the page shows the verdicts and the health it read.
const shownScript = `(() => {
  const ready = () => document.querySelector('#verdict-list [data-scope=global] .verdict-text') &&
    document.getElementById('health-empty') && document.getElementById('health-empty').hidden;
  const obs = new MutationObserver(() => {
    if (ready()) { obs.disconnect(); afterFrame(() => { window.__shown = performance.now(); }); }
  });
  obs.observe(document, { subtree: true, childList: true, attributes: true });
` + afterFrameJS + `
})();`

// afterFrameJS defines afterFrame(f): f runs once the next frame has been
// rendered (its style, layout and paint done), not at its start as a bare
// requestAnimationFrame callback does.
const afterFrameJS = `
  function afterFrame(f) {
    requestAnimationFrame(() => { const c = new MessageChannel(); c.port1.onmessage = f; c.port2.postMessage(0); });
  }`

// probeScript, evaluated at the start of every document, counts in
// window.__reading the page's requests in flight, so that a benchmark can
// wait for the reads at load to end before it times an update, and sets
// window.__arrived (wall-clock milliseconds) when the page's main thread
// takes up a "health" message, just before the page's own listener runs
// (time the message waited behind other work on that thread is before
// it).
const probeScript = `(() => {
  const fetch = window.fetch;
  window.__reading = 0;
  window.fetch = function (...args) {
    window.__reading++;
    const p = fetch.apply(this, args);
    p.then(() => window.__reading--, () => window.__reading--);
    return p;
  };
  const ES = window.EventSource;
  window.__arrived = 0;
  window.EventSource = class extends ES {
    constructor(...args) {
      super(...args);
      this.addEventListener("health", () => { window.__arrived = performance.timeOrigin + performance.now(); });
    }
  };
})();`

// onEveryDocument evaluates script at the start of every document the
// browser opens from now on.
func onEveryDocument(tb testing.TB, br *browser, script string) {
	tb.Helper()
	if err := chromedp.Do(br.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	})); err != nil {
		tb.Fatal(err)
	}
}

// pageSamples is how many times each page benchmark measures: a p50 and a
// worst case of 20 say more than a mean of 5 on a machine shared with
// other work.
const pageSamples = 20

// reportLatencies reports the p50 and the worst of xs in milliseconds.
func reportLatencies(b *testing.B, prefix string, xs []time.Duration) {
	s := slices.Clone(xs)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(s[(len(s)-1)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(s[len(s)-1]), prefix+"max-ms")
}

// BenchmarkPageFirstPaint measures, at 2 and at 100 clusters (one
// degraded and refused), from navigation until the first frame showing
// the verdicts and the health has been rendered. Run it with
// -benchtime=20x (pageSamples).
func BenchmarkPageFirstPaint(b *testing.B) {
	for _, n := range []int{2, 100} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			d := startFleetDaemon(b, n)
			d.publishFleet(b, n, []string{fleetName(0)}, nil)
			br := newBrowser(b)
			onEveryDocument(b, br, shownScript)
			var took []time.Duration
			b.ResetTimer()
			for range b.N {
				br.open(b, d.url+"/")
				waitFor(b, br, "the first frame with data", `window.__shown`, 10*time.Second)
				took = append(took, time.Duration(eval[float64](b, br, `window.__shown`)*float64(time.Millisecond)))
			}
			reportLatencies(b, "", took)
			for _, p := range br.problems() {
				b.Errorf("page problem: %s", p)
			}
		})
	}
}

// appliedScript returns an expression that installs an observer setting
// window.__applied (wall-clock milliseconds) once the first frame in which
// cluster's box shows reason has been rendered.
func appliedScript(cluster, reason string) string {
	return fmt.Sprintf(`(() => {
  window.__applied = 0;
  const ready = () => { const r = document.querySelector('#health-list [data-cluster=%q] .cluster-reason'); return r && r.textContent === %q; };
  const obs = new MutationObserver(() => {
    if (ready()) { obs.disconnect(); afterFrame(() => { window.__applied = performance.timeOrigin + performance.now(); }); }
  });
  obs.observe(document.getElementById('health-list'), { subtree: true, childList: true, characterData: true });
  %s
  return true;
})()`, cluster, reason, afterFrameJS)
}

// BenchmarkPageUpdate measures, at 2 and at 100 clusters, from the write
// of a degraded cluster's new report to etcd until the first frame of the
// open page that shows it has been rendered: the etcd write, the watch,
// the event stream and the page applying the message in place. It also
// reports the etcd write alone (put-p50-ms, put-max-ms) and the page's own
// share, from taking up the message to that frame (page-p50-ms,
// page-max-ms). Timing starts
// once the page's reads at load have ended. "fold=open" is 100 clusters
// with the healthy ones' fold open: every box on the page, and the page
// re-reading their values every 5 s. Run it with -benchtime=20x
// (pageSamples).
func BenchmarkPageUpdate(b *testing.B) {
	for _, c := range []struct {
		n    int
		open bool
	}{{2, false}, {100, false}, {100, true}} {
		name := fmt.Sprintf("clusters=%d", c.n)
		if c.open {
			name += ",fold=open"
		}
		b.Run(name, func(b *testing.B) {
			n := c.n
			d := startFleetDaemon(b, n)
			d.publishFleet(b, n, []string{fleetName(0)}, nil)
			br := newBrowser(b)
			onEveryDocument(b, br, probeScript)
			br.open(b, d.url+"/")
			waitFor(b, br, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
			waitFor(b, br, "the degraded cluster", fmt.Sprintf(`document.querySelector('#health-list [data-cluster=%q]')`, fleetName(0)), 5*time.Second)
			if c.open {
				eval[bool](b, br, `document.querySelector('#health-list > details.fold').open = true`)
				waitFor(b, br, "every box", fmt.Sprintf(`document.querySelectorAll('#health-list details.fold article.cluster').length === %d`, n-1), 5*time.Second)
			}
			waitFor(b, br, "the reads at load to end", `window.__reading === 0 && document.getElementById("deploys-24h").textContent !== "" && document.getElementById("windows-empty").textContent !== "loading…"`, 10*time.Second)
			var took, puts, inPage []time.Duration
			b.ResetTimer()
			for i := range b.N {
				reason := fmt.Sprintf("control plane degraded: update %d", i)
				eval[bool](b, br, appliedScript(fleetName(0), reason))
				start := time.Now()
				d.publishReport(b, fleetName(0), health.StatusDegraded, health.LevelCrit, reason, start.UTC())
				puts = append(puts, time.Since(start))
				waitFor(b, br, reason, `window.__applied`, 5*time.Second)
				wall := func(expr string) time.Time { return time.UnixMicro(int64(eval[float64](b, br, expr) * 1000)) }
				applied := wall(`window.__applied`)
				took = append(took, applied.Sub(start))
				inPage = append(inPage, applied.Sub(wall(`window.__arrived`)))
			}
			reportLatencies(b, "", took)
			reportLatencies(b, "put-", puts)
			reportLatencies(b, "page-", inPage)
			for _, p := range br.problems() {
				b.Errorf("page problem: %s", p)
			}
		})
	}
}
