package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports probe values and evaluations, so that a dashboard can
// show the short bursts that a 1-minute average hides.
type Metrics struct {
	probeLatency *prometheus.HistogramVec
	value        *prometheus.GaugeVec
	peak         *prometheus.GaugeVec
	breaches     *prometheus.CounterVec
	sourceErrors *prometheus.CounterVec
	evalDuration *prometheus.HistogramVec
}

// NewMetrics registers the health metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	hostLabels := []string{"cluster", "host", "signal"}
	m := &Metrics{
		probeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaplock_probe_latency_seconds",
			Help:    "Latency of successful apiserver readyz probes.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"cluster", "host"}),
		value: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaplock_signal_value",
			Help: "Last value of a host's health signal (latency in seconds, cpu and nic 0..1, retransmits per second).",
		}, hostLabels),
		peak: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaplock_signal_peak",
			Help: "Largest value of a host's health signal over its recent samples.",
		}, hostLabels),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_breaches_total",
			Help: "Evaluations in which a host's signal was at crit.",
		}, hostLabels),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_source_errors_total",
			Help: "Failed node_exporter scrapes or Prometheus queries, per signal.",
		}, hostLabels),
		evalDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaplock_evaluation_duration_seconds",
			Help:    "Time taken by one probe round and evaluation of a cluster.",
			Buckets: prometheus.DefBuckets,
		}, []string{"cluster"}),
	}
	reg.MustRegister(m.probeLatency, m.value, m.peak, m.breaches, m.sourceErrors, m.evalDuration)
	return m
}

// Observe records one round: its samples and the State Evaluate made of them.
func (m *Metrics) Observe(c Cluster, samples []Sample, s State, evalDuration time.Duration) {
	for _, smp := range samples {
		switch {
		case smp.Signal == SignalLatency && smp.Err == "":
			m.probeLatency.WithLabelValues(c.Name, smp.Host).Observe(smp.Value)
		case smp.Signal != SignalLatency && smp.Err != "":
			m.sourceErrors.WithLabelValues(c.Name, smp.Host, string(smp.Signal)).Inc()
		}
	}
	for _, h := range s.Hosts {
		for sig, st := range h.Signals {
			labels := []string{c.Name, h.Host, string(sig)}
			if st.Level != LevelError {
				m.value.WithLabelValues(labels...).Set(st.Value)
			}
			if len(st.Recent) > 0 {
				m.peak.WithLabelValues(labels...).Set(s.Peak(h.Host, sig))
			}
			if st.Level == LevelCrit {
				m.breaches.WithLabelValues(labels...).Inc()
			}
		}
	}
	m.evalDuration.WithLabelValues(c.Name).Observe(evalDuration.Seconds())
}
