package sim

import (
	"math"
	"net/http"
	"time"
)

// Values are one host's scripted signals at one moment of scenario time.
type Values struct {
	CPU            float64 // utilisation of all cores, 0..1
	Retransmits    float64 // TCP segments retransmitted per second
	NICBytesPerSec float64 // eth0 egress
	LinkSpeedBytes float64 // eth0 link speed, bytes per second
	ReadyzLatency  time.Duration
	// ReadyzStatus is 200, an HTTP failure status, or 0 for no answer (the
	// request times out; ReadyzLatency then does not apply).
	ReadyzStatus int
}

// NICUtilisation is egress over link speed.
func (v Values) NICUtilisation() float64 {
	if v.LinkSpeedBytes == 0 {
		return 0
	}
	return v.NICBytesPerSec / v.LinkSpeedBytes
}

// At returns host's values at scenario offset t. It is pure: the same
// scenario, host and t always give the same values. Offsets before 0 read as
// 0, offsets past the end hold the final values. An unknown host gives the
// zero Values.
func (s *Scenario) At(hostName string, t time.Duration) Values {
	i, ok := s.hostIndex[hostName]
	if !ok {
		return Values{}
	}
	v, _ := s.values(i, t, true, true)
	return v
}

// values computes host i's values at t. Without noise and events (bursts and
// probe failures) it gives the scripted level the sustained-breach ground
// truth is judged on. It also returns the loopback egress, which only the
// node_exporter shows.
func (s *Scenario) values(i int, t time.Duration, noisy, events bool) (Values, float64) {
	t = s.clamp(t)
	h := s.hosts[i]
	b := s.baseline
	v := Values{
		CPU:            b.cpu,
		Retransmits:    b.retransmits,
		NICBytesPerSec: b.nicBytes,
		LinkSpeedBytes: h.linkSpeed,
		ReadyzStatus:   http.StatusOK,
	}
	latency := b.latency
	nicUtil := math.NaN() // set when the last NIC override is a utilisation
	for _, seg := range s.segments {
		if (seg.host != anyHost && seg.host != i) || t < seg.from || t >= seg.to {
			continue
		}
		at := func(c *curve, dst *float64) {
			if c != nil {
				*dst = c.eval(t-seg.from, seg.to-seg.from)
			}
		}
		at(seg.cpu, &v.CPU)
		at(seg.retransmits, &v.Retransmits)
		at(seg.latency, &latency)
		if seg.nicBytes != nil {
			at(seg.nicBytes, &v.NICBytesPerSec)
			nicUtil = math.NaN()
		}
		if seg.nicUtil != nil {
			at(seg.nicUtil, &nicUtil)
		}
		if seg.linkSpeed != nil {
			v.LinkSpeedBytes = *seg.linkSpeed
		}
	}
	if !math.IsNaN(nicUtil) {
		v.NICBytesPerSec = nicUtil * v.LinkSpeedBytes
	}
	if events {
		for _, bu := range s.bursts {
			if bu.host != i || t < bu.from || t >= bu.to {
				continue
			}
			setIf(&v.CPU, bu.cpu)
			setIf(&v.Retransmits, bu.retransmits)
			setIf(&latency, bu.latency)
		}
	}
	loopback := b.loopbackBytes
	if noisy {
		sec := int64(t / time.Second)
		v.CPU *= s.jitter(h.name, noiseCPU, sec)
		v.Retransmits *= s.jitter(h.name, noiseRetransmits, sec)
		v.NICBytesPerSec *= s.jitter(h.name, noiseNIC, sec)
		latency *= s.jitter(h.name, noiseLatency, sec)
		loopback *= s.jitter(h.name, noiseLoopback, sec)
	}
	if events {
		for _, f := range s.failures {
			if f.host != i || t < f.from || t >= f.to {
				continue
			}
			v.ReadyzStatus = f.status
			setIf(&latency, f.latency)
		}
	}
	v.CPU = math.Min(math.Max(v.CPU, 0), 1)
	v.NICBytesPerSec = math.Min(math.Max(v.NICBytesPerSec, 0), v.LinkSpeedBytes)
	v.Retransmits = math.Max(v.Retransmits, 0)
	v.ReadyzLatency = time.Duration(math.Max(latency, 0) * float64(time.Second)).Round(time.Microsecond)
	return v, loopback
}

func setIf(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

// clamp maps t into the scenario, holding the final values past the end.
func (s *Scenario) clamp(t time.Duration) time.Duration {
	if t < 0 {
		return 0
	}
	if t >= s.duration {
		return s.duration - time.Nanosecond
	}
	return t
}

// eval is the curve's value at offset into a segment of length span.
func (c *curve) eval(offset, span time.Duration) float64 {
	switch c.Kind {
	case curveRamp:
		return c.A + (c.B-c.A)*float64(offset)/float64(span)
	case curveWave:
		mid, amp := (c.A+c.B)/2, (c.B-c.A)/2
		return mid + amp*math.Sin(2*math.Pi*float64(offset)/float64(c.Period))
	default:
		return c.A
	}
}
