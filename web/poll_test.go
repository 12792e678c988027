package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// TestPageFallsBackToPolling puts the page behind a proxy that refuses the
// event stream, as a misconfigured proxy might: the page says it polls and
// still shows a change within one poll interval.
func TestPageFallsBackToPolling(t *testing.T) {
	d := startDaemon(t, nil)
	target, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/events" {
			http.Error(w, "streams are not proxied here", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	b := newBrowser(t)
	b.open(t, front.URL+"/")
	waitFor(t, b, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)
	waitFor(t, b, "polling", `document.getElementById("conn").textContent.startsWith("polling every 5 s")`, 5*time.Second)
	h := d.hold(t, "global", "seen by polling")
	took := waitFor(t, b, "REFUSED by polling", verdictIs("global", "REFUSED"), 5*time.Second+time.Second)
	t.Logf("REFUSED shown %s after the POST answered (polling)", took)
	d.release(t, h.ID)

	b.forgive("the server responded with a status of 502")
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
