package api

import (
	"github.com/prometheus/client_golang/prometheus"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// deployMetrics count deploys by the outcome their release recorded. Only
// the replica whose release transaction committed counts one (never a
// retry's replay), so a sum across replicas counts each deploy once.
type deployMetrics struct {
	deploys  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// deployBuckets reach 30 minutes: the incident's syncs took 3.5 to 7.
var deployBuckets = []float64{30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800}

func newDeployMetrics(reg prometheus.Registerer) *deployMetrics {
	m := &deployMetrics{
		deploys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_deploys_total",
			Help: "Deploys whose release recorded an outcome (succeeded, failed, signalled, abandoned), counted by the replica that released them.",
		}, []string{"scope", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scaplock_deploy_duration_seconds",
			Help:    "Duration of deploys' commands as scaplock run measured them, by scope.",
			Buckets: deployBuckets,
		}, []string{"scope"}),
	}
	reg.MustRegister(m.deploys, m.duration)
	return m
}

// released counts one committed release with outcome o.
func (m *deployMetrics) released(scope lock.Scope, o lock.DeployOutcome) {
	if o.Outcome == "" || o.DurationS == nil {
		return
	}
	m.deploys.WithLabelValues(string(scope), string(o.Outcome)).Inc()
	m.duration.WithLabelValues(string(scope)).Observe(*o.DurationS)
}

// deployOutcome is what the release of deploy id records with o: o and
// the peak level of each cluster the deploy touched.
func (a *API) deployOutcome(id string, o lock.DeployOutcome) *lock.ReleaseOutcome {
	out := &lock.ReleaseOutcome{DeployOutcome: o}
	h, err := a.store.Get(id)
	if err != nil || a.cfg.View == nil {
		return out // the release itself says what is wrong with id
	}
	reports, _ := a.cfg.View.Reports()
	out.Peaks = peakLevels(h, reports, a.cfg.View.Samples())
	return out
}

// peakLevels is, for each cluster that deploy h's scope covers, the worst
// level of any host's signal among the samples taken since h began,
// against the limits of the cluster's latest report. The replica keeps
// apiv1.MaxRecentSamples per signal, so a deploy longer than that window
// is judged on its end; the gate's deploy_impact event covers all of it.
// A cluster without samples in the window is left out: unknown, not ok.
func peakLevels(h lock.Hold, reports map[string]apiv1.ClusterHealth, samples map[string]map[string]map[apiv1.Signal][]apiv1.Point) map[string]apiv1.Level {
	out := map[string]apiv1.Level{}
	for cluster, report := range reports {
		if h.Scope != lock.Global && string(h.Scope) != cluster {
			continue
		}
		for _, host := range report.Hosts {
			for sig, st := range host.Signals {
				for _, p := range samples[cluster][host.Host][sig] {
					if p.At.Before(h.CreatedAt) {
						continue
					}
					out[cluster] = apiv1.Worse(out[cluster], levelOf(p.Value, st))
				}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func levelOf(v float64, st apiv1.SignalHealth) apiv1.Level {
	switch {
	case st.Crit > 0 && v >= st.Crit:
		return apiv1.LevelCrit
	case st.Warn > 0 && v >= st.Warn:
		return apiv1.LevelWarn
	}
	return apiv1.LevelOK
}
