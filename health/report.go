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
// publishes them every interval, to three significant digits, or more
// where fewer would read otherwise (readable). A fleet writes them every
// interval, and the full precision would be a third of its etcd writes.
// Evaluate judges the unrounded values.
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
		out.Hosts[i].Values[s.Signal] = readable(s.Signal, s.Value)
	}
	return out
}

// readable is v to three significant digits, or to as many more as it
// takes to read as v does (apiv1.FormatValue): between reports, status
// shows a degraded cluster's values from its samples while preflight shows
// the auto hold's, and "5670/s" beside "5667/s" would be two answers.
func readable(sig Signal, v float64) float64 {
	want := apiv1.FormatValue(sig, v)
	for n := 3; n < 17; n++ {
		if r := significant(v, n); apiv1.FormatValue(sig, r) == want {
			return r
		}
	}
	return v
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
// cluster's status, a host, a signal's level, limits or error. Values
// moving within their level are not a change, at ok or at crit alike: they
// reach readers as samples (with the reason when it reads otherwise), which
// status and the page show over the report, and the report follows at the
// gate's heartbeat. A degraded cluster's values move every interval, and a
// full report each time was most of the event stream.
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
		}
	}
	return false
}
