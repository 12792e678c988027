package health

import "time"

// counterRate is the per-second rate of a counter between two readings. It
// is false when no time passed or the counter went backwards (a reset),
// rather than a bogus negative rate.
func counterRate(prev, cur float64, elapsed time.Duration) (float64, bool) {
	if elapsed <= 0 || cur < prev {
		return 0, false
	}
	return (cur - prev) / elapsed.Seconds(), true
}

// cpuUtilisation is the busy share of all CPU time between two scrapes, 0..1.
func cpuUtilisation(prev, cur nodeSnapshot) (float64, bool) {
	if !prev.HasCPU || !cur.HasCPU {
		return 0, false
	}
	busy, total := cur.CPUBusy-prev.CPUBusy, cur.CPUTotal-prev.CPUTotal
	if total <= 0 || busy < 0 {
		return 0, false
	}
	return min(max(busy/total, 0), 1), true
}

// nicUtilisation is the egress of the busiest NIC over its link speed. NICs
// without a known speed, or new or reset since the previous scrape, are
// skipped; false when none is left.
func nicUtilisation(prev, cur nodeSnapshot) (float64, bool) {
	elapsed := cur.At.Sub(prev.At)
	busiest, found := 0.0, false
	for dev, c := range cur.NICs {
		p, ok := prev.NICs[dev]
		if !ok || c.SpeedBytes <= 0 {
			continue
		}
		r, ok := counterRate(p.TxBytes, c.TxBytes, elapsed)
		if !ok {
			continue
		}
		busiest, found = max(busiest, r/c.SpeedBytes), true
	}
	return busiest, found
}

// rateSamples turns two successive scrapes of a host into samples stamped
// with the later one's time. A family missing from the scrape is a source
// error; a rate that cannot be computed this round is left out.
func rateSamples(host string, prev, cur nodeSnapshot) []Sample {
	var out []Sample
	add := func(sig Signal, v float64, ok bool) {
		if ok {
			out = append(out, Sample{Host: host, Signal: sig, Value: v, At: cur.At})
		}
	}
	if !cur.HasCPU {
		out = append(out, errSamples(host, cur.At, describeMissing(SignalCPU), SignalCPU)...)
	} else {
		v, ok := cpuUtilisation(prev, cur)
		add(SignalCPU, v, ok)
	}
	if !cur.HasRetrans {
		out = append(out, errSamples(host, cur.At, describeMissing(SignalRetransmits), SignalRetransmits)...)
	} else {
		v, ok := counterRate(prev.Retrans, cur.Retrans, cur.At.Sub(prev.At))
		add(SignalRetransmits, v, ok && prev.HasRetrans)
	}
	v, ok := nicUtilisation(prev, cur)
	add(SignalNIC, v, ok)
	return out
}
