package sim

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v4"
)

// The types in this file mirror the YAML scenario format one to one. They are
// decoded strictly (unknown keys rejected) and turned into a Scenario by
// validate; nothing else reads them.

type scenarioFile struct {
	Name          string            `yaml:"name"`
	Description   string            `yaml:"description"`
	Start         string            `yaml:"start"`
	Duration      *yamlDuration     `yaml:"duration"`
	Compression   *float64          `yaml:"compression"`
	Seed          int64             `yaml:"seed"`
	Hosts         []hostSpec        `yaml:"hosts"`
	Baseline      *baselineSpec     `yaml:"baseline"`
	Limits        *limitsSpec       `yaml:"limits"`
	Segments      []segmentSpec     `yaml:"segments"`
	Bursts        []burstSpec       `yaml:"bursts"`
	DeployBursts  []deployBurstSpec `yaml:"deploy_bursts"`
	ProbeFailures []failureSpec     `yaml:"probe_failures"`
	Deploys       []yamlDuration    `yaml:"deploys"`
}

type hostSpec struct {
	Name           string   `yaml:"name"`
	Cores          int      `yaml:"cores"`
	LinkSpeedBytes *float64 `yaml:"link_speed_bytes"`
}

type baselineSpec struct {
	CPU           *float64      `yaml:"cpu"`
	Retransmits   *float64      `yaml:"retransmits"`
	NICBytesPerS  *float64      `yaml:"nic_bytes_per_s"`
	LoopbackBytes *float64      `yaml:"loopback_bytes_per_s"`
	ReadyzLatency *yamlDuration `yaml:"readyz_latency"`
	Noise         *float64      `yaml:"noise"`
}

type limitsSpec struct {
	CPU            *levelPair    `yaml:"cpu"`
	Retransmits    *levelPair    `yaml:"retransmits"`
	NICUtilisation *levelPair    `yaml:"nic_utilisation"`
	ReadyzLatency  *latencyPair  `yaml:"readyz_latency"`
	Sustain        *yamlDuration `yaml:"sustain"`
}

type levelPair struct {
	Warn float64 `yaml:"warn"`
	Crit float64 `yaml:"crit"`
}

type latencyPair struct {
	Warn yamlDuration `yaml:"warn"`
	Crit yamlDuration `yaml:"crit"`
}

type segmentSpec struct {
	Host           string        `yaml:"host"`
	From           *yamlDuration `yaml:"from"`
	To             *yamlDuration `yaml:"to"`
	CPU            *numberCurve  `yaml:"cpu"`
	Retransmits    *numberCurve  `yaml:"retransmits"`
	NICBytesPerS   *numberCurve  `yaml:"nic_bytes_per_s"`
	NICUtilisation *numberCurve  `yaml:"nic_utilisation"`
	LinkSpeedBytes *float64      `yaml:"link_speed_bytes"`
	ReadyzLatency  *latencyCurve `yaml:"readyz_latency"`
}

type burstSpec struct {
	Host          string        `yaml:"host"`
	At            *yamlDuration `yaml:"at"`
	Length        *yamlDuration `yaml:"length"`
	CPU           *float64      `yaml:"cpu"`
	Retransmits   *float64      `yaml:"retransmits"`
	ReadyzLatency *yamlDuration `yaml:"readyz_latency"`
}

type deployBurstSpec struct {
	Host          string         `yaml:"host"`
	From          *yamlDuration  `yaml:"from"`
	To            *yamlDuration  `yaml:"to"`
	Delay         yamlDuration   `yaml:"delay"`
	Length        *durationRange `yaml:"length"`
	CPU           *float64       `yaml:"cpu"`
	Retransmits   *float64       `yaml:"retransmits"`
	ReadyzLatency *yamlDuration  `yaml:"readyz_latency"`
}

type failureSpec struct {
	Host          string        `yaml:"host"`
	From          *yamlDuration `yaml:"from"`
	To            *yamlDuration `yaml:"to"`
	Status        *int          `yaml:"status"`
	ReadyzLatency *yamlDuration `yaml:"readyz_latency"`
}

// yamlDuration accepts Go duration strings ("90s", "1h30m") and a bare 0.
type yamlDuration time.Duration

func (d *yamlDuration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDurationNode(n)
	if err != nil {
		return err
	}
	*d = yamlDuration(v)
	return nil
}

func parseDurationNode(n *yaml.Node) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("line %d: want a duration such as 90s, got a %s", n.Line, kindName(n))
	}
	if n.Value == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, fmt.Errorf("line %d: %q is not a duration (want e.g. 90s, 1h30m)", n.Line, n.Value)
	}
	return v, nil
}

func parseNumberNode(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("line %d: want a number, got a %s", n.Line, kindName(n))
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		return 0, fmt.Errorf("line %d: %q is not a number", n.Line, n.Value)
	}
	return v, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "scalar"
	}
}

// mappingFields returns the values of a mapping node by key, rejecting keys
// outside allowed. Custom unmarshalers need this because yaml.v3 does not
// carry KnownFields into Node.Decode.
func mappingFields(n *yaml.Node, allowed ...string) (map[string]*yaml.Node, error) {
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("line %d: field %s not allowed here (want %v)", n.Content[i].Line, k, allowed)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("line %d: field %s given twice", n.Content[i].Line, k)
		}
		out[k] = n.Content[i+1]
	}
	return out, nil
}

// curveKind says how a scripted value moves across its segment.
type curveKind int

const (
	curveConstant curveKind = iota
	curveRamp               // linear from A at the segment start to B at its end
	curveWave               // sine between A (min) and B (max), starting at the midpoint rising
)

// curve is a scripted value over a segment. Latencies are held in seconds.
type curve struct {
	Kind   curveKind
	A, B   float64
	Period time.Duration
}

// numberCurve is a curve of plain numbers: 0.5, {from: 0.3, to: 0.9} or
// {min: 0.78, max: 0.93, period: 4m}.
type numberCurve struct{ curve }

// latencyCurve is a curve of durations: 80ms, {from: 80ms, to: 600ms} or
// {min: 400ms, max: 1.2s, period: 3m}.
type latencyCurve struct{ curve }

func (c *numberCurve) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseCurve(n, parseNumberNode)
	c.curve = v
	return err
}

func (c *latencyCurve) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseCurve(n, func(n *yaml.Node) (float64, error) {
		d, err := parseDurationNode(n)
		return d.Seconds(), err
	})
	c.curve = v
	return err
}

func parseCurve(n *yaml.Node, value func(*yaml.Node) (float64, error)) (curve, error) {
	if n.Kind == yaml.ScalarNode {
		v, err := value(n)
		return curve{Kind: curveConstant, A: v}, err
	}
	if n.Kind != yaml.MappingNode {
		return curve{}, fmt.Errorf("line %d: want a value, {from, to} or {min, max, period}, got a %s", n.Line, kindName(n))
	}
	f, err := mappingFields(n, "from", "to", "min", "max", "period")
	if err != nil {
		return curve{}, err
	}
	both := func(a, b string) (float64, float64, error) {
		if f[a] == nil || f[b] == nil {
			return 0, 0, fmt.Errorf("line %d: %s and %s must be given together", n.Line, a, b)
		}
		x, err := value(f[a])
		if err != nil {
			return 0, 0, err
		}
		y, err := value(f[b])
		return x, y, err
	}
	switch {
	case f["from"] != nil || f["to"] != nil:
		if f["min"] != nil || f["max"] != nil || f["period"] != nil {
			return curve{}, fmt.Errorf("line %d: a ramp {from, to} cannot also have min, max or period", n.Line)
		}
		a, b, err := both("from", "to")
		return curve{Kind: curveRamp, A: a, B: b}, err
	case f["min"] != nil || f["max"] != nil:
		a, b, err := both("min", "max")
		if err != nil {
			return curve{}, err
		}
		if f["period"] == nil {
			return curve{}, fmt.Errorf("line %d: a wave {min, max} needs a period", n.Line)
		}
		p, err := parseDurationNode(f["period"])
		return curve{Kind: curveWave, A: a, B: b, Period: p}, err
	default:
		return curve{}, fmt.Errorf("line %d: want {from, to} or {min, max, period}", n.Line)
	}
}

// durationRange is a burst length: a fixed 20s or {min: 10s, max: 40s}, in
// which case each burst's length is drawn deterministically from the seed.
type durationRange struct{ Min, Max time.Duration }

func (r *durationRange) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d, err := parseDurationNode(n)
		r.Min, r.Max = d, d
		return err
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a duration or {min, max}, got a %s", n.Line, kindName(n))
	}
	f, err := mappingFields(n, "min", "max")
	if err != nil {
		return err
	}
	if f["min"] == nil || f["max"] == nil {
		return fmt.Errorf("line %d: min and max must be given together", n.Line)
	}
	if r.Min, err = parseDurationNode(f["min"]); err != nil {
		return err
	}
	r.Max, err = parseDurationNode(f["max"])
	return err
}
