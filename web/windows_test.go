package web_test

import (
	"net/http"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The page shows each scope's current and next window and a strip of the
// coming week, and picks up a window created while it is open.
func TestPageShowsWindows(t *testing.T) {
	d := startDaemon(t, nil)
	d.call(t, http.MethodPost, "/api/v1/windows", apiv1.WindowBody{Scope: "eqiad", Kind: "deny", Schedule: "* * * * *", Duration: "1h", Reason: "db migration"}, nil)
	b := newBrowser(t)
	b.open(t, d.url+"/")

	waitFor(t, b, "eqiad's active window", `(document.querySelector("#windows-table tr[data-scope=eqiad] td") || {}).textContent?.startsWith("deny window 'db migration' until ")`, 5*time.Second)
	if n := eval[int](t, b, `document.querySelectorAll("#windows-week .week-occ.win-deny").length`); n < 1 {
		t.Errorf("the week strip shows %d occurrences of the active window", n)
	}
	// Weekdays at 09:00 UTC for 2 h: five or six occurrences in any seven days.
	d.call(t, http.MethodPost, "/api/v1/windows", apiv1.WindowBody{Scope: "codfw", Kind: "allow", Schedule: "0 9 * * 1-5", Duration: "2h", Reason: "weekday train"}, nil)
	waitFor(t, b, "codfw's next window, from the event stream", `(document.querySelectorAll("#windows-table tr[data-scope=codfw] td")[1] || {}).textContent?.startsWith("allow window 'weekday train' ")`, liveWithin)
	if n := eval[int](t, b, `document.querySelectorAll("#windows-week .week-occ.win-allow").length`); n < 5 || n > 6 {
		t.Errorf("the week strip shows %d weekday occurrences, want 5 or 6", n)
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
