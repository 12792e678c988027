package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// A bridge report is checked field by field; a bad one writes nothing.
func TestBridgeReportIsValidated(t *testing.T) {
	f := newFixture(t, nil)
	dep, sre := f.token(t, "bridge-host", "deployer"), f.token(t, "alice", "sre")
	since := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ok := apiv1.BridgeBody{Scopes: []apiv1.Scope{"global"}, Since: since, Releaser: "bob", Reason: "urgent fix"}
	with := func(change func(*apiv1.BridgeBody)) apiv1.BridgeBody {
		b := ok
		change(&b)
		return b
	}
	cases := []struct {
		name, host, token string
		body              any
		status            int
		field, message    string
	}{
		{"no token", "deploy1001", "", ok, http.StatusUnauthorized, "", "unauthorized"},
		{"role missing", "deploy1001", sre, ok, http.StatusForbidden, "", "deployer"},
		{"bad host", "deploy_1001", dep, ok, http.StatusBadRequest, "host", `host: "deploy_1001" is not a host name`},
		{"no scopes", "deploy1001", dep, with(func(b *apiv1.BridgeBody) { b.Scopes = nil }), http.StatusBadRequest, "scopes", "scopes: are required: the scopes the bridge guards"},
		{"bad scope", "deploy1001", dep, with(func(b *apiv1.BridgeBody) { b.Scopes = []apiv1.Scope{"EQIAD!"} }), http.StatusBadRequest, "scope", `scope: "EQIAD!" is not a scope`},
		{"unguarded without since", "deploy1001", dep, with(func(b *apiv1.BridgeBody) { b.Since = time.Time{} }), http.StatusBadRequest, "since", "since: is required when guarded is false: when the lock was broken"},
		{"releaser on two lines", "deploy1001", dep, with(func(b *apiv1.BridgeBody) { b.Releaser = "bob\nmallory" }), http.StatusBadRequest, "releaser", "releaser: must not contain control characters"},
		{"long user", "deploy1001", dep, with(func(b *apiv1.BridgeBody) { b.User = strings.Repeat("u", 257) }), http.StatusBadRequest, "user", "user: must be one line of at most 256 bytes"},
		{"unknown field", "deploy1001", dep, `{"guarded":false,"scopes":["global"],"since":"2026-12-07T12:00:00Z","hostname":"x"}`, http.StatusBadRequest, "hostname", "hostname: is not a known field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, http.MethodPut, "/api/v1/bridges/"+c.host, c.token, c.body)
			e := a.errBody(t)
			if a.status != c.status || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.message) {
				t.Errorf("HTTP %d %s, want %d field %q message with %q", a.status, a.body, c.status, c.field, c.message)
			}
		})
	}
	f.nothingWritten(t)

	// The same report twice is one event; guarded clears it with another.
	for range 2 {
		if a := f.do(t, http.MethodPut, "/api/v1/bridges/deploy1001", dep, ok); a.status != http.StatusOK {
			t.Fatalf("report: %d %s", a.status, a.body)
		}
	}
	var st apiv1.StatusResponse
	f.do(t, http.MethodGet, "/api/v1/status", "", nil).decode(t, &st)
	if len(st.Unguarded) != 1 || st.Unguarded[0].Host != "deploy1001" || !st.Unguarded[0].Since.Equal(since) || st.Unguarded[0].ReportedBy != "bridge-host" {
		t.Fatalf("unguarded: %+v", st.Unguarded)
	}
	var resp struct{ Recorded bool }
	f.do(t, http.MethodPut, "/api/v1/bridges/deploy1001", dep, apiv1.BridgeBody{Guarded: true, Scopes: []apiv1.Scope{"global"}, Reason: "took the lock again"}).decode(t, &resp)
	if !resp.Recorded {
		t.Error("guarded after unguarded must be recorded")
	}
	f.do(t, http.MethodGet, "/api/v1/status", "", nil).decode(t, &st)
	var page apiv1.HistoryPage
	f.do(t, http.MethodGet, "/api/v1/history", "", nil).decode(t, &page)
	if len(st.Unguarded) != 0 || len(page.Events) != 2 || page.Events[0].Action != apiv1.ActionBridgeGuarded || page.Events[1].Action != apiv1.ActionBridgeUnlocked ||
		page.Events[1].Bridge.Releaser != "bob" || page.Events[1].Reason != "urgent fix" {
		t.Errorf("after guarded: unguarded %+v, history %+v", st.Unguarded, page.Events)
	}
}
