package health

import (
	"fmt"
	"slices"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Evaluate folds one round of samples into the cluster's state. It is pure:
// the result depends only on its arguments.
//
// Each sample is levelled against c.Thresholds: value >= crit is crit,
// >= warn is warn. A failed readyz (Err set on a latency sample) is crit: a
// control plane that does not answer is the breach we guard against. A
// failed cpu/retransmits/nic sample is a source error (LevelError), counted
// apart in ErrorStreak. A signal with no sample in this round keeps its last
// state (the prober skips rates on a host's first scrape and on counter
// resets).
//
// The cluster trips (StatusDegraded) once at least c.MinBreachingHosts hosts
// have been at crit for c.TripAfter consecutive evaluations, or, with
// on_error hold, after c.MaxConsecutiveErrors consecutive evaluations with
// source errors. A severe round trips it at once, without waiting for
// trip_after, when at least c.MinBreachingHosts hosts are at crit: some
// sample of the round at or above its signal's Severe level, or readyz
// failing on every apiserver of the cluster. It clears (StatusOK) only after c.ClearAfter consecutive
// evaluations in which every signal of every host is below warn, with no
// source error, and once c.MinHold has passed since TrippedAt. Not seeing is
// never taken for healthy: failing sources keep a degraded cluster degraded.
// With on_error ignore, a cluster with no usable sample for
// c.MaxConsecutiveErrors evaluations becomes StatusUnknown unless degraded.
//
// A cluster that has never been evaluated (zero State) is unknown until a
// round with usable data, and then ok at once unless it trips. For a
// Cluster built by hand rather than by ParseConfig, counts below 1 act as 1.
func Evaluate(prev State, samples []Sample, c Cluster, now time.Time) State {
	c.TripAfter, c.ClearAfter = max(c.TripAfter, 1), max(c.ClearAfter, 1)
	c.MinBreachingHosts, c.MaxConsecutiveErrors = max(c.MinBreachingHosts, 1), max(c.MaxConsecutiveErrors, 1)
	next := State{
		Cluster:   c.Name,
		Status:    prev.Status,
		Since:     prev.Since,
		TrippedAt: prev.TrippedAt,
		Hosts:     nextHosts(prev.Hosts, samples, c, now),
		UpdatedAt: now,
	}
	if next.Status == "" {
		next.Status, next.Since = StatusUnknown, now
	}
	r := summarise(next.Hosts, samples)
	r.severe = severe(samples, c)

	next.CritStreak = streak(prev.CritStreak, len(r.critHosts) >= c.MinBreachingHosts)
	next.ClearStreak = streak(prev.ClearStreak, r.allOK)
	next.ErrorStreak = streak(prev.ErrorStreak, len(r.sourceErrs) > 0 || len(samples) == 0)
	erring := next.ErrorStreak >= c.MaxConsecutiveErrors

	status := next.Status
	switch {
	case next.CritStreak >= c.TripAfter, erring && c.OnError == OnErrorHold,
		r.severe && len(r.critHosts) >= c.MinBreachingHosts:
		status = StatusDegraded
	case next.Status == StatusDegraded:
		if next.ClearStreak >= c.ClearAfter && now.Sub(next.TrippedAt) >= c.MinHold {
			status = StatusOK
		}
	case r.usable:
		status = StatusOK
	case erring:
		status = StatusUnknown
	}
	if status != next.Status {
		next.Since = now
		switch status {
		case StatusDegraded:
			next.TrippedAt = now
		default:
			next.TrippedAt = time.Time{}
		}
	}
	next.Status = status
	next.Reason = reason(next, r, c)
	return next
}

// round is what one evaluation saw across all hosts.
type round struct {
	critHosts  []HostState
	warnings   []string // "host signal value (warn limit)" for signals at warn
	sourceErrs []string // "host signal: error" for failed sources this round
	allOK      bool     // every signal of every host at ok, and there is one
	usable     bool     // at least one sample this round says something
	severe     bool     // see severe
}

// severe reports whether a round is bad enough to trip at once: a measured
// sample at or above its signal's Severe level, or a failed readyz on every
// apiserver of the cluster.
func severe(samples []Sample, c Cluster) bool {
	failed := map[string]bool{}
	for _, s := range samples {
		l := c.Thresholds.For(s.Signal)
		if s.Measured() && l.Severe > 0 && s.Value >= l.Severe {
			return true
		}
		if s.Signal == SignalLatency && s.Err != "" {
			failed[s.Host] = true
		}
	}
	if len(c.APIServers) == 0 {
		return false
	}
	for _, a := range c.APIServers {
		if !failed[a.Host()] {
			return false
		}
	}
	return true
}

func summarise(hosts []HostState, samples []Sample) round {
	var r round
	signals := 0
	ok := 0
	for _, h := range hosts {
		if h.Level() == LevelCrit {
			r.critHosts = append(r.critHosts, h)
		}
		for _, sig := range Signals {
			st, has := h.Signals[sig]
			if !has {
				continue
			}
			signals++
			switch st.Level {
			case LevelOK:
				ok++
			case LevelWarn:
				r.warnings = append(r.warnings, apiv1.ShortHost(h.Host)+" "+apiv1.SignalReading{
					Signal: sig, Level: LevelWarn, Value: st.Value, Limit: st.Warn}.Text())
			}
		}
	}
	r.allOK = signals > 0 && ok == signals
	for _, s := range samples {
		if s.Measured() {
			r.usable = true
		} else {
			r.sourceErrs = append(r.sourceErrs, fmt.Sprintf("%s %s: %s", apiv1.ShortHost(s.Host), s.Signal, s.Err))
		}
	}
	if len(r.sourceErrs) > 0 {
		r.allOK = false
	}
	return r
}

func streak(n int, hit bool) int {
	if hit {
		return n + 1
	}
	return 0
}

// nextHosts applies the samples to the previous host states. Hosts are in
// the order of c.APIServers, then any other host that sent samples.
func nextHosts(prev []HostState, samples []Sample, c Cluster, now time.Time) []HostState {
	var order []string
	for _, a := range c.APIServers {
		order = append(order, a.Host())
	}
	var extra []string
	for _, s := range samples {
		if !slices.Contains(order, s.Host) && !slices.Contains(extra, s.Host) {
			extra = append(extra, s.Host)
		}
	}
	slices.Sort(extra)
	order = append(order, extra...)

	before := map[string]HostState{}
	for _, h := range prev {
		before[h.Host] = h
	}
	hosts := make([]HostState, 0, len(order))
	for _, host := range order {
		h := HostState{Host: host, Signals: map[Signal]SignalState{}}
		for sig, st := range before[host].Signals {
			h.Signals[sig] = st
		}
		for _, s := range samples {
			if s.Host == host {
				old, had := h.Signals[s.Signal]
				h.Signals[s.Signal] = nextSignal(old, had, s, c.Thresholds.For(s.Signal), now)
			}
		}
		hosts = append(hosts, h)
	}
	return hosts
}

func nextSignal(prev SignalState, had bool, s Sample, l Limits, now time.Time) SignalState {
	at := s.At
	if at.IsZero() {
		at = now
	}
	st := SignalState{Value: s.Value, Err: s.Err, Warn: l.Warn, Crit: l.Crit, At: at, Level: levelOf(s, l)}
	// A fresh slice: the previous State must not change under its holder.
	recent := slices.Clone(prev.Recent)
	if s.Measured() {
		recent = append(recent, Point{At: at, Value: s.Value})
	}
	if len(recent) > RecentSamples {
		recent = slices.Clone(recent[len(recent)-RecentSamples:])
	}
	st.Recent = recent
	for i, p := range recent {
		if i == 0 || p.Value > st.Peak {
			st.Peak = p.Value
		}
	}
	st.Since = now
	if had && prev.Level == st.Level {
		st.Since = prev.Since
	}
	return st
}

func levelOf(s Sample, l Limits) Level {
	switch {
	case s.Err != "" && s.Signal == SignalLatency:
		return LevelCrit
	case s.Err != "":
		return LevelError
	case s.Value >= l.Crit:
		return LevelCrit
	case s.Value >= l.Warn:
		return LevelWarn
	}
	return LevelOK
}

// reason is the State's one-line summary.
func reason(s State, r round, c Cluster) string {
	switch s.Status {
	case StatusDegraded:
		switch {
		case len(r.critHosts) > 0:
			return "control plane degraded: " + withMore(apiv1.HostLine(s.critReadings(r.critHosts[0]), s.UpdatedAt, false), len(r.critHosts)-1, "host")
		case len(r.sourceErrs) > 0 && c.OnError == OnErrorHold && s.ErrorStreak >= c.MaxConsecutiveErrors:
			return fmt.Sprintf("control plane degraded: metric sources failing for %d evaluations: %s",
				s.ErrorStreak, withMore(r.sourceErrs[0], len(r.sourceErrs)-1, "error"))
		case len(r.sourceErrs) > 0:
			return "control plane degraded: cannot confirm recovery, metric sources failing: " +
				withMore(r.sourceErrs[0], len(r.sourceErrs)-1, "error")
		case len(r.warnings) > 0:
			return "control plane degraded: not yet below warn: " + withMore(r.warnings[0], len(r.warnings)-1, "signal")
		}
		msg := fmt.Sprintf("control plane degraded: recovering, healthy for %d/%d evaluations", min(s.ClearStreak, c.ClearAfter), c.ClearAfter)
		if end := s.TrippedAt.Add(c.MinHold); end.After(s.UpdatedAt) {
			msg += ", held at least until " + apiv1.At(s.UpdatedAt, end)
		}
		return msg
	case StatusUnknown:
		if len(r.sourceErrs) > 0 {
			return fmt.Sprintf("health unknown: no usable data, metric sources failing for %d evaluations: %s",
				s.ErrorStreak, withMore(r.sourceErrs[0], len(r.sourceErrs)-1, "error"))
		}
		return "health unknown: no data yet"
	}
	msg := "control plane healthy"
	switch {
	case len(r.critHosts) > 0:
		msg += fmt.Sprintf("; at crit for %d of %d evaluations before tripping: %s",
			s.CritStreak, c.TripAfter, withMore(apiv1.HostLine(s.critReadings(r.critHosts[0]), s.UpdatedAt, false), len(r.critHosts)-1, "host"))
	case len(r.warnings) > 0:
		msg += "; warn: " + withMore(r.warnings[0], len(r.warnings)-1, "signal")
	}
	if len(r.sourceErrs) > 0 {
		msg += "; source errors: " + withMore(r.sourceErrs[0], len(r.sourceErrs)-1, "error")
	}
	return msg
}

func withMore(first string, more int, noun string) string {
	switch more {
	case 0:
		return first
	case 1:
		return fmt.Sprintf("%s (and 1 more %s)", first, noun)
	}
	return fmt.Sprintf("%s (and %d more %ss)", first, more, noun)
}

// Breaching are the signals at crit of every host at crit, host by host:
// what an auto hold shows of a degraded cluster. A degraded cluster that is
// recovering has none.
func (s State) Breaching() []apiv1.SignalReading {
	var out []apiv1.SignalReading
	for _, h := range s.Hosts {
		out = append(out, s.critReadings(h)...)
	}
	return out
}

// critReadings are h's signals at crit, each beside its crit limit.
func (s State) critReadings(h HostState) []apiv1.SignalReading {
	var out []apiv1.SignalReading
	for _, sig := range Signals {
		if st, ok := h.Signals[sig]; ok && st.Level == LevelCrit {
			out = append(out, s.reading(h.Host, sig, st, LevelCrit, st.Crit, st.Since))
		}
	}
	return out
}

func (s State) reading(host string, sig Signal, st SignalState, level Level, limit float64, since time.Time) apiv1.SignalReading {
	return apiv1.SignalReading{
		Cluster: s.Cluster, APIServer: host, Signal: sig, Level: level,
		Value: st.Value, Limit: limit, Unit: apiv1.UnitOf(sig), Error: st.Err, Since: since,
	}
}

// NotBelowWarn are the signals of any host that are not below warn, each
// beside its warn limit, worst first (crit, warn, then failing sources:
// not seeing is not below warn): what a cooldown hold shows. Since is when
// the signal's current run at or above warn began. None means every signal
// of every host is below warn.
func (s State) NotBelowWarn() []apiv1.SignalReading {
	var crit, warn, unknown []apiv1.SignalReading
	for _, h := range s.Hosts {
		for _, sig := range Signals {
			st, ok := h.Signals[sig]
			if !ok {
				continue
			}
			r := s.reading(h.Host, sig, st, LevelWarn, st.Warn, aboveWarnSince(st))
			switch st.Level {
			case LevelCrit:
				crit = append(crit, r)
			case LevelWarn:
				warn = append(warn, r)
			case LevelError:
				r.Level, r.Since = LevelError, st.Since
				unknown = append(unknown, r)
			}
		}
	}
	return append(append(crit, warn...), unknown...)
}

// aboveWarnSince is when a signal's current run at or above warn began: the
// oldest of its latest recent samples at or above warn, or when its level
// began when there are no samples.
func aboveWarnSince(st SignalState) time.Time {
	since := st.Since
	for i := len(st.Recent) - 1; i >= 0 && st.Recent[i].Value >= st.Warn; i-- {
		since = st.Recent[i].At
	}
	return since
}

// CritHosts is how many hosts have some signal at crit.
func (s State) CritHosts() int {
	n := 0
	for _, h := range s.Hosts {
		if h.Level() == LevelCrit {
			n++
		}
	}
	return n
}
