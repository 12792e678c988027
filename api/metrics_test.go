package api_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaplock/scaplock/api"
)

// Anyone may send any method; made-up ones must not grow the series.
func TestRequestMetricsBoundMethods(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "GET", "/api/v1/status", "", nil)
	f.do(t, "FOO0", "/api/v1/status", "", nil)
	before := series(t, f.reg, "scaplock_http_requests_total", "scaplock_http_request_duration_seconds")
	for _, m := range []string{"FOO1", "FOO2", "PROPFIND", "get"} {
		if a := f.do(t, m, "/api/v1/status", "", nil); a.status != 405 {
			t.Fatalf("%s: %d", m, a.status)
		}
	}
	if after := series(t, f.reg, "scaplock_http_requests_total", "scaplock_http_request_duration_seconds"); after != before {
		t.Fatalf("unknown methods made new series: %d before, %d after", before, after)
	}
	if n := counterValue(t, f.reg, "scaplock_http_requests_total", "method", "other"); n != 5 {
		t.Fatalf("method=other counted %v, want 5", n)
	}
	mustCounter(t, f.reg, "/api/v1/status", "GET", "200")
}

// Each preflight answer is counted under what it told the caller.
func TestPreflightOutcomeMetric(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	f.do(t, "GET", "/api/v1/preflight?scope=EQ%20IAD", "", nil)
	if a := f.do(t, "POST", "/api/v1/holds", f.token(t, "alice", api.RoleSRE), api.HoldBody{Scope: "eqiad", Reason: "maintenance"}); a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	want := map[string]float64{"allowed": 1, "invalid": 1, "refused": 2, "undecided": 0}
	for outcome, n := range want {
		if got := counterValue(t, f.reg, "scaplock_preflight_total", "outcome", outcome); got != n {
			t.Errorf("preflight{outcome=%s} = %v, want %v", outcome, got, n)
		}
	}
}

func series(t *testing.T, reg prometheus.Gatherer, names ...string) int {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, names...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func counterValue(t *testing.T, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}
