package health

import (
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
// then checks them as ParseConfig checks a file. A zero field is taken as
// left out, and the file's withDefaults fills it: defaults are applied in
// that one place.
func (c Config) WithDefaults() Config {
	f := fileConfig{Interval: given(c.Interval), Mode: given(c.Mode)}
	for _, cl := range c.Clusters {
		f.Clusters = append(f.Clusters, cl.asFile())
	}
	return f.withDefaults()
}

// WithDefaults fills every zero field of c with its default.
func (c Cluster) WithDefaults() Cluster {
	return c.asFile().withDefaults()
}

// asFile is c as a clusters file would give it, zero fields left out.
func (c Cluster) asFile() fileCluster {
	limits := func(l Limits) fileLimits {
		return fileLimits{Warn: given(l.Warn), Crit: given(l.Crit), Severe: given(l.Severe)}
	}
	lat := c.Thresholds.Latency
	f := fileCluster{
		Name:            c.Name,
		ReadyzPath:      given(c.ReadyzPath),
		Timeout:         given(c.Timeout),
		TLS:             fileTLS(c.TLS),
		BearerTokenFile: c.BearerTokenFile,
		Prometheus: filePrometheus{
			URL:     c.Prometheus.URL,
			Window:  given(c.Prometheus.Window),
			Queries: fileQueries(c.Prometheus.Queries),
		},
		Thresholds: fileThresholds{
			Latency:     fileLatencyLimits{Warn: given(seconds(lat.Warn)), Crit: given(seconds(lat.Crit)), Severe: given(seconds(lat.Severe))},
			CPU:         limits(c.Thresholds.CPU),
			Retransmits: limits(c.Thresholds.Retransmits),
			NIC:         limits(c.Thresholds.NIC),
		},
		TripAfter:            given(c.TripAfter),
		ClearAfter:           given(c.ClearAfter),
		MinHold:              given(c.MinHold),
		MinBreachingHosts:    given(c.MinBreachingHosts),
		MaxConsecutiveErrors: given(c.MaxConsecutiveErrors),
		OnError:              given(c.OnError),
		CooldownMax:          given(c.CooldownMax),
	}
	for _, a := range c.APIServers {
		f.APIServers = append(f.APIServers, fileAPIServer(a))
	}
	return f
}

// given is v as a key set in the file, or nil (left out) when v is zero.
func given[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// Validate checks a configuration built as a value the way ParseConfig
// checks a file; the error names the field and wraps ErrInvalidConfig.
func (c Config) Validate() error {
	if errs := validate(c); len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}
