package health

import (
	"strconv"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Report is the state as the gate publishes it: every value, level and
// peak, without the recent samples, which travel one evaluation at a time
// (RoundSamples) instead of 120 at a time.
func (s State) Report() apiv1.ClusterHealth {
	r := apiv1.ClusterHealth(s)
	r.Hosts = make([]apiv1.HostHealth, len(s.Hosts))
	for i, h := range s.Hosts {
		sigs := make(map[Signal]SignalState, len(h.Signals))
		for sig, st := range h.Signals {
			st.Recent = nil
			sigs[sig] = st
		}
		r.Hosts[i] = apiv1.HostHealth{Host: h.Host, Signals: sigs}
	}
	return r
}

// RoundSamples are the values one probe round measured, as the gate
// publishes them every interval, to three significant digits (what a
// reader is shown; a fleet writes them every interval, and the full
// precision would be a third of its etcd writes). Evaluate judges the
// unrounded values.
func RoundSamples(cluster string, samples []Sample, now time.Time) apiv1.Samples {
	out := apiv1.Samples{Cluster: cluster, At: now, Hosts: []apiv1.HostSamples{}}
	index := map[string]int{}
	for _, s := range samples {
		if !s.Measured() {
			continue
		}
		i, ok := index[s.Host]
		if !ok {
			i = len(out.Hosts)
			index[s.Host] = i
			out.Hosts = append(out.Hosts, apiv1.HostSamples{Host: s.Host, Values: map[Signal]float64{}})
		}
		out.Hosts[i].Values[s.Signal] = significant(s.Value, 3)
	}
	return out
}

// significant rounds v to n significant digits.
func significant(v float64, n int) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', n, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// ReportChanged reports whether next says something prev did not: the
// cluster's status, a host, a signal's level or error, or the value of a
// signal at warn or crit as people read it. Values moving within ok are not
// a change; they reach readers as samples, and the report follows at the
// gate's heartbeat.
func ReportChanged(prev, next apiv1.ClusterHealth) bool {
	if prev.Status != next.Status || !prev.Since.Equal(next.Since) || !prev.TrippedAt.Equal(next.TrippedAt) ||
		len(prev.Hosts) != len(next.Hosts) {
		return true
	}
	for i, h := range next.Hosts {
		p := prev.Hosts[i]
		if p.Host != h.Host || len(p.Signals) != len(h.Signals) {
			return true
		}
		for sig, st := range h.Signals {
			old, ok := p.Signals[sig]
			if !ok || old.Level != st.Level || old.Err != st.Err || old.Warn != st.Warn || old.Crit != st.Crit {
				return true
			}
			// A value at warn or crit is what status shows beside the host
			// and what its reason quotes: one that reads otherwise now
			// must not stay behind the refusal, which shows it every round.
			if st.Level != LevelOK && apiv1.FormatValue(sig, old.Value) != apiv1.FormatValue(sig, st.Value) {
				return true
			}
		}
	}
	return false
}
