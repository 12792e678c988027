package health

import (
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
scaplock_breaches_total{cluster="eqiad",host="kubemaster1002.eqiad.wmnet:6443",signal="cpu"} 1
# HELP scaplock_signal_peak Largest value of a host's health signal over its recent samples.
# TYPE scaplock_signal_peak gauge
scaplock_signal_peak{cluster="eqiad",host="kubemaster1001.eqiad.wmnet:6443",signal="cpu"} 0.3
scaplock_signal_peak{cluster="eqiad",host="kubemaster1001.eqiad.wmnet:6443",signal="latency"} 0.05
scaplock_signal_peak{cluster="eqiad",host="kubemaster1002.eqiad.wmnet:6443",signal="cpu"} 0.97
scaplock_signal_peak{cluster="eqiad",host="kubemaster1002.eqiad.wmnet:6443",signal="latency"} 0.05
# HELP scaplock_signal_value Last value of a host's health signal (latency in seconds, cpu and nic 0..1, retransmits per second).
# TYPE scaplock_signal_value gauge
scaplock_signal_value{cluster="eqiad",host="kubemaster1001.eqiad.wmnet:6443",signal="cpu"} 0.3
scaplock_signal_value{cluster="eqiad",host="kubemaster1001.eqiad.wmnet:6443",signal="latency"} 0.05
scaplock_signal_value{cluster="eqiad",host="kubemaster1002.eqiad.wmnet:6443",signal="cpu"} 0.5
scaplock_signal_value{cluster="eqiad",host="kubemaster1002.eqiad.wmnet:6443",signal="latency"} 0.05
# HELP scaplock_source_errors_total Failed node_exporter scrapes or Prometheus queries, per signal.
# TYPE scaplock_source_errors_total counter
scaplock_source_errors_total{cluster="eqiad",host="kubemaster1001.eqiad.wmnet:6443",signal="retransmits"} 1
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scaplock_breaches_total", "scaplock_signal_peak", "scaplock_signal_value", "scaplock_source_errors_total")
	if err != nil {
		t.Error(err)
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
