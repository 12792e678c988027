package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Interval is a stretch [From, To) of scenario time during which Host was
// degraded, and why.
type Interval struct {
	Host     string
	From, To time.Duration
	Why      string
	// Harmful: it would fail a deploy (see Scenario.Degraded).
	Harmful bool
}

// Contains reports whether t falls inside the interval.
func (iv Interval) Contains(t time.Duration) bool { return t >= iv.From && t < iv.To }

// Covering returns the intervals that contain t.
func Covering(intervals []Interval, t time.Duration) []Interval {
	var out []Interval
	for _, iv := range intervals {
		if iv.Contains(t) {
			out = append(out, iv)
		}
	}
	return out
}

// Degraded returns the ground truth: every burst that sets a value above a crit
// limit, every probe-failure window,
// and every stretch where a host's scripted level (baseline and segments,
// without noise) stays above a crit limit for at least Limits().Sustain.
// Intervals of different causes may overlap; they are sorted by From, then
// host.
//
// Each interval says whether it is Harmful, i.e. would fail a deploy
// started inside it: every probe-failure window and every sustained breach
// is; a burst is when it takes readyz latency to its crit limit or above
// (the deploy tool's API calls then time out), or holds CPU or retransmits
// above crit for at least Limits().Sustain (long enough to stall a
// helmfile apply). A shorter CPU spike with readyz below crit is harmless.
func (s *Scenario) Degraded() []Interval {
	var out []Interval
	for _, b := range s.bursts {
		if s.burstBreaches(b) {
			out = append(out, Interval{Host: s.hosts[b.host].name, From: b.from, To: b.to, Why: b.why, Harmful: s.burstHarms(b)})
		}
	}
	for _, f := range s.failures {
		why := fmt.Sprintf("readyz failing with status %d", f.status)
		if f.status == 0 {
			why = "readyz not answering"
		}
		out = append(out, Interval{Host: s.hosts[f.host].name, From: f.from, To: f.to, Why: why, Harmful: true})
	}
	for i := range s.hosts {
		out = append(out, s.sustainedBreaches(i)...)
	}
	slices.SortStableFunc(out, func(a, b Interval) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Host, b.Host))
	})
	return out
}

// burstBreaches reports whether a burst takes a signal above its crit limit.
// Mild bursts (a deploy's normal CPU bump) are not degradation.
func (s *Scenario) burstBreaches(b burst) bool {
	l := s.limits
	return (b.cpu != nil && *b.cpu > l.CPU.Crit) ||
		(b.retransmits != nil && *b.retransmits > l.Retransmits.Crit) ||
		(b.latency != nil && *b.latency > l.ReadyzLatency.Crit.Seconds())
}

// burstHarms is the harmful rule for a burst (see Degraded).
func (s *Scenario) burstHarms(b burst) bool {
	l := s.limits
	long := b.to-b.from >= l.Sustain
	return (b.latency != nil && *b.latency >= l.ReadyzLatency.Crit.Seconds()) ||
		(long && b.cpu != nil && *b.cpu > l.CPU.Crit) ||
		(long && b.retransmits != nil && *b.retransmits > l.Retransmits.Crit)
}

// breachSignal reads one signal and its crit limit from scripted values.
type breachSignal struct {
	name   string
	value  func(Values) float64
	crit   float64
	format func(float64) string
}

func (s *Scenario) breachSignals() []breachSignal {
	l := s.limits
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
	return []breachSignal{
		{"cpu", func(v Values) float64 { return v.CPU }, l.CPU.Crit, pct},
		{"TCP retransmits", func(v Values) float64 { return v.Retransmits }, l.Retransmits.Crit,
			func(v float64) string { return fmt.Sprintf("%.0f/s", v) }},
		{"NIC egress", Values.NICUtilisation, l.NICUtilisation.Crit, pct},
		{"readyz latency", func(v Values) float64 { return v.ReadyzLatency.Seconds() }, l.ReadyzLatency.Crit.Seconds(),
			func(v float64) string {
				return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
			}},
	}
}

// sustainedBreaches scans host i's noise-free script one second at a time.
func (s *Scenario) sustainedBreaches(i int) []Interval {
	signals := s.breachSignals()
	type run struct {
		from time.Duration
		peak float64
		on   bool
	}
	runs := make([]run, len(signals))
	var out []Interval
	closeRun := func(j int, end time.Duration) {
		r := runs[j]
		runs[j].on = false
		if end-r.from < s.limits.Sustain {
			return
		}
		sig := signals[j]
		out = append(out, Interval{
			Host: s.hosts[i].name, From: r.from, To: end, Harmful: true,
			Why: fmt.Sprintf("%s above crit %s (peak %s)", sig.name, sig.format(sig.crit), sig.format(r.peak)),
		})
	}
	for t := time.Duration(0); t < s.duration; t += integrationStep {
		v, _ := s.values(i, t, false, false)
		for j, sig := range signals {
			x := sig.value(v)
			switch {
			case x > sig.crit && !runs[j].on:
				runs[j] = run{from: t, peak: x, on: true}
			case x > sig.crit:
				runs[j].peak = max(runs[j].peak, x)
			case runs[j].on:
				closeRun(j, t)
			}
		}
	}
	for j := range runs {
		if runs[j].on {
			closeRun(j, s.duration)
		}
	}
	return out
}
