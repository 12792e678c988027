package sim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error that rejects a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

// Bounds that keep a scenario cheap to integrate and sensible to play.
const (
	maxDuration = 24 * time.Hour
	maxCores    = 1024
	maxNoise    = 0.5
)

// defaultStart anchors scenarios that do not set start.
var defaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// problems collects validation failures, each naming its field.
type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(p, "; "))
}

// validate applies defaults and checks f, returning the scenario it describes.
// All defaults are applied here.
func validate(f *scenarioFile) (*Scenario, error) {
	var p problems
	s := &Scenario{
		name:        f.Name,
		description: f.Description,
		start:       defaultStart,
		compression: 1,
		seed:        uint64(f.Seed),
		hostIndex:   map[string]int{},
		limits:      DefaultLimits(),
	}

	if strings.TrimSpace(f.Name) == "" || strings.ContainsAny(f.Name, " \t\n/") {
		p.add("name", "must be a non-empty word without spaces or slashes, got %q", f.Name)
	}
	if f.Start != "" {
		t, err := time.Parse(time.RFC3339, f.Start)
		if err != nil {
			p.add("start", "%q is not an RFC 3339 time such as 2024-05-28T12:00:00Z", f.Start)
		} else {
			s.start = t.UTC()
		}
	}
	switch {
	case f.Duration == nil:
		p.add("duration", "is required")
	case *f.Duration <= 0 || time.Duration(*f.Duration) > maxDuration:
		p.add("duration", "must be in (0, %v], got %v", maxDuration, time.Duration(*f.Duration))
	default:
		s.duration = time.Duration(*f.Duration)
	}
	if f.Compression != nil {
		if *f.Compression <= 0 {
			p.add("compression", "must be > 0, got %v", *f.Compression)
		} else {
			s.compression = *f.Compression
		}
	}

	validateHosts(&p, s, f.Hosts)
	validateBaseline(&p, s, f.Baseline)
	validateLimits(&p, s, f.Limits)
	validateDeploys(&p, s, f.Deploys)
	validateSegments(&p, s, f.Segments)
	validateBursts(&p, s, f.Bursts)
	validateDeployBursts(&p, s, f.DeployBursts)
	validateFailures(&p, s, f.ProbeFailures)

	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func validateHosts(p *problems, s *Scenario, hosts []hostSpec) {
	if len(hosts) == 0 {
		p.add("hosts", "at least one host is required")
	}
	for i, h := range hosts {
		field := fmt.Sprintf("hosts[%d]", i)
		switch {
		case h.Name == "" || h.Name == "*" || strings.ContainsAny(h.Name, " \t\n:/"):
			p.add(field+".name", "must be a host name, got %q", h.Name)
		default:
			if _, dup := s.hostIndex[h.Name]; dup {
				p.add(field+".name", "%q is listed twice", h.Name)
			}
			s.hostIndex[h.Name] = i
		}
		if h.Cores < 1 || h.Cores > maxCores {
			p.add(field+".cores", "must be in [1, %d], got %d", maxCores, h.Cores)
		}
		speed := 0.0
		switch {
		case h.LinkSpeedBytes == nil:
			p.add(field+".link_speed_bytes", "is required")
		case *h.LinkSpeedBytes <= 0:
			p.add(field+".link_speed_bytes", "must be > 0, got %v", *h.LinkSpeedBytes)
		default:
			speed = *h.LinkSpeedBytes
		}
		s.hosts = append(s.hosts, host{name: h.Name, cores: h.Cores, linkSpeed: speed})
	}
}

func validateBaseline(p *problems, s *Scenario, b *baselineSpec) {
	if b == nil {
		p.add("baseline", "is required")
		return
	}
	required := func(field string, v *float64, lo, hi float64) float64 {
		switch {
		case v == nil:
			p.add("baseline."+field, "is required")
		case *v < lo || *v > hi:
			p.add("baseline."+field, "must be in [%v, %v], got %v", lo, hi, *v)
		default:
			return *v
		}
		return 0
	}
	s.baseline.cpu = required("cpu", b.CPU, 0, 1)
	s.baseline.retransmits = required("retransmits", b.Retransmits, 0, inf)
	s.baseline.nicBytes = required("nic_bytes_per_s", b.NICBytesPerS, 0, inf)
	s.baseline.loopbackBytes = 1e6
	if b.LoopbackBytes != nil {
		s.baseline.loopbackBytes = required("loopback_bytes_per_s", b.LoopbackBytes, 0, inf)
	}
	if b.Noise != nil {
		s.baseline.noise = required("noise", b.Noise, 0, maxNoise)
	}
	switch {
	case b.ReadyzLatency == nil:
		p.add("baseline.readyz_latency", "is required")
	case *b.ReadyzLatency < 0:
		p.add("baseline.readyz_latency", "must be >= 0, got %v", time.Duration(*b.ReadyzLatency))
	default:
		s.baseline.latency = time.Duration(*b.ReadyzLatency).Seconds()
	}
}

func validateLimits(p *problems, s *Scenario, l *limitsSpec) {
	if l == nil {
		return
	}
	level := func(field string, v *levelPair, hi float64, dst *Level) {
		if v == nil {
			return
		}
		if v.Warn <= 0 || v.Crit < v.Warn || v.Crit > hi {
			p.add("limits."+field, "want 0 < warn <= crit <= %v, got warn %v crit %v", hi, v.Warn, v.Crit)
			return
		}
		*dst = Level{Warn: v.Warn, Crit: v.Crit}
	}
	level("cpu", l.CPU, 1, &s.limits.CPU)
	level("retransmits", l.Retransmits, inf, &s.limits.Retransmits)
	level("nic_utilisation", l.NICUtilisation, 1, &s.limits.NICUtilisation)
	if v := l.ReadyzLatency; v != nil {
		if v.Warn <= 0 || v.Crit < v.Warn {
			p.add("limits.readyz_latency", "want 0 < warn <= crit, got warn %v crit %v", time.Duration(v.Warn), time.Duration(v.Crit))
		} else {
			s.limits.ReadyzLatency = LatencyLevel{Warn: time.Duration(v.Warn), Crit: time.Duration(v.Crit)}
		}
	}
	if l.Sustain != nil {
		if *l.Sustain < yamlDuration(time.Second) {
			p.add("limits.sustain", "must be >= 1s, got %v", time.Duration(*l.Sustain))
		} else {
			s.limits.Sustain = time.Duration(*l.Sustain)
		}
	}
}

func validateDeploys(p *problems, s *Scenario, deploys []yamlDuration) {
	for i, d := range deploys {
		field := fmt.Sprintf("deploys[%d]", i)
		t := time.Duration(d)
		switch {
		case t < 0 || t >= s.duration:
			p.add(field, "%v is outside the scenario [0, %v)", t, s.duration)
		case i > 0 && t <= time.Duration(deploys[i-1]):
			p.add(field, "%v is not after deploys[%d] %v; list deploys in order", t, i-1, time.Duration(deploys[i-1]))
		default:
			s.deploys = append(s.deploys, t)
		}
	}
}

// hostRef resolves a host name or "*" to an index or anyHost.
func hostRef(p *problems, s *Scenario, field, name string) int {
	if name == "*" {
		return anyHost
	}
	i, ok := s.hostIndex[name]
	if !ok {
		p.add(field, "unknown host %q (want one of hosts[].name or \"*\")", name)
		return anyHost
	}
	return i
}

// expand turns a host index or anyHost into the host indexes it covers.
func (s *Scenario) expand(h int) []int {
	if h != anyHost {
		return []int{h}
	}
	out := make([]int, len(s.hosts))
	for i := range out {
		out[i] = i
	}
	return out
}

// window checks a required [from, to) window inside the scenario.
func window(p *problems, s *Scenario, field string, from, to *yamlDuration) (time.Duration, time.Duration, bool) {
	if from == nil || to == nil {
		if from == nil {
			p.add(field+".from", "is required")
		}
		if to == nil {
			p.add(field+".to", "is required")
		}
		return 0, 0, false
	}
	f, t := time.Duration(*from), time.Duration(*to)
	switch {
	case f < 0:
		p.add(field+".from", "must be >= 0, got %v", f)
	case t <= f:
		p.add(field+".to", "%v is not after from %v", t, f)
	case t > s.duration:
		p.add(field+".to", "%v is past the scenario's duration %v", t, s.duration)
	default:
		return f, t, true
	}
	return 0, 0, false
}

func validateSegments(p *problems, s *Scenario, segs []segmentSpec) {
	for i, sp := range segs {
		field := fmt.Sprintf("segments[%d]", i)
		seg := segment{host: hostRef(p, s, field+".host", sp.Host)}
		var ok bool
		seg.from, seg.to, ok = window(p, s, field, sp.From, sp.To)
		if !ok {
			continue
		}
		seg.cpu = checkCurve(p, field+".cpu", sp.CPU.get(), 0, 1)
		seg.retransmits = checkCurve(p, field+".retransmits", sp.Retransmits.get(), 0, inf)
		seg.nicBytes = checkCurve(p, field+".nic_bytes_per_s", sp.NICBytesPerS.get(), 0, inf)
		seg.nicUtil = checkCurve(p, field+".nic_utilisation", sp.NICUtilisation.get(), 0, 1)
		if sp.ReadyzLatency != nil {
			seg.latency = checkCurve(p, field+".readyz_latency", &sp.ReadyzLatency.curve, 0, inf)
		}
		if seg.nicBytes != nil && seg.nicUtil != nil {
			p.add(field, "set nic_bytes_per_s or nic_utilisation, not both")
		}
		if sp.LinkSpeedBytes != nil {
			if *sp.LinkSpeedBytes <= 0 {
				p.add(field+".link_speed_bytes", "must be > 0, got %v", *sp.LinkSpeedBytes)
			}
			seg.linkSpeed = sp.LinkSpeedBytes
		}
		if seg.cpu == nil && seg.retransmits == nil && seg.nicBytes == nil && seg.nicUtil == nil &&
			seg.latency == nil && seg.linkSpeed == nil {
			p.add(field, "sets no value (want cpu, retransmits, nic_bytes_per_s, nic_utilisation, link_speed_bytes or readyz_latency)")
		}
		s.segments = append(s.segments, seg)
	}
}

func (c *numberCurve) get() *curve {
	if c == nil {
		return nil
	}
	return &c.curve
}

func checkCurve(p *problems, field string, c *curve, lo, hi float64) *curve {
	if c == nil {
		return nil
	}
	in := func(v float64) bool { return v >= lo && v <= hi }
	switch {
	case !in(c.A) || (c.Kind != curveConstant && !in(c.B)):
		p.add(field, "values must be in [%v, %v], got %v and %v", lo, hi, c.A, c.B)
	case c.Kind == curveWave && c.A > c.B:
		p.add(field, "min %v is above max %v", c.A, c.B)
	case c.Kind == curveWave && c.Period <= 0:
		p.add(field+".period", "must be > 0, got %v", c.Period)
	}
	cp := *c
	return &cp
}

func validateBursts(p *problems, s *Scenario, bursts []burstSpec) {
	for i, b := range bursts {
		field := fmt.Sprintf("bursts[%d]", i)
		h := hostRef(p, s, field+".host", b.Host)
		if b.At == nil || b.Length == nil {
			if b.At == nil {
				p.add(field+".at", "is required")
			}
			if b.Length == nil {
				p.add(field+".length", "is required")
			}
			continue
		}
		at, length := time.Duration(*b.At), time.Duration(*b.Length)
		switch {
		case at < 0 || at >= s.duration:
			p.add(field+".at", "%v is outside the scenario [0, %v)", at, s.duration)
			continue
		case length <= 0:
			p.add(field+".length", "must be > 0, got %v", length)
			continue
		case at+length > s.duration:
			p.add(field+".length", "burst at %v for %v ends past the scenario's duration %v", at, length, s.duration)
			continue
		}
		v := burstValues(p, field, b.CPU, b.Retransmits, b.ReadyzLatency)
		v.from, v.to = at, at+length
		v.why = "burst" + v.why
		for _, hi := range s.expand(h) {
			v.host = hi
			s.bursts = append(s.bursts, v)
		}
	}
}

// burstValues checks the values a burst or deploy burst sets; why describes them.
func burstValues(p *problems, field string, cpu, retransmits *float64, latency *yamlDuration) burst {
	var b burst
	var parts []string
	if cpu != nil {
		if *cpu < 0 || *cpu > 1 {
			p.add(field+".cpu", "must be in [0, 1], got %v", *cpu)
		}
		b.cpu = cpu
		parts = append(parts, fmt.Sprintf("cpu %.0f%%", *cpu*100))
	}
	if retransmits != nil {
		if *retransmits < 0 {
			p.add(field+".retransmits", "must be >= 0, got %v", *retransmits)
		}
		b.retransmits = retransmits
		parts = append(parts, fmt.Sprintf("retransmits %.0f/s", *retransmits))
	}
	if latency != nil {
		if *latency < 0 {
			p.add(field+".readyz_latency", "must be >= 0, got %v", time.Duration(*latency))
		}
		sec := time.Duration(*latency).Seconds()
		b.latency = &sec
		parts = append(parts, fmt.Sprintf("readyz %v", time.Duration(*latency)))
	}
	if len(parts) == 0 {
		p.add(field, "sets no value (want cpu, retransmits or readyz_latency)")
	}
	b.why = " " + strings.Join(parts, " ")
	return b
}

func validateDeployBursts(p *problems, s *Scenario, rules []deployBurstSpec) {
	for i, r := range rules {
		field := fmt.Sprintf("deploy_bursts[%d]", i)
		h := hostRef(p, s, field+".host", r.Host)
		from, to := time.Duration(0), s.duration
		if r.From != nil || r.To != nil {
			zero, end := yamlDuration(0), yamlDuration(s.duration)
			if r.From == nil {
				r.From = &zero
			}
			if r.To == nil {
				r.To = &end
			}
			var ok bool
			if from, to, ok = window(p, s, field, r.From, r.To); !ok {
				continue
			}
		}
		if r.Delay < 0 {
			p.add(field+".delay", "must be >= 0, got %v", time.Duration(r.Delay))
			continue
		}
		if r.Length == nil {
			p.add(field+".length", "is required")
			continue
		}
		if r.Length.Min <= 0 || r.Length.Max < r.Length.Min {
			p.add(field+".length", "want 0 < min <= max, got min %v max %v", r.Length.Min, r.Length.Max)
			continue
		}
		v := burstValues(p, field, r.CPU, r.Retransmits, r.ReadyzLatency)
		for di, d := range s.deploys {
			if d < from || d >= to {
				continue
			}
			for _, hi := range s.expand(h) {
				b := v
				b.host = hi
				b.from = d + time.Duration(r.Delay)
				length := r.Length.Min + time.Duration(unit(s.seed, uint64(i), uint64(di), uint64(hi))*float64(r.Length.Max-r.Length.Min))
				b.to = min(b.from+length.Round(time.Second), s.duration)
				if b.from >= s.duration || b.to <= b.from {
					continue
				}
				b.why = fmt.Sprintf("deploy burst%s (deploy at %v)", v.why, d)
				s.bursts = append(s.bursts, b)
			}
		}
	}
}

func validateFailures(p *problems, s *Scenario, fails []failureSpec) {
	for i, f := range fails {
		field := fmt.Sprintf("probe_failures[%d]", i)
		h := hostRef(p, s, field+".host", f.Host)
		from, to, ok := window(p, s, field, f.From, f.To)
		if !ok {
			continue
		}
		fl := failure{host: h, from: from, to: to}
		switch {
		case f.Status == nil:
			p.add(field+".status", "is required (0 for no answer, or an HTTP status 400-599)")
		case *f.Status != 0 && (*f.Status < 400 || *f.Status > 599):
			p.add(field+".status", "must be 0 (no answer) or an HTTP status 400-599, got %d", *f.Status)
		default:
			fl.status = *f.Status
		}
		if f.ReadyzLatency != nil {
			if f.Status != nil && *f.Status == 0 {
				p.add(field+".readyz_latency", "has no effect with status 0 (no answer: the request is held until the client gives up)")
			}
			if *f.ReadyzLatency < 0 {
				p.add(field+".readyz_latency", "must be >= 0, got %v", time.Duration(*f.ReadyzLatency))
			}
			sec := time.Duration(*f.ReadyzLatency).Seconds()
			fl.latency = &sec
		}
		for _, hi := range s.expand(h) {
			fl.host = hi
			s.failures = append(s.failures, fl)
		}
	}
}
