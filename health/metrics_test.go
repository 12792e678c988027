package health

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsObserve(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	c := testCluster()
	rounds := [][]Sample{
		with(smp(host2, SignalCPU, 0.97)),
		with(smp(host2, SignalCPU, 0.5), failed(host1, SignalRetransmits)),
	}
	var s State
	for i, r := range rounds {
		s = Evaluate(s, r, c, t0.Add(time.Duration(i)*step))
		m.Observe(c, r, s, 20*time.Millisecond)
	}

	want := `
# HELP scaplock_breaches_total Evaluations in which a host's signal was at crit.
# TYPE scaplock_breaches_total counter
scaplock_breaches_total{apiserver="kubemaster1002.eqiad.wmnet:6443",cluster="eqiad",signal="cpu"} 1
# HELP scaplock_apiserver_cpu_utilization_peak_ratio Largest recent value of the apiserver host's CPU utilisation (0..1).
# TYPE scaplock_apiserver_cpu_utilization_peak_ratio gauge
scaplock_apiserver_cpu_utilization_peak_ratio{apiserver="kubemaster1001.eqiad.wmnet:6443",cluster="eqiad"} 0.3
scaplock_apiserver_cpu_utilization_peak_ratio{apiserver="kubemaster1002.eqiad.wmnet:6443",cluster="eqiad"} 0.97
# HELP scaplock_apiserver_cpu_utilization_ratio Last value of the apiserver host's CPU utilisation (0..1).
# TYPE scaplock_apiserver_cpu_utilization_ratio gauge
scaplock_apiserver_cpu_utilization_ratio{apiserver="kubemaster1001.eqiad.wmnet:6443",cluster="eqiad"} 0.3
scaplock_apiserver_cpu_utilization_ratio{apiserver="kubemaster1002.eqiad.wmnet:6443",cluster="eqiad"} 0.5
# HELP scaplock_apiserver_readyz_latency_peak_seconds Largest recent value of the apiserver's readyz latency.
# TYPE scaplock_apiserver_readyz_latency_peak_seconds gauge
scaplock_apiserver_readyz_latency_peak_seconds{apiserver="kubemaster1001.eqiad.wmnet:6443",cluster="eqiad"} 0.05
scaplock_apiserver_readyz_latency_peak_seconds{apiserver="kubemaster1002.eqiad.wmnet:6443",cluster="eqiad"} 0.05
# HELP scaplock_apiserver_readyz_latency_seconds Last value of the apiserver's readyz latency.
# TYPE scaplock_apiserver_readyz_latency_seconds gauge
scaplock_apiserver_readyz_latency_seconds{apiserver="kubemaster1001.eqiad.wmnet:6443",cluster="eqiad"} 0.05
scaplock_apiserver_readyz_latency_seconds{apiserver="kubemaster1002.eqiad.wmnet:6443",cluster="eqiad"} 0.05
# HELP scaplock_source_errors_total Failed node_exporter scrapes or Prometheus queries, per signal.
# TYPE scaplock_source_errors_total counter
scaplock_source_errors_total{apiserver="kubemaster1001.eqiad.wmnet:6443",cluster="eqiad",signal="retransmits"} 1
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scaplock_breaches_total", "scaplock_apiserver_cpu_utilization_peak_ratio", "scaplock_apiserver_cpu_utilization_ratio",
		"scaplock_apiserver_readyz_latency_peak_seconds", "scaplock_apiserver_readyz_latency_seconds", "scaplock_source_errors_total")
	if err != nil {
		t.Error(err)
	}
	// A signal without samples has no series: nothing to mistake for zero.
	if n := testutil.CollectAndCount(m.value[SignalNIC]) + testutil.CollectAndCount(m.value[SignalRetransmits]); n != 0 {
		t.Errorf("nic and retransmits gauges have %d series, want none without samples", n)
	}
	if n := testutil.CollectAndCount(m.probeLatency); n != 2 {
		t.Errorf("probe latency series = %d, want one per apiserver", n)
	}
	if got := histogramCount(t, reg, "scaplock_probe_latency_seconds"); got != 4 {
		t.Errorf("probe latency observations = %d, want 4 (2 rounds x 2 apiservers)", got)
	}
	if got := histogramCount(t, reg, "scaplock_evaluation_duration_seconds"); got != 2 {
		t.Errorf("evaluation duration observations = %d, want 2", got)
	}
}

func histogramCount(t *testing.T, reg prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// TestMetricsReadyzFailures probes real servers that time out, answer 503
// and refuse connections, and counts each failure under its reason.
func TestMetricsReadyzFailures(t *testing.T) {
	slow := newFakeAPIServer(t, readyzStep{delay: 2 * time.Second, status: 200})
	down := newFakeAPIServer(t, readyzStep{status: 503})
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	c := apiCluster(slow.URL, down.URL, closedURL)
	c.TLS.InsecureSkipVerify = true

	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	samples := probeOnce(t, c)
	m.Observe(c, samples, Evaluate(State{}, samples, c, t0), time.Millisecond)

	host := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://") }
	for _, tt := range []struct{ url, reason string }{
		{slow.URL, FailureTimeout}, {down.URL, FailureStatus}, {closedURL, FailureConnect},
	} {
		if got := testutil.ToFloat64(m.failures.WithLabelValues("eqiad", host(tt.url), tt.reason)); got != 1 {
			t.Errorf("%s: failures{reason=%s} = %v, want 1 (samples %+v)", tt.url, tt.reason, got, samples)
		}
	}
	if n := testutil.CollectAndCount(m.failures); n != 3 {
		t.Errorf("failure series = %d, want 3 (one reason per apiserver)", n)
	}
	if n := testutil.CollectAndCount(m.probeLatency); n != 0 {
		t.Errorf("failed probes observed in the latency histogram: %d series", n)
	}
	for _, u := range []string{slow.URL, down.URL, closedURL} {
		if got := testutil.ToFloat64(m.probes.WithLabelValues("eqiad", host(u), ProbeError)); got != 1 {
			t.Errorf("%s: probes{result=error} = %v, want 1", u, got)
		}
	}
}

// TestMetricsProbeResults checks the availability SLI's classes: a readyz
// at or above the cluster's warn limit is slow, not good.
func TestMetricsProbeResults(t *testing.T) {
	c := testCluster()
	warn := c.Thresholds.Latency.Warn
	tests := []struct {
		name   string
		sample Sample
		want   string
	}{
		{"fast", smp(host1, SignalLatency, warn/10), ProbeGood},
		{"just below warn", smp(host1, SignalLatency, warn*0.99), ProbeGood},
		{"at warn", smp(host1, SignalLatency, warn), ProbeSlow},
		{"past crit", smp(host1, SignalLatency, c.Thresholds.Latency.Crit*1.5), ProbeSlow},
		{"failed", failed(host1, SignalLatency), ProbeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := NewMetrics(reg)
			m.Init(c)
			r := []Sample{tt.sample, smp(host1, SignalCPU, 0.3)}
			m.Observe(c, r, Evaluate(State{}, r, c, t0), time.Millisecond)
			for _, res := range []string{ProbeGood, ProbeSlow, ProbeError} {
				want := 0.0
				if res == tt.want {
					want = 1
				}
				if got := testutil.ToFloat64(m.probes.WithLabelValues("eqiad", host1, res)); got != want {
					t.Errorf("probes{result=%s} = %v, want %v", res, got, want)
				}
			}
			if got := testutil.ToFloat64(m.probes.WithLabelValues("eqiad", host2, ProbeGood)); got != 0 {
				t.Errorf("host2 without a sample counted %v probes", got)
			}
		})
	}
}
