package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// windowNow is the fixture's clock: Tuesday 2026-12-08 12:30 UTC.
var windowNow = time.Date(2026, 12, 8, 12, 30, 0, 0, time.UTC)

func newWindowFixture(t *testing.T) *fixture {
	t.Helper()
	scopes, err := lock.NewKnownScopes("eqiad", "codfw")
	if err != nil {
		t.Fatal(err)
	}
	cal := lock.NewCalendar(lock.NewKeys("/scaplock/"), nil)
	opts := lock.Options{Parts: cal.Parts(), Scopes: scopes, Now: func() time.Time { return windowNow }}
	return newFixtureWith(t, opts, func(c *api.Config, _ *api.AuthConfig) { c.Calendar = cal })
}

var lunch = apiv1.WindowBody{Scope: "eqiad", Kind: "deny", Schedule: "0 12 * * *", Duration: "1h", Reason: "lunch freeze"}

func TestWindowRejectsBadInput(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	with := func(change func(b *apiv1.WindowBody)) apiv1.WindowBody {
		b := lunch
		change(&b)
		return b
	}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"schedule that does not parse", with(func(b *apiv1.WindowBody) { b.Schedule = "noon" }), "schedule"},
		{"unknown time zone", with(func(b *apiv1.WindowBody) { b.TimeZone = "Europe/Atlantis" }), "time_zone"},
		{"kind other than deny or allow", with(func(b *apiv1.WindowBody) { b.Kind = "freeze" }), "kind"},
		{"duration zero", with(func(b *apiv1.WindowBody) { b.Duration = "0s" }), "duration"},
		{"duration negative", with(func(b *apiv1.WindowBody) { b.Duration = "-1h" }), "duration"},
		{"duration missing", with(func(b *apiv1.WindowBody) { b.Duration = "" }), "duration"},
		{"unknown scope", with(func(b *apiv1.WindowBody) { b.Scope = "eqaid" }), "scope"},
		{"until not a date", with(func(b *apiv1.WindowBody) { b.Until = "soon" }), "until"},
		{"unknown field", `{"scope":"eqiad","kind":"deny","schedule":"0 12 * * *","duration":"1h","reason":"x","name":"y"}`, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "POST", "/api/v1/windows", sre, c.body)
			if a.status != http.StatusBadRequest || a.errBody(t).Error.Field != c.field {
				t.Fatalf("got %d %s; want 400 on %s", a.status, a.body, c.field)
			}
		})
	}
	if a := f.do(t, "POST", "/api/v1/windows", f.token(t, "bob", api.RoleDeployer), lunch); a.status != http.StatusForbidden {
		t.Fatalf("a deployer made a window: %d %s", a.status, a.body)
	}
	f.nothingWritten(t)
	var list apiv1.WindowsResponse
	f.do(t, "GET", "/api/v1/windows", "", nil).decode(t, &list)
	if len(list.Windows) != 0 {
		t.Fatalf("rejected requests left windows: %+v", list.Windows)
	}
}

// A deny window refuses preflight and deploys while active, an override
// lets deploys past it, a manual hold still refuses, and every change is
// in the history.
func TestWindowTour(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	deployer := f.token(t, "bob", api.RoleDeployer)

	a := f.do(t, "POST", "/api/v1/windows", sre, lunch)
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var created apiv1.WindowState
	a.decode(t, &created)
	if created.ID == "" || created.Owner != "alice" || created.TimeZone != "UTC" || !created.Active {
		t.Fatalf("created %+v", created)
	}

	var list apiv1.WindowsResponse
	f.do(t, "GET", "/api/v1/windows", "", nil).decode(t, &list)
	if len(list.Windows) != 1 || !list.Windows[0].Active || list.Windows[0].ActiveEnd == nil ||
		!list.Windows[0].ActiveEnd.Equal(time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)) ||
		list.Windows[0].NextStart == nil || !list.Windows[0].NextStart.Equal(time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("list: %+v", list.Windows)
	}

	a = f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	var pf apiv1.PreflightResponse
	a.decode(t, &pf)
	want := "scaplock: deploys to eqiad are refused: deploy freeze 'lunch freeze' until Tue 2026-12-08 13:00 UTC (in 30m); an SRE override lets deploys past"
	if a.status != http.StatusLocked || !strings.HasPrefix(pf.Message, want+"\n") || len(pf.Windows) != 1 || pf.Windows[0].Window.ID != created.ID ||
		pf.WindowChange == nil || !pf.WindowChange.Equal(time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("preflight: %d %s", a.status, a.body)
	}
	if a := f.do(t, "GET", "/api/v1/preflight?scope=codfw", "", nil); a.status != http.StatusOK {
		t.Fatalf("codfw is not in the window's scope: %d %s", a.status, a.body)
	}
	a = f.do(t, "POST", "/api/v1/deploys", deployer, api.DeployBody{Scope: "eqiad", Reason: "train"})
	if a.status != http.StatusLocked || !strings.Contains(a.errBody(t).Error.Message, "deploy freeze 'lunch freeze'") || len(a.errBody(t).Windows) != 1 {
		t.Fatalf("deploy in a deny window: %d %s", a.status, a.body)
	}

	a = f.do(t, "POST", "/api/v1/overrides", sre, api.HoldBody{Scope: "eqiad", Reason: "hotfix for the outage", Duration: "30m"})
	if a.status != http.StatusCreated {
		t.Fatalf("override: %d %s", a.status, a.body)
	}
	a = f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	a.decode(t, &pf)
	if a.status != http.StatusOK || len(pf.OverriddenWindows) != 1 {
		t.Fatalf("preflight with an override: %d %s", a.status, a.body)
	}
	a = f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: "db switchover"})
	var manual lock.Hold
	a.decode(t, &manual)
	if a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil); a.status != http.StatusLocked {
		t.Fatalf("a manual hold must refuse past the override: %d %s", a.status, a.body)
	}
	f.do(t, "DELETE", "/api/v1/holds/"+manual.ID, sre, api.ReleaseBody{Reason: "done"})
	a = f.do(t, "POST", "/api/v1/deploys", deployer, api.DeployBody{Scope: "eqiad", Reason: "hotfix"})
	if a.status != http.StatusCreated {
		t.Fatalf("deploy past the window with an override: %d %s", a.status, a.body)
	}

	if a := f.do(t, "DELETE", "/api/v1/windows/"+created.ID, sre, `{}`); a.status != http.StatusBadRequest || a.errBody(t).Error.Field != "reason" {
		t.Fatalf("delete without a reason: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/windows/"+created.ID, deployer, api.ReleaseBody{Reason: "x"}); a.status != http.StatusForbidden {
		t.Fatalf("a deployer deleted a window: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/windows/"+created.ID, sre, api.ReleaseBody{Reason: "lunch moved"}); a.status != http.StatusOK {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/windows/"+created.ID, sre, api.ReleaseBody{Reason: "again"}); a.status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", a.status, a.body)
	}
	f.do(t, "GET", "/api/v1/windows", "", nil).decode(t, &list)
	if len(list.Windows) != 0 {
		t.Fatalf("after delete: %+v", list.Windows)
	}

	page, err := f.store.History(context.Background(), lock.HistoryQuery{Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		if e.Kind == lock.KindWindow && e.Window != nil && e.Window.ID == created.ID {
			got = append(got, string(e.Action)+":"+e.Reason)
		}
	}
	var byKind apiv1.HistoryPage
	f.do(t, "GET", "/api/v1/history?kind=window&action=deleted", "", nil).decode(t, &byKind)
	if len(byKind.Events) != 1 || byKind.Events[0].Window == nil || byKind.Events[0].Window.ID != created.ID {
		t.Fatalf("history?kind=window&action=deleted: %+v", byKind.Events)
	}
	slices.Sort(got) // the fixture's clock stands still: both events have one time
	if strings.Join(got, ",") != "created:lunch freeze,deleted:lunch moved" {
		t.Fatalf("window history = %v", got)
	}
}

// An allow window refuses outside itself and names when it opens.
func TestWindowAllowRefusesOutside(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	train := apiv1.WindowBody{Scope: "eqiad", Kind: "allow", Schedule: "0 9 * * 1-4", Duration: "2h", TimeZone: "Europe/Berlin", Reason: "train"}
	if a := f.do(t, "POST", "/api/v1/windows", sre, train); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	var pf apiv1.PreflightResponse
	a.decode(t, &pf)
	want := "outside the deploy windows of eqiad; 'train' opens Wed 2026-12-09 09:00 CET (in 19h 30m)"
	if a.status != http.StatusLocked || !strings.Contains(pf.Message, want) {
		t.Fatalf("preflight outside the allow window: %d %s", a.status, a.body)
	}
	if a := f.do(t, "GET", "/api/v1/preflight?scope=global", "", nil); a.status != http.StatusLocked {
		t.Fatalf("a global deploy touches eqiad: %d %s", a.status, a.body)
	}
	if a := f.do(t, "GET", "/api/v1/preflight?scope=codfw", "", nil); a.status != http.StatusOK {
		t.Fatalf("codfw has no allow windows: %d %s", a.status, a.body)
	}
}

func TestWindowIdempotencyKey(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	post := func(key string, body apiv1.WindowBody) answer {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/windows", strings.NewReader(mustJSON(t, body)))
		req.Header.Set("Authorization", "Bearer "+sre)
		req.Header.Set(api.IdempotencyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		_, _ = io.Copy(&buf, resp.Body)
		return answer{status: resp.StatusCode, body: []byte(buf.String())}
	}
	var first, second apiv1.WindowState
	post("k1", lunch).decode(t, &first)
	a := post("k1", lunch)
	a.decode(t, &second)
	if a.status != http.StatusCreated || first.ID == "" || second.ID != first.ID {
		t.Fatalf("retry made %q after %q (%d %s)", second.ID, first.ID, a.status, a.body)
	}
	other := lunch
	other.Reason = "another"
	if a := post("k1", other); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %d %s", a.status, a.body)
	}
	var list apiv1.WindowsResponse
	f.do(t, "GET", "/api/v1/windows", "", nil).decode(t, &list)
	if len(list.Windows) != 1 {
		t.Fatalf("%d windows, want 1", len(list.Windows))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestWindowsCalendarFeed(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	train := apiv1.WindowBody{Scope: "eqiad", Kind: "allow", Schedule: "0 9 * * 1-4", Duration: "2h", TimeZone: "Europe/Berlin", Reason: "train"}
	if a := f.do(t, "POST", "/api/v1/windows", sre, train); a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	resp, err := http.Get(f.srv.URL + "/api/v1/windows.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "TZID:Europe/Berlin\r\n", "DTSTART;TZID=Europe/Berlin:20261209T090000\r\n", "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9;BYMINUTE=0\r\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("feed lacks %q:\n%s", want, body)
		}
	}
}

// A window's removal retried with the same Idempotency-Key (the CLI does so
// after a lost answer) gets the first removal's answer, not a 404, and the
// history has one removal; the same key for another window is refused.
func TestWindowRemovalIsIdempotent(t *testing.T) {
	f := newWindowFixture(t)
	sre := f.token(t, "alice", api.RoleSRE)
	var created, other apiv1.WindowState
	f.do(t, "POST", "/api/v1/windows", sre, lunch).decode(t, &created)
	f.do(t, "POST", "/api/v1/windows", sre, lunch).decode(t, &other)
	if created.ID == "" || other.ID == "" || created.ID == other.ID {
		t.Fatalf("two windows: %q and %q", created.ID, other.ID)
	}
	body := `{"reason":"lunch moved"}`
	var first, again apiv1.Window
	a := f.doKey(t, "DELETE", "/api/v1/windows/"+created.ID, sre, "k-rm", body)
	if a.status != http.StatusOK {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	a.decode(t, &first)
	a = f.doKey(t, "DELETE", "/api/v1/windows/"+created.ID, sre, "k-rm", body)
	if a.status != http.StatusOK {
		t.Fatalf("the retried delete: %d %s, want the first answer (200)", a.status, a.body)
	}
	a.decode(t, &again)
	if first.ID != created.ID || again.ID != first.ID || again.Revision != first.Revision {
		t.Fatalf("retried delete answered %s@%d, first %s@%d", again.ID, again.Revision, first.ID, first.Revision)
	}
	if a := f.doKey(t, "DELETE", "/api/v1/windows/"+created.ID, sre, "k-other", body); a.status != http.StatusNotFound {
		t.Fatalf("a new delete of the removed window: %d %s, want 404", a.status, a.body)
	}
	if a := f.doKey(t, "DELETE", "/api/v1/windows/"+other.ID, sre, "k-rm", body); a.status != http.StatusUnprocessableEntity || a.errBody(t).Error.Code != "idempotency_mismatch" {
		t.Fatalf("the key again for another window: %d %s", a.status, a.body)
	}
	var list apiv1.WindowsResponse
	f.do(t, "GET", "/api/v1/windows", "", nil).decode(t, &list)
	if len(list.Windows) != 1 || list.Windows[0].ID != other.ID {
		t.Fatalf("windows left: %+v, want only %s", list.Windows, other.ID)
	}
	var deleted apiv1.HistoryPage
	f.do(t, "GET", "/api/v1/history?kind=window&action=deleted", "", nil).decode(t, &deleted)
	if len(deleted.Events) != 1 {
		t.Fatalf("%d removals in the history, want 1: %+v", len(deleted.Events), deleted.Events)
	}
}
