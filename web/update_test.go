package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health"
)

// resourceReads is an expression counting the page's requests whose URL
// ends with suffix.
func resourceReads(suffix string) string {
	return fmt.Sprintf(`performance.getEntriesByType("resource").filter(e => e.name.endsWith(%q)).length`, suffix)
}

// The page reads its status, history and samples once at load: the
// stream's hello names a revision the page's first read already reached,
// so it reads them again only after a gap, and a hold change re-reads the
// status alone.
func TestPageReadsOnceAtLoad(t *testing.T) {
	d := startDaemon(t, nil)
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	d.hold(t, "global", "freeze for the reads test")
	// The hold's event follows the hello on the stream.
	waitFor(t, b, "REFUSED", verdictIs("global", "REFUSED"), liveWithin)
	for _, c := range []struct {
		what string
		want int
	}{
		{"/api/v1/status", 1},
		{"/api/v1/status?health=false", 1},
		{"/api/v1/history?limit=50", 1},
		{"/api/v1/samples", 1},
	} {
		if got := eval[int](t, b, resourceReads(c.what)); got != c.want {
			t.Errorf("%s read %d times, want %d", c.what, got, c.want)
		}
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}

// A status read answered before a cluster's new report, but arriving
// after the stream brought that report, does not take the page back to the
// old one.
func TestPageKeepsAStreamedReportOverAnOlderRead(t *testing.T) {
	d := startDaemon(t, nil)
	start := time.Now().UTC()
	d.publishReport(t, "eqiad", health.StatusDegraded, health.LevelCrit, "control plane degraded: first report", start)

	// A proxy that, once armed, reads the next status with health at once
	// and answers it only when let go.
	var armed atomic.Bool
	answered := make(chan *httptest.ResponseRecorder, 1)
	front := startFront(t, d, func(f *front, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/status" || r.URL.RawQuery != "" || !armed.CompareAndSwap(true, false) {
			f.pass.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		f.pass.ServeHTTP(rec, r)
		answered <- rec
		if !f.held(r) {
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})

	b := newBrowser(t)
	b.open(t, front.URL+"/")
	reasonIs := func(reason string) string {
		return fmt.Sprintf(`(document.querySelector('#health-list [data-cluster=eqiad] .cluster-reason') || {}).textContent === %q`, reason)
	}
	waitFor(t, b, "the first report", reasonIs("control plane degraded: first report"), 5*time.Second)
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)

	armed.Store(true)
	// Filtering reads the status with the clusters' reports.
	eval[bool](t, b, `(() => { const i = document.getElementById("cluster-filter"); i.value = "eqiad"; i.dispatchEvent(new Event("input")); return true; })()`)
	var old *httptest.ResponseRecorder
	select {
	case old = <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the page did not read the status after the filter changed")
	}
	var read struct {
		Time     time.Time `json:"time"`
		Revision int64     `json:"revision"`
	}
	if err := json.Unmarshal(old.Body.Bytes(), &read); err != nil || !strings.Contains(old.Body.String(), "first report") {
		t.Fatalf("held status (%v): %s", err, old.Body.String())
	}

	rev := d.publishReport(t, "eqiad", health.StatusDegraded, health.LevelCrit, "control plane degraded: second report", start.Add(time.Second))
	if rev <= read.Revision {
		t.Fatalf("new report at revision %d, not after the held read's %d", rev, read.Revision)
	}
	waitFor(t, b, "the second report, from the stream", reasonIs("control plane degraded: second report"), liveWithin)

	front.letGo()
	waitFor(t, b, "the held status applied", fmt.Sprintf(`(document.querySelector("#as-of time") || {getAttribute: () => ""}).getAttribute("datetime") === new Date(%q).toISOString()`, read.Time.Format(time.RFC3339Nano)), liveWithin)
	if got := eval[string](t, b, `document.querySelector('#health-list [data-cluster=eqiad] .cluster-reason').textContent`); got != "control plane degraded: second report" {
		t.Errorf("after the older read the page shows %q, want the streamed second report", got)
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}

// A cluster's new report puts only that cluster's box on the page again:
// the other boxes and the fold stay where they are, however many there
// are. A cluster that turns degraded moves up out of the fold, alone.
func TestPageUpdatePutsOneBox(t *testing.T) {
	const n = 8 // 6 quiet clusters: folded
	d := startFleetDaemon(t, n)
	d.publishFleet(t, n, []string{fleetName(0)}, []string{fleetName(1)})
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	waitFor(t, b, "the health fold", `document.querySelector('#health-list > details.fold')`, 5*time.Second)

	// watch records the boxes put on and taken off the health list.
	const watch = `(() => {
  window.__put = []; window.__taken = [];
  const names = (nodes) => [...nodes].filter(n => n.matches && n.matches("article.cluster")).map(n => n.dataset.cluster);
  new MutationObserver((recs) => {
    for (const r of recs) {
      window.__put.push(...names(r.addedNodes));
      window.__taken.push(...names(r.removedNodes));
      for (const n of r.addedNodes) if (n.matches && n.matches("details.fold")) window.__put.push("fold");
      for (const n of r.removedNodes) if (n.matches && n.matches("details.fold")) window.__taken.push("fold");
    }
  }).observe(document.getElementById("health-list"), { subtree: true, childList: true });
  return true;
})()`
	eval[bool](t, b, watch)
	topLevel := `[...document.querySelectorAll('#health-list > *')].map(e => e.dataset.cluster || e.tagName.toLowerCase())`

	for _, c := range []struct {
		name, cluster string
		put           []string
		order         []string
		fold          string
	}{
		{"new reason", fleetName(0), []string{fleetName(0)}, []string{fleetName(0), fleetName(1), "details"}, "6 clusters healthy"},
		{"quiet turns degraded", fleetName(4), []string{fleetName(4)}, []string{fleetName(0), fleetName(4), fleetName(1), "details"}, "5 clusters healthy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			eval[bool](t, b, `window.__put = []; window.__taken = []; true`)
			reason := "control plane degraded: " + c.name
			d.publishReport(t, c.cluster, health.StatusDegraded, health.LevelCrit, reason, time.Now().UTC())
			waitFor(t, b, reason, fmt.Sprintf(`(document.querySelector('#health-list [data-cluster=%q] .cluster-reason') || {}).textContent === %q`, c.cluster, reason), liveWithin)
			if got := eval[[]string](t, b, `window.__put`); strings.Join(got, "|") != strings.Join(c.put, "|") {
				t.Errorf("boxes put on the page %q, want only %q", got, c.put)
			}
			if got := eval[[]string](t, b, `window.__taken`); len(got) > 1 {
				t.Errorf("boxes taken off the page %q, want at most the old box of %s", got, c.cluster)
			}
			if got := eval[[]string](t, b, topLevel); strings.Join(got, "|") != strings.Join(c.order, "|") {
				t.Errorf("health list %q, want %q", got, c.order)
			}
			if got := eval[string](t, b, `document.querySelector('#health-list > details.fold > summary').textContent`); got != c.fold {
				t.Errorf("fold line %q, want %q", got, c.fold)
			}
		})
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
