package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scaplock/scaplock/lock"
)

// liveWithin is how fast a change must reach the open page.
const liveWithin = 2 * time.Second

// TestPageInChromium opens the page of a real scaplockd in a real browser
// and follows it through a lock, an XSS attempt, degraded health and an
// unlock, without reloading.
func TestPageInChromium(t *testing.T) {
	d := startDaemon(t, nil)
	b := newBrowser(t)
	b.open(t, d.url+"/")

	waitFor(t, b, "ALLOWED for global", verdictIs("global", "ALLOWED"), 5*time.Second)
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	// A marker survives only if the page is never reloaded.
	eval[bool](t, b, `window.__marker = "same page", true`)

	t.Run("lock shows REFUSED and the reason without reload", func(t *testing.T) {
		historyReads := `performance.getEntriesByType("resource").filter(e => e.name.includes("/api/v1/history")).length`
		// One read at load (the stream's hello names no later revision); then none.
		waitFor(t, b, "the history read at load", historyReads+" >= 1", liveWithin)
		readsBefore := eval[int](t, b, historyReads)
		h := d.hold(t, "global", "train deploy freeze, ask #sre")
		took := waitFor(t, b, "REFUSED", verdictIs("global", "REFUSED"), liveWithin)
		waitFor(t, b, "the reason", `[...document.querySelectorAll("#holds-table .reason")].some(e => e.textContent === "train deploy freeze, ask #sre")`, liveWithin)
		t.Logf("REFUSED shown %s after the POST answered", took)
		if got := eval[string](t, b, `document.querySelector("#holds-table tr[data-id] th").textContent`); got != "global" {
			t.Errorf("hold scope cell %q, want global", got)
		}
		if got := eval[string](t, b, `document.querySelector("#holds-table .kind").textContent`); got != "manual" {
			t.Errorf("hold kind %q, want manual", got)
		}
		if got := eval[string](t, b, `document.querySelector("#verdict-list [data-scope=global] .verdict-summary").textContent`); got != "locked by alice" {
			t.Errorf("verdict summary %q, want %q", got, "locked by alice")
		}
		// The page shows the service's message, the one text of a refusal.
		msg := eval[string](t, b, `document.querySelector("#verdict-list [data-scope=global] .verdict-message").textContent`)
		if !strings.HasPrefix(msg, "scaplock: deploys to global are refused: locked by alice\n") || !strings.Contains(msg, "hold "+h.ID[:4]) {
			t.Errorf("verdict message %q, want the service's refusal naming hold %s", msg, h.ID[:4])
		}
		waitFor(t, b, "the created event in history", `[...document.querySelectorAll("#history-table tbody tr")].some(r => r.textContent.includes("created") && r.textContent.includes("train deploy freeze"))`, liveWithin)

		d.release(t, h.ID)
		waitFor(t, b, "ALLOWED again", verdictIs("global", "ALLOWED"), liveWithin)
		waitFor(t, b, "no holds", `document.getElementById("holds-empty").hidden === false`, liveWithin)
		waitFor(t, b, "the released event in history", `[...document.querySelectorAll("#history-table tbody tr")].some(r => r.textContent.includes("released"))`, liveWithin)
		// The events came with the stream: the page did not read /history for them.
		if after := eval[int](t, b, historyReads); after != readsBefore {
			t.Errorf("the page read /api/v1/history %d times for two events, want 0 (they carry what changed)", after-readsBefore)
		}
	})

	t.Run("a reason is text, never markup", func(t *testing.T) {
		reasons := []string{`<img src=x onerror=alert(1)>`, `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`}
		var ids []string
		for _, r := range reasons {
			ids = append(ids, d.hold(t, "codfw", r).ID)
		}
		for _, r := range reasons {
			waitFor(t, b, "the literal reason "+r,
				fmt.Sprintf(`[...document.querySelectorAll("#holds-table .reason")].some(e => e.textContent === %s)`, strconv.Quote(r)), liveWithin)
		}
		waitFor(t, b, "REFUSED for codfw", verdictIs("codfw", "REFUSED"), liveWithin)
		if n := eval[int](t, b, `document.querySelectorAll("main img, main script").length`); n != 0 {
			t.Errorf("the page holds %d img/script elements made from a reason", n)
		}
		if got := eval[string](t, b, `String(window.__xss)`); got != "undefined" {
			t.Errorf("window.__xss = %s: a reason ran as script", got)
		}
		for _, id := range ids {
			d.release(t, id)
		}
		waitFor(t, b, "ALLOWED for codfw", verdictIs("codfw", "ALLOWED")+` || !document.querySelector('#verdict-list [data-scope=codfw]')`, liveWithin)
	})

	t.Run("health with sparklines", func(t *testing.T) {
		d.publishDegraded(t, time.Now().UTC())
		waitFor(t, b, "the eqiad cluster", `document.querySelector('#health-list [data-cluster=eqiad]')`, liveWithin)
		for _, host := range []string{"kubemaster1001.eqiad.wmnet:6443", "kubemaster1002.eqiad.wmnet:6443"} {
			waitFor(t, b, host, fmt.Sprintf(`document.querySelector('#health-list tr[data-host=%q] th').textContent === %q`, host, host), liveWithin)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#health-list svg.spark polyline').length`); n < 6 {
			t.Errorf("%d sparklines with samples, want at least 6", n)
		}
		if got := eval[string](t, b, `document.querySelector('#health-list tr[data-host="kubemaster1002.eqiad.wmnet:6443"] td.sig-crit .level').textContent`); got != "CRIT" {
			t.Errorf("kubemaster1002 crit cell says %q, want CRIT", got)
		}
		if got := eval[string](t, b, `document.querySelector('#health-list .status').textContent`); got != "DEGRADED" {
			t.Errorf("cluster status %q, want DEGRADED", got)
		}
		if n := eval[int](t, b, `document.querySelectorAll('#health-list svg.spark circle.over').length`); n == 0 {
			t.Error("the CPU burst above crit is not marked on any sparkline")
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		if _, err := d.srv.Store().Create(t.Context(), lock.HoldRequest{
			Scope: "eqiad", Kind: lock.KindAuto, Owner: "scaplock-gate", Reason: "control plane degraded",
			Details: []string{"kubemaster1002.eqiad.wmnet:6443  CPU 98% (limit 90%)  TCP retransmits 6012/s (limit 1000/s)  for 45s"},
			Hint:    "clears after 60s healthy",
		}); err != nil {
			t.Fatal(err)
		}
		d.hold(t, "global", "MediaWiki train paused during the kubemaster1002 investigation (T366094)")
		waitFor(t, b, "REFUSED for eqiad", verdictIs("eqiad", "REFUSED"), liveWithin)
		waitFor(t, b, "REFUSED for global", verdictIs("global", "REFUSED"), liveWithin)
		dir := t.TempDir()
		if os.Getenv("SCAPLOCK_SCREENSHOT") != "" {
			dir = "testdata"
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, shot := range []struct {
			name          string
			width, height int64
		}{{"screenshot.png", 1280, 1000}, {"screenshot-phone.png", 390, 844}} {
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(shot.width, shot.height)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, shot.name)
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (%d bytes)", path, len(png))
		}
	})

	if got := eval[string](t, b, `String(window.__marker)`); got != "same page" {
		t.Errorf("the page was reloaded (marker %q)", got)
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
