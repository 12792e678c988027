package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Before its first data the page claims nothing: no green "live" beside
// LOADING…, no "No active holds". Once the status arrives it says live and
// names the single-node store.
func TestPageClaimsNothingBeforeItsFirstData(t *testing.T) {
	d := startDaemon(t, nil)
	var streamAsked atomic.Bool
	front := startFront(t, d, func(f *front, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/events":
			streamAsked.Store(true)
		case "/api/v1/status", "/api/v1/history":
			if !f.held(r) {
				return
			}
		}
		f.pass.ServeHTTP(w, r)
	})

	b := newBrowser(t)
	b.open(t, front.URL+"/")
	deadline := time.Now().Add(10 * time.Second)
	for !streamAsked.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the page never opened its event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The stream is open (the proxy passes it straight through) while the
	// status is held back.
	time.Sleep(500 * time.Millisecond)
	if got := eval[string](t, b, `document.getElementById("conn").textContent`); got == "live" {
		t.Errorf(`the page says "live" before any data`)
	}
	if got := eval[string](t, b, `document.getElementById("holds-empty").textContent`); got != "loading…" {
		t.Errorf("holds placeholder %q before any data, want loading…", got)
	}
	if body := eval[string](t, b, `document.body.innerText`); strings.Contains(body, "No active holds") || strings.Contains(body, "No events yet") {
		t.Errorf("the page claims emptiness before any data:\n%s", body)
	}

	front.letGo()
	waitFor(t, b, "live", `document.getElementById("conn").textContent === "live"`, 10*time.Second)
	waitFor(t, b, "no holds", `document.getElementById("holds-empty").textContent === "No active holds." && !document.getElementById("holds-empty").hidden`, 5*time.Second)
	waitFor(t, b, "the single-node store named", `document.getElementById("store").textContent === "single-node store"`, 5*time.Second)
	if p := b.problems(); len(p) > 0 {
		t.Errorf("page problems: %q", p)
	}
}
