package web_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// setValue types v into the input with id, as a person pasting would.
func setValue(tb testing.TB, b *browser, id, v string) {
	tb.Helper()
	eval[bool](tb, b, fmt.Sprintf(`(document.getElementById(%q).value = %s, true)`, id, strconv.Quote(v)))
}

func click(tb testing.TB, b *browser, selector string) {
	tb.Helper()
	eval[bool](tb, b, fmt.Sprintf(`(document.querySelector(%s).click(), true)`, strconv.Quote(selector)))
}

// TestPageWithTokenInChromium: with anonymous read off the page asks for a
// token, keeps it in sessionStorage only, follows the stream with fetch,
// acts for an SRE, and says so when the service goes away and comes back.
func TestPageWithTokenInChromium(t *testing.T) {
	d := startDaemon(t, map[string]string{"SCAPLOCK_ANONYMOUS_READ": "false"})
	b := newBrowser(t)
	b.open(t, d.url+"/")

	waitFor(t, b, "the token form", `!document.getElementById("auth").hidden && document.getElementById("conn").textContent === "token needed"`, 5*time.Second)
	// The 401s the page met before it had a token are expected.
	b.forgive("the server responded with a status of 401")
	setValue(t, b, "auth-token", d.token)
	click(t, b, `#auth-form button[type=submit]`)
	waitFor(t, b, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	if got := eval[string](t, b, `sessionStorage.getItem("scaplock.token")`); got != d.token {
		t.Errorf("sessionStorage token %q, want the pasted one", got)
	}
	if n := eval[int](t, b, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d items; the token must stay in sessionStorage", n)
	}
	if got := eval[string](t, b, `document.getElementById("auth-token").value`); got != "" {
		t.Error("the token stays in the input after use")
	}

	t.Run("fetch stream is live", func(t *testing.T) {
		h := d.hold(t, "global", "from the API")
		took := waitFor(t, b, "REFUSED", verdictIs("global", "REFUSED"), liveWithin)
		t.Logf("REFUSED shown %s after the POST answered (fetch stream)", took)
		d.release(t, h.ID)
		waitFor(t, b, "ALLOWED", verdictIs("global", "ALLOWED"), liveWithin)
	})

	t.Run("lock and unlock from the page", func(t *testing.T) {
		waitFor(t, b, "the actions", `!document.getElementById("actions").hidden`, liveWithin)
		setValue(t, b, "lock-scope", "codfw")
		setValue(t, b, "lock-reason", "locked from the page")
		click(t, b, `#lock-form button[type=submit]`)
		waitFor(t, b, "REFUSED for codfw", verdictIs("codfw", "REFUSED"), liveWithin)
		waitFor(t, b, "alice's hold", `[...document.querySelectorAll("#holds-table tbody tr")].some(r => r.textContent.includes("alice") && r.textContent.includes("locked from the page"))`, liveWithin)

		click(t, b, `#holds-table button.release`)
		waitFor(t, b, "the release form", `!document.getElementById("release-form").hidden`, liveWithin)
		setValue(t, b, "release-reason", "done from the page")
		click(t, b, `#release-form button[type=submit]`)
		waitFor(t, b, "no holds", `document.getElementById("holds-empty").hidden === false`, liveWithin)
		waitFor(t, b, "the release in history", `[...document.querySelectorAll("#history-table tbody tr")].some(r => r.textContent.includes("released") && r.textContent.includes("done from the page"))`, liveWithin)
	})

	t.Run("override from the page", func(t *testing.T) {
		setValue(t, b, "override-scope", "eqiad")
		setValue(t, b, "override-reason", "gate misfires, deploying the fix")
		click(t, b, `#override-form button[type=submit]`)
		waitFor(t, b, "the override", `document.querySelectorAll("#overrides-table tbody tr").length === 1`, liveWithin)
		click(t, b, `#overrides-table button.release`)
		setValue(t, b, "release-reason", "fix deployed")
		click(t, b, `#release-form button[type=submit]`)
		waitFor(t, b, "no overrides", `document.getElementById("overrides-empty").hidden === false`, liveWithin)
	})

	t.Run("a refused action says why", func(t *testing.T) {
		setValue(t, b, "lock-scope", "Not A Scope")
		setValue(t, b, "lock-reason", "x")
		click(t, b, `#lock-form button[type=submit]`)
		waitFor(t, b, "the error", `document.getElementById("action-result").textContent.includes("field scope")`, liveWithin)
		// The 400 itself is a network log entry; it is what the test asked for.
		b.forgive("the server responded with a status of 400")
	})

	t.Run("connection lost and back", func(t *testing.T) {
		addr := mustHost(t, d.url)
		b.expectOutage()
		d.stop(t)
		waitFor(t, b, "connection lost", `document.getElementById("conn").textContent.startsWith("connection lost since ")`, liveWithin)
		if !eval[bool](t, b, `document.body.classList.contains("stale")`) {
			t.Error("the stale state is not marked")
		}
		again := startDaemon(t, map[string]string{"SCAPLOCK_ANONYMOUS_READ": "false", "SCAPLOCK_LISTEN": addr, "SCAPLOCK_DATA_DIR": d.dataDir})
		took := waitFor(t, b, "live again", `document.getElementById("conn").textContent === "live"`, 8*time.Second)
		t.Logf("live again %s after the restart", took)
		h := again.hold(t, "global", "after the restart")
		waitFor(t, b, "REFUSED after the restart", verdictIs("global", "REFUSED"), liveWithin)
		again.release(t, h.ID)
		waitFor(t, b, "ALLOWED after the restart", verdictIs("global", "ALLOWED"), liveWithin)
	})

	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}

func mustHost(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}
