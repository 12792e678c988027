package health

import (
	"cmp"
	"fmt"
	"time"
)

// The defaults, in the one place they are applied (fileConfig.withDefaults).
const (
	DefaultInterval             = 5 * time.Second
	DefaultMode                 = ModeEnforce
	DefaultReadyzPath           = "/readyz"
	DefaultTimeout              = 3 * time.Second
	DefaultPrometheusWindow     = time.Minute
	DefaultTripAfter            = 3
	DefaultClearAfter           = 12
	DefaultMinHold              = 5 * time.Minute
	DefaultMinBreachingHosts    = 1
	DefaultMaxConsecutiveErrors = 3
	DefaultOnError              = OnErrorIgnore
	DefaultCooldownMax          = 10 * time.Minute
	// DefaultLatencySevereFactor sets readyz's severe level at this many
	// times its crit level when the file names none.
	DefaultLatencySevereFactor = 2
)

// hostMatcher selects one host's node_exporter series by its instance label
// ("host:port"); see PrometheusSource for the placeholders.
const hostMatcher = `instance=~"{{host_regex}}(:[0-9]+)?"`

// DefaultQueries work on node_exporter data. CPU counts iowait as idle (the
// CPU is free to run the apiserver) and steal as busy (it is not).
var DefaultQueries = Queries{
	CPU: `sum(rate(node_cpu_seconds_total{mode!~"idle|iowait",` + hostMatcher + `}[{{window}}]))` +
		` / sum(rate(node_cpu_seconds_total{` + hostMatcher + `}[{{window}}]))`,
	Retransmits: `sum(rate(node_netstat_Tcp_RetransSegs{` + hostMatcher + `}[{{window}}]))`,
	NIC: `max(rate(node_network_transmit_bytes_total{device!="lo",` + hostMatcher + `}[{{window}}])` +
		` / (node_network_speed_bytes{device!="lo",` + hostMatcher + `} > 0))`,
}

// DefaultThresholds are DESIGN.md's trip levels with warn below them.
var DefaultThresholds = Thresholds{
	Latency:     Limits{Warn: 0.5, Crit: 1, Severe: 2},
	CPU:         Limits{Warn: 0.80, Crit: 0.90},
	Retransmits: Limits{Warn: 500, Crit: 1000},
	NIC:         Limits{Warn: 0.80, Crit: 0.90},
}

// fileConfig is the YAML shape of the clusters file. Pointers tell a key
// left out (take the default) from one set to zero (validate it).
type fileConfig struct {
	Interval *time.Duration `yaml:"interval"`
	Mode     *Mode          `yaml:"mode"`
	Clusters []fileCluster  `yaml:"clusters"`
}

type fileCluster struct {
	Name                 string          `yaml:"name"`
	APIServers           []fileAPIServer `yaml:"apiservers"`
	ReadyzPath           *string         `yaml:"readyz_path"`
	Timeout              *time.Duration  `yaml:"timeout"`
	TLS                  fileTLS         `yaml:"tls"`
	BearerTokenFile      string          `yaml:"bearer_token_file"`
	Prometheus           filePrometheus  `yaml:"prometheus"`
	Thresholds           fileThresholds  `yaml:"thresholds"`
	TripAfter            *int            `yaml:"trip_after"`
	ClearAfter           *int            `yaml:"clear_after"`
	MinHold              *time.Duration  `yaml:"min_hold"`
	MinBreachingHosts    *int            `yaml:"min_breaching_hosts"`
	MaxConsecutiveErrors *int            `yaml:"max_consecutive_errors"`
	OnError              *ErrorPolicy    `yaml:"on_error"`
	CooldownMax          *time.Duration  `yaml:"cooldown_max"`
}

type fileAPIServer struct {
	URL          string `yaml:"url"`
	NodeExporter string `yaml:"node_exporter"`
	Name         string `yaml:"name"`
}

type fileTLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

type filePrometheus struct {
	URL     string         `yaml:"url"`
	Window  *time.Duration `yaml:"window"`
	Queries fileQueries    `yaml:"queries"`
}

type fileQueries struct {
	CPU         string `yaml:"cpu"`
	Retransmits string `yaml:"retransmits"`
	NIC         string `yaml:"nic"`
}

type fileThresholds struct {
	Latency     fileLatencyLimits `yaml:"latency"`
	CPU         fileLimits        `yaml:"cpu"`
	Retransmits fileLimits        `yaml:"retransmits"`
	NIC         fileLimits        `yaml:"nic"`
}

// fileLatencyLimits are Go durations in the file and seconds in Limits.
type fileLatencyLimits struct {
	Warn   *time.Duration `yaml:"warn"`
	Crit   *time.Duration `yaml:"crit"`
	Severe *time.Duration `yaml:"severe"`
}

type fileLimits struct {
	Warn   *float64 `yaml:"warn"`
	Crit   *float64 `yaml:"crit"`
	Severe *float64 `yaml:"severe"` // none by default
}

// withDefaults turns the file into a Config, filling every key left out.
func (f fileConfig) withDefaults() Config {
	c := Config{
		Interval: or(f.Interval, DefaultInterval),
		Mode:     or(f.Mode, DefaultMode),
	}
	for _, fc := range f.Clusters {
		c.Clusters = append(c.Clusters, fc.withDefaults())
	}
	return c
}

func (f fileCluster) withDefaults() Cluster {
	c := Cluster{
		Name:            f.Name,
		ReadyzPath:      or(f.ReadyzPath, DefaultReadyzPath),
		Timeout:         or(f.Timeout, DefaultTimeout),
		TLS:             TLSConfig(f.TLS),
		BearerTokenFile: f.BearerTokenFile,
		Prometheus: PrometheusSource{
			URL:    f.Prometheus.URL,
			Window: or(f.Prometheus.Window, DefaultPrometheusWindow),
			Queries: Queries{
				CPU:         orEmpty(f.Prometheus.Queries.CPU, DefaultQueries.CPU),
				Retransmits: orEmpty(f.Prometheus.Queries.Retransmits, DefaultQueries.Retransmits),
				NIC:         orEmpty(f.Prometheus.Queries.NIC, DefaultQueries.NIC),
			},
		},
		Thresholds: Thresholds{
			Latency:     latencyLimits(f.Thresholds.Latency),
			CPU:         f.Thresholds.CPU.withDefaults(DefaultThresholds.CPU),
			Retransmits: f.Thresholds.Retransmits.withDefaults(DefaultThresholds.Retransmits),
			NIC:         f.Thresholds.NIC.withDefaults(DefaultThresholds.NIC),
		},
		TripAfter:            or(f.TripAfter, DefaultTripAfter),
		ClearAfter:           or(f.ClearAfter, DefaultClearAfter),
		MinHold:              or(f.MinHold, DefaultMinHold),
		MinBreachingHosts:    or(f.MinBreachingHosts, DefaultMinBreachingHosts),
		MaxConsecutiveErrors: or(f.MaxConsecutiveErrors, DefaultMaxConsecutiveErrors),
		OnError:              or(f.OnError, DefaultOnError),
		CooldownMax:          or(f.CooldownMax, DefaultCooldownMax),
	}
	for _, a := range f.APIServers {
		c.APIServers = append(c.APIServers, APIServer(a))
	}
	return c
}

func (f fileLimits) withDefaults(d Limits) Limits {
	return Limits{Warn: or(f.Warn, d.Warn), Crit: or(f.Crit, d.Crit), Severe: or(f.Severe, d.Severe)}
}

// latencyLimits reads readyz's limits; severe defaults to
// DefaultLatencySevereFactor × crit, whatever crit is.
func latencyLimits(f fileLatencyLimits) Limits {
	l := Limits{
		Warn: or(f.Warn, seconds(DefaultThresholds.Latency.Warn)).Seconds(),
		Crit: or(f.Crit, seconds(DefaultThresholds.Latency.Crit)).Seconds(),
	}
	l.Severe = or(f.Severe, seconds(DefaultLatencySevereFactor*l.Crit)).Seconds()
	return l
}

func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func orEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// WithDefaults fills every zero field of c and of its clusters with its
// default, as a clusters file that leaves the key out does. It is for
// configurations built as values (the demo, the replay, tests); Validate
// then checks them as ParseConfig checks a file.
func (c Config) WithDefaults() Config {
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	c.Mode = cmp.Or(c.Mode, DefaultMode)
	clusters := make([]Cluster, len(c.Clusters))
	for i, cl := range c.Clusters {
		clusters[i] = cl.WithDefaults()
	}
	c.Clusters = clusters
	return c
}

// WithDefaults fills every zero field of c with its default.
func (c Cluster) WithDefaults() Cluster {
	c.ReadyzPath = cmp.Or(c.ReadyzPath, DefaultReadyzPath)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Prometheus.Window = cmp.Or(c.Prometheus.Window, DefaultPrometheusWindow)
	c.Prometheus.Queries.CPU = cmp.Or(c.Prometheus.Queries.CPU, DefaultQueries.CPU)
	c.Prometheus.Queries.Retransmits = cmp.Or(c.Prometheus.Queries.Retransmits, DefaultQueries.Retransmits)
	c.Prometheus.Queries.NIC = cmp.Or(c.Prometheus.Queries.NIC, DefaultQueries.NIC)
	limits := func(l, d Limits) Limits {
		return Limits{Warn: cmp.Or(l.Warn, d.Warn), Crit: cmp.Or(l.Crit, d.Crit), Severe: cmp.Or(l.Severe, d.Severe)}
	}
	latency := limits(c.Thresholds.Latency, DefaultThresholds.Latency)
	latency.Severe = cmp.Or(c.Thresholds.Latency.Severe, DefaultLatencySevereFactor*latency.Crit)
	c.Thresholds = Thresholds{
		Latency:     latency,
		CPU:         limits(c.Thresholds.CPU, DefaultThresholds.CPU),
		Retransmits: limits(c.Thresholds.Retransmits, DefaultThresholds.Retransmits),
		NIC:         limits(c.Thresholds.NIC, DefaultThresholds.NIC),
	}
	c.TripAfter = cmp.Or(c.TripAfter, DefaultTripAfter)
	c.ClearAfter = cmp.Or(c.ClearAfter, DefaultClearAfter)
	c.MinHold = cmp.Or(c.MinHold, DefaultMinHold)
	c.MinBreachingHosts = cmp.Or(c.MinBreachingHosts, DefaultMinBreachingHosts)
	c.MaxConsecutiveErrors = cmp.Or(c.MaxConsecutiveErrors, DefaultMaxConsecutiveErrors)
	c.OnError = cmp.Or(c.OnError, DefaultOnError)
	c.CooldownMax = cmp.Or(c.CooldownMax, DefaultCooldownMax)
	return c
}

// Validate checks a configuration built as a value the way ParseConfig
// checks a file; the error names the field and wraps ErrInvalidConfig.
func (c Config) Validate() error {
	if err := validate(c); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}
