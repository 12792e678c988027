package health

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v4"
)

// Mode says whether a tripped cluster holds deploys or is only recorded.
type Mode string

const (
	ModeEnforce Mode = "enforce"
	ModeObserve Mode = "observe"
)

// ErrorPolicy says what max_consecutive_errors failing source rounds do.
type ErrorPolicy string

const (
	// OnErrorIgnore leaves the status alone; a cluster with no usable data
	// at all becomes unknown, a degraded one stays degraded.
	OnErrorIgnore ErrorPolicy = "ignore"
	// OnErrorHold trips the cluster as if it breached.
	OnErrorHold ErrorPolicy = "hold"
)

// ErrInvalidConfig is wrapped by every validation error of the clusters file.
var ErrInvalidConfig = errors.New("invalid clusters file")

// Config is the clusters file.
type Config struct {
	Interval time.Duration // probe and evaluation period
	Mode     Mode
	Clusters []Cluster
}

// Cluster is one hold scope and the control plane that guards it.
type Cluster struct {
	Name            string
	APIServers      []APIServer
	ReadyzPath      string
	Timeout         time.Duration // bounds each readyz GET, scrape and query
	TLS             TLSConfig     // for the apiservers only
	BearerTokenFile string        // for the apiservers only; re-read on every probe
	Prometheus      PrometheusSource
	Thresholds      Thresholds

	TripAfter            int           // consecutive evaluations at crit before tripping
	ClearAfter           int           // consecutive evaluations below warn before clearing
	MinHold              time.Duration // a trip lasts at least this long
	MinBreachingHosts    int
	MaxConsecutiveErrors int
	OnError              ErrorPolicy
	// CooldownMax bounds how long deploys stay refused after a deploy ends
	// while the cluster is not yet back below warn on every signal.
	CooldownMax time.Duration
}

// APIServer is one apiserver endpoint, probed on its own (not through the
// load balancer), and where to scrape its host's node_exporter.
type APIServer struct {
	URL          string
	NodeExporter string // optional; base URL, /metrics is appended when the path is empty
	// Name, when set, is how messages and metrics name the host instead of
	// the URL's host:port (useful when probing by IP address).
	Name string
}

// Host is how the apiserver is named in samples, messages and metrics.
func (a APIServer) Host() string {
	if a.Name != "" {
		return a.Name
	}
	return hostOf(a.URL)
}

// TLSConfig is the client TLS used towards the apiservers.
type TLSConfig struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
}

// PrometheusSource takes cpu, retransmits and nic from PromQL instead of
// scraping node_exporter. An empty URL means scrape node_exporter directly.
//
// In each query, before it is sent:
//
//	{{host}}        is replaced by the apiserver's hostname (no port), as is;
//	{{host_regex}}  by that hostname quoted as a regular expression and
//	                escaped for a PromQL double-quoted string;
//	{{window}}      by Window in PromQL duration syntax (e.g. 1m, 30s).
//
// Each query should return one series; when it returns several, the largest
// value is taken. An empty result is a source error for cpu and retransmits,
// and no sample for nic (hosts whose NICs report no link speed have no NIC
// signal, as when scraping).
type PrometheusSource struct {
	URL     string
	Window  time.Duration // the range of rate(); the default suits a 15s scrape interval
	Queries Queries
}

// Queries are the PromQL expressions for the three host signals.
type Queries struct {
	CPU, Retransmits, NIC string
}

// Limits are one signal's warn and crit levels: a value >= Crit is crit,
// >= Warn is warn. A value >= Severe (when Severe > 0) is crit too, and
// trips the cluster on the first evaluation that sees it instead of after
// trip_after.
type Limits struct {
	Warn, Crit, Severe float64
}

// Thresholds holds the limits of every signal. Latency is in seconds, CPU
// and NIC are fractions 0..1, retransmits are segments per second.
type Thresholds struct {
	Latency, CPU, Retransmits, NIC Limits
}

// For returns the limits of signal s; zero Limits for an unknown signal.
func (t Thresholds) For(s Signal) Limits {
	switch s {
	case SignalLatency:
		return t.Latency
	case SignalCPU:
		return t.CPU
	case SignalRetransmits:
		return t.Retransmits
	case SignalNIC:
		return t.NIC
	}
	return Limits{}
}

// ClearWindow is clear_after evaluations at the given interval: the
// shortest time a tripped cluster must stay below warn before it clears
// (min_hold after the trip may make it longer). The refusal message's
// "clears after 60s healthy" is this.
func (c Cluster) ClearWindow(interval time.Duration) time.Duration {
	return time.Duration(c.ClearAfter) * interval
}

// ParseConfig decodes and validates a clusters file. Unknown keys are
// rejected; errors name the field, e.g.
// "clusters[0].thresholds.cpu: warn 0.95 is above crit 0.9", and wrap
// ErrInvalidConfig.
func ParseConfig(data []byte) (Config, error) {
	var f fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("%w: clusters: at least one cluster is required (the file is empty)", ErrInvalidConfig)
		}
		return Config{}, invalid(yamlProblems(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: the file holds more than one YAML document", ErrInvalidConfig)
	}
	c := f.withDefaults()
	if errs := validate(c); len(errs) > 0 {
		return Config{}, invalid(errs)
	}
	return c, nil
}

// invalid is one error per problem, each wrapping ErrInvalidConfig.
func invalid(problems []error) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = fmt.Errorf("%w: %v", ErrInvalidConfig, p)
	}
	return errors.Join(errs...)
}

// LoadConfig reads and parses the clusters file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading clusters file: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, PrefixEach(path, err)
	}
	return c, nil
}
