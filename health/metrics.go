package health

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports probe values and evaluations, so that a dashboard can
// show the short bursts that a 1-minute average hides. Each signal has its
// own gauge in its own unit; the peak gauges hold the largest of the recent
// samples.
type Metrics struct {
	probeLatency *prometheus.HistogramVec
	value        map[Signal]*prometheus.GaugeVec
	peak         map[Signal]*prometheus.GaugeVec
	failures     *prometheus.CounterVec
	probes       *prometheus.CounterVec
	breaches     *prometheus.CounterVec
	sourceErrors *prometheus.CounterVec
	evalDuration *prometheus.HistogramVec
}

// signalMetric names a signal's gauges: scaplock_<name> and the peak's
// scaplock_<peak>.
var signalMetric = map[Signal]struct{ name, peak, help string }{
	SignalLatency:     {"apiserver_readyz_latency_seconds", "apiserver_readyz_latency_peak_seconds", "the apiserver's readyz latency"},
	SignalCPU:         {"apiserver_cpu_utilization_ratio", "apiserver_cpu_utilization_peak_ratio", "the apiserver host's CPU utilisation (0..1)"},
	SignalRetransmits: {"apiserver_tcp_retransmits_per_second", "apiserver_tcp_retransmits_peak_per_second", "the apiserver host's TCP retransmitted segments per second"},
	SignalNIC:         {"apiserver_nic_egress_ratio", "apiserver_nic_egress_peak_ratio", "the apiserver host's busiest NIC egress over its link speed (0..1)"},
}

// Readyz failure reasons, the values of scaplock_apiserver_readyz_failures_total's label.
const (
	FailureTimeout = "timeout" // no answer within the cluster's timeout
	FailureStatus  = "status"  // answered, not 2xx
	FailureConnect = "connect" // refused, reset, TLS or DNS error
)

// Readyz probe results, the values of scaplock_apiserver_probes_total's
// label: the Kubernetes API availability SLI counts good over all.
const (
	ProbeGood  = "good"  // 2xx below the latency warn limit
	ProbeSlow  = "slow"  // 2xx at or above the latency warn limit
	ProbeError = "error" // timeout, non-2xx or no connection
)

// NewMetrics registers the health metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	hostLabels := []string{"cluster", "apiserver"}
	m := &Metrics{
		probeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaplock_probe_latency_seconds",
			Help:    "Latency of successful apiserver readyz probes.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, hostLabels),
		value: map[Signal]*prometheus.GaugeVec{},
		peak:  map[Signal]*prometheus.GaugeVec{},
		failures: counterVec("scaplock_apiserver_readyz_failures_total",
			"Failed apiserver readyz probes by reason: timeout, status (non-2xx) or connect.", "reason"),
		probes: counterVec("scaplock_apiserver_probes_total",
			"Apiserver readyz probes by result: good (2xx below the latency warn limit), slow or error.", "result"),
		breaches: counterVec("scaplock_breaches_total",
			"Evaluations in which a host's signal was at crit.", "signal"),
		sourceErrors: counterVec("scaplock_source_errors_total",
			"Failed node_exporter scrapes or Prometheus queries, per signal.", "signal"),
		evalDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaplock_evaluation_duration_seconds",
			Help:    "Time taken by one probe round and evaluation of a cluster.",
			Buckets: prometheus.DefBuckets,
		}, []string{"cluster"}),
	}
	reg.MustRegister(m.probeLatency, m.failures, m.probes, m.breaches, m.sourceErrors, m.evalDuration)
	for _, sig := range Signals {
		sm := signalMetric[sig]
		m.value[sig] = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaplock_" + sm.name, Help: "Last value of " + sm.help + ".",
		}, hostLabels)
		m.peak[sig] = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaplock_" + sm.peak, Help: "Largest recent value of " + sm.help + ".",
		}, hostLabels)
		reg.MustRegister(m.value[sig], m.peak[sig])
	}
	return m
}

// counterVec is a per-host counter (cluster, apiserver) split by one more
// label.
func counterVec(name, help, label string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"cluster", "apiserver", label})
}

// Init creates c's counters at zero, so that rate() and alerts see the
// first failure instead of a series appearing out of nothing.
func (m *Metrics) Init(c Cluster) {
	for _, a := range c.APIServers {
		for _, r := range []string{FailureTimeout, FailureStatus, FailureConnect} {
			m.failures.WithLabelValues(c.Name, a.Host(), r)
		}
		for _, r := range []string{ProbeGood, ProbeSlow, ProbeError} {
			m.probes.WithLabelValues(c.Name, a.Host(), r)
		}
		for _, sig := range Signals {
			m.breaches.WithLabelValues(c.Name, a.Host(), string(sig))
			if sig != SignalLatency {
				m.sourceErrors.WithLabelValues(c.Name, a.Host(), string(sig))
			}
		}
	}
}

// Observe records one round: its samples and the State Evaluate made of them.
func (m *Metrics) Observe(c Cluster, samples []Sample, s State, evalDuration time.Duration) {
	for _, smp := range samples {
		if smp.Signal == SignalLatency {
			m.probes.WithLabelValues(c.Name, smp.Host, probeResult(smp, c.Thresholds.Latency)).Inc()
		}
		switch {
		case smp.Signal == SignalLatency && smp.Err == "":
			m.probeLatency.WithLabelValues(c.Name, smp.Host).Observe(smp.Value)
		case smp.Signal == SignalLatency:
			m.failures.WithLabelValues(c.Name, smp.Host, failureReason(smp.Err)).Inc()
		case smp.Err != "":
			m.sourceErrors.WithLabelValues(c.Name, smp.Host, string(smp.Signal)).Inc()
		}
	}
	for _, h := range s.Hosts {
		for sig, st := range h.Signals {
			value, peak := m.value[sig], m.peak[sig]
			if value == nil {
				continue
			}
			if st.Level != LevelError {
				value.WithLabelValues(c.Name, h.Host).Set(st.Value)
			}
			if len(st.Recent) > 0 {
				peak.WithLabelValues(c.Name, h.Host).Set(s.Peak(h.Host, sig))
			}
			if st.Level == LevelCrit {
				m.breaches.WithLabelValues(c.Name, h.Host, string(sig)).Inc()
			}
		}
	}
	m.evalDuration.WithLabelValues(c.Name).Observe(evalDuration.Seconds())
}

// probeResult classifies a readyz sample for the availability SLI. Slow
// counts against it: the incident's deploys failed on an apiserver that
// answered, too late.
func probeResult(s Sample, l Limits) string {
	switch {
	case s.Err != "":
		return ProbeError
	case s.Value >= l.Warn:
		return ProbeSlow
	}
	return ProbeGood
}

// failureReason classifies a failed readyz probe by the error probeAPIServer wrote.
func failureReason(err string) string {
	switch {
	case strings.HasPrefix(err, timeoutPrefix):
		return FailureTimeout
	case strings.HasPrefix(err, statusPrefix):
		return FailureStatus
	}
	return FailureConnect
}
