package main

import (
	"net/http"
	"slices"
	"time"

	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/server/replay"
)

// valuesAt is a host's scripted signals at a moment of scenario time
// (sim.Scenario.At, or a synthetic series in tests).
type valuesAt func(host string, t time.Duration) sim.Values

// dashboard is the Grafana panel that missed the incident: 1-minute
// averages, of which one point is shown every 3 minutes. Someone watching
// sees a point above crit from when it is drawn until the next one.
type dashboard struct {
	Average, Every time.Duration
	Limits         sim.Limits
	// Timeout is the latency a failed readyz probe counts as.
	Timeout time.Duration
}

// Spans are the stretches during which the dashboard shows some host at
// crit on some signal.
func (d dashboard) Spans(at valuesAt, hosts []string, until time.Duration) []replay.Span {
	var on []replay.Span
	for t := d.Every; t <= until; t += d.Every {
		if slices.ContainsFunc(hosts, func(h string) bool { return d.breached(at, h, t) }) {
			on = append(on, replay.Span{From: t, To: min(t+d.Every, until)})
		}
	}
	return replay.Union(on)
}

// breached reports whether one host's averages over [t-Average, t) reach
// crit on some signal.
func (d dashboard) breached(at valuesAt, host string, t time.Duration) bool {
	var cpu, retrans, nic, latency float64
	n := 0
	for s := max(t-d.Average, 0); s < t; s += time.Second {
		v := at(host, s)
		cpu += v.CPU
		retrans += v.Retransmits
		nic += v.NICUtilisation()
		if v.ReadyzStatus == http.StatusOK {
			latency += v.ReadyzLatency.Seconds()
		} else {
			latency += d.Timeout.Seconds()
		}
		n++
	}
	if n == 0 {
		return false
	}
	f := float64(n)
	l := d.Limits
	return cpu/f >= l.CPU.Crit || retrans/f >= l.Retransmits.Crit || nic/f >= l.NICUtilisation.Crit ||
		latency/f >= l.ReadyzLatency.Crit.Seconds()
}

// probeDown is the ProbeDown alert: a blackbox probe of each apiserver
// every Every, succeeding when readyz answers 2xx within Timeout, and the
// rule avg_over_time(probe_success[Window]) < Below for For, evaluated
// after every probe.
type probeDown struct {
	Every, Timeout, Window, For time.Duration
	Below                       float64
}

// Spans are the stretches during which the alert fires for some host.
func (p probeDown) Spans(at valuesAt, hosts []string, until time.Duration) []replay.Span {
	var on []replay.Span
	for _, h := range hosts {
		on = append(on, p.host(at, h, until)...)
	}
	return replay.Union(on)
}

func (p probeDown) host(at valuesAt, host string, until time.Duration) []replay.Span {
	type probe struct {
		t  time.Duration
		ok bool
	}
	var (
		probes  []probe
		on      []replay.Span
		pending = time.Duration(-1) // when the condition began to hold
		firing  = time.Duration(-1)
	)
	for t := time.Duration(0); t < until; t += p.Every {
		v := at(host, t)
		probes = append(probes, probe{t, v.ReadyzStatus >= 200 && v.ReadyzStatus < 300 && v.ReadyzLatency < p.Timeout})
		// The range vector (t-Window, t].
		for len(probes) > 0 && probes[0].t <= t-p.Window {
			probes = probes[1:]
		}
		good := 0
		for _, pr := range probes {
			if pr.ok {
				good++
			}
		}
		cond := float64(good)/float64(len(probes)) < p.Below
		switch {
		case !cond:
			if firing >= 0 {
				on = append(on, replay.Span{From: firing, To: t})
			}
			pending, firing = -1, -1
		case pending < 0:
			pending = t
			if p.For == 0 {
				firing = t
			}
		case firing < 0 && t-pending >= p.For:
			firing = t
		}
	}
	if firing >= 0 {
		on = append(on, replay.Span{From: firing, To: until})
	}
	return on
}

// episodes groups bursts less than gap apart: a flapping signal's swings
// make one episode.
func episodes(bursts []replay.Burst, gap time.Duration) []replay.Span {
	var out []replay.Span
	for _, b := range bursts {
		if n := len(out); n > 0 && b.From-out[n-1].To < gap {
			out[n-1].To = max(out[n-1].To, b.To)
			continue
		}
		out = append(out, b.Span)
	}
	return out
}

// cyclesPerEpisode counts, for each episode, the engagements (on-spans)
// that overlap it.
func cyclesPerEpisode(eps, on []replay.Span) []int {
	out := make([]int, len(eps))
	for i, e := range eps {
		for _, s := range on {
			if s.Overlaps(e) {
				out[i]++
			}
		}
	}
	return out
}
