package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/embedetcd"
)

// Config is scaplockd's configuration, read from SCAPLOCK_* variables.
type Config struct {
	Listen        string   `env:"SCAPLOCK_LISTEN, default=:8080"`
	DataDir       string   `env:"SCAPLOCK_DATA_DIR, default=./scaplock-data"`
	EtcdEndpoints []string `env:"SCAPLOCK_ETCD_ENDPOINTS"`
	EtcdCAFile    string   `env:"SCAPLOCK_ETCD_CA_FILE"`
	EtcdCertFile  string   `env:"SCAPLOCK_ETCD_CERT_FILE"`
	EtcdKeyFile   string   `env:"SCAPLOCK_ETCD_KEY_FILE"`
	EtcdPrefix    string   `env:"SCAPLOCK_ETCD_PREFIX, default=/scaplock/"`
	// EtcdInitialCluster ("name=peerURL,...") makes the embedded etcd one
	// member of a cluster of replicas; a member's name is its replica name.
	EtcdInitialCluster string `env:"SCAPLOCK_ETCD_INITIAL_CLUSTER"`
	// EtcdInitialClusterState is new (bootstrap) or existing (join after
	// `etcdctl member add`).
	EtcdInitialClusterState string `env:"SCAPLOCK_ETCD_INITIAL_CLUSTER_STATE, default=new"`
	// EtcdPeerURL is where this member listens for peers; its URL in the
	// initial cluster by default.
	EtcdPeerURL string `env:"SCAPLOCK_ETCD_PEER_URL"`
	// EtcdClientURL is the embedded etcd's client listener, on loopback
	// (for etcdctl backups); a free port when empty.
	EtcdClientURL    string `env:"SCAPLOCK_ETCD_CLIENT_URL"`
	EtcdPeerCertFile string `env:"SCAPLOCK_ETCD_PEER_CERT_FILE"`
	EtcdPeerKeyFile  string `env:"SCAPLOCK_ETCD_PEER_KEY_FILE"`
	EtcdPeerCAFile   string `env:"SCAPLOCK_ETCD_PEER_CA_FILE"`
	JWTSecretFile    string `env:"SCAPLOCK_JWT_SECRET_FILE"`
	JWTPublicKeyFile string `env:"SCAPLOCK_JWT_PUBLIC_KEY_FILE"`
	JWTIssuer        string `env:"SCAPLOCK_JWT_ISSUER"`
	JWTAudience      string `env:"SCAPLOCK_JWT_AUDIENCE"`
	AnonymousRead    bool   `env:"SCAPLOCK_ANONYMOUS_READ, default=true"`
	// ClustersFile lists the clusters the gate watches; empty: no gate.
	ClustersFile string `env:"SCAPLOCK_CLUSTERS_FILE"`
	// Scopes are the scopes besides global and the clusters file's clusters
	// that holds, deploys and preflight may name (clusters without a gate).
	Scopes []string `env:"SCAPLOCK_SCOPES"`
	// GateMode overrides the clusters file's mode (enforce | observe).
	GateMode            string        `env:"SCAPLOCK_GATE_MODE"`
	MaxHoldDuration     time.Duration `env:"SCAPLOCK_MAX_HOLD_DURATION, default=168h"`
	MaxOverrideDuration time.Duration `env:"SCAPLOCK_MAX_OVERRIDE_DURATION, default=4h"`
	HistoryMaxAge       time.Duration `env:"SCAPLOCK_HISTORY_MAX_AGE, default=2160h"`
	HistoryMaxEvents    int           `env:"SCAPLOCK_HISTORY_MAX_EVENTS, default=100000"`
	// EtcdCompactionRetention is the embedded etcd's revision history: a
	// duration (periodic compaction) or a number of revisions.
	EtcdCompactionRetention string `env:"SCAPLOCK_ETCD_COMPACTION_RETENTION, default=10s"`
	// MemoryLimit is the Go runtime's soft memory limit for scaplockd
	// (GOMEMLIMIT wins when set): near it the heap is collected sooner and
	// freed memory goes back to the OS at once. "off" for none. The
	// embedded etcd's database file, mapped into memory, is not counted.
	MemoryLimit string `env:"SCAPLOCK_MEMORY_LIMIT, default=64MiB"`
	// PublicURL is the status page address printed in refusal messages.
	PublicURL string `env:"SCAPLOCK_PUBLIC_URL"`
	// ReplicaName identifies this replica in the gate election; the host name by default.
	ReplicaName     string        `env:"SCAPLOCK_REPLICA_NAME"`
	ShutdownTimeout time.Duration `env:"SCAPLOCK_SHUTDOWN_TIMEOUT, default=15s"`
	// RequestTimeout bounds every request's answer, clean-up included (a
	// queued deploy adds its wait).
	RequestTimeout time.Duration `env:"SCAPLOCK_REQUEST_TIMEOUT, default=10s"`
	// ReadTimeout bounds reading a request, headers and body: a client that
	// declares a body and sends none is answered and let go.
	ReadTimeout time.Duration `env:"SCAPLOCK_READ_TIMEOUT, default=10s"`
	// StreamStallTimeout is how long an event stream may stay unread
	// before it is disconnected.
	StreamStallTimeout time.Duration `env:"SCAPLOCK_STREAM_STALL_TIMEOUT, default=30s"`
	// MaxStreams caps concurrent event streams; past it, 503.
	MaxStreams int `env:"SCAPLOCK_MAX_STREAMS, default=1000"`
	// JWTMaxTTL is the longest lifetime (exp - iat) a token may have;
	// token.DefaultMaxTTL when unset (parse), which `scaplock token` shares.
	JWTMaxTTL time.Duration `env:"SCAPLOCK_JWT_MAX_TTL"`
	LogLevel  string        `env:"SCAPLOCK_LOG_LEVEL, default=info"`
	LogFormat string        `env:"SCAPLOCK_LOG_FORMAT, default=json"`
	// Build is set by the binary, not the environment.
	Build BuildInfo
}

// LoadConfig reads the configuration from env (Environ() for the process)
// and validates it, reading the files it names (clusters file, keys,
// certificates) without starting anything: `scaplockd check-config` and
// start-up run exactly this. It reports every problem, one per line, each
// naming the variable first (then the field, for a file).
func LoadConfig(ctx context.Context, env map[string]string) (Config, error) {
	c, errs := parse(ctx, env)
	errs = append(errs, unknownVariables(env)...)
	if c.ReplicaName == "" {
		host, _ := os.Hostname()
		c.ReplicaName = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	errs = append(errs, c.validate()...)
	errs = append(errs, c.checkFiles(errs)...)
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// Defaults is the configuration of an empty environment: the one place
// each default is defined (Config's env tags).
func Defaults() Config {
	c, errs := parse(context.Background(), nil)
	if len(errs) > 0 {
		panic(fmt.Sprintf("server: Config's defaults do not parse: %v", errs))
	}
	return c
}

// parse decodes env into a Config. envconfig stops at the first value it
// cannot decode; so on an error every variable is decoded alone, each bad
// one is reported and left at its default, and the rest still validate.
func parse(ctx context.Context, env map[string]string) (Config, []error) {
	process := func(vars map[string]string) (Config, error) {
		var c Config
		err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(withDays(vars))})
		return c, err
	}
	c, err := process(env)
	if err == nil {
		return withTokenTTL(c, env), nil
	}
	var errs []error
	good := map[string]string{}
	for k, v := range env {
		good[k] = v
	}
	for _, name := range Variables() {
		v, ok := env[name]
		if !ok {
			continue
		}
		if _, err := process(map[string]string{name: v}); err != nil {
			errs = append(errs, nameVariable(err))
			delete(good, name)
		}
	}
	if c, err = process(good); err != nil {
		errs = append(errs, nameVariable(err))
	}
	return withTokenTTL(c, good), errs
}

// withDays turns whole days (SCAPLOCK_HISTORY_MAX_AGE=90d) into Go's
// syntax for every duration setting, so that settings take days as the
// CLI and the API do (apiv1.ParseDuration); anything else is left for
// envconfig to judge.
func withDays(vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = v
		if _, ok := durationVariables[k]; ok && strings.HasSuffix(v, "d") {
			if d, err := apiv1.ParseDuration(v); err == nil {
				out[k] = d.String()
			}
		}
	}
	return out
}

// durationVariables are the settings of type time.Duration.
var durationVariables = func() map[string]struct{} {
	names := map[string]struct{}{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type == reflect.TypeFor[time.Duration]() {
			if name := variableOf(f); name != "" {
				names[name] = struct{}{}
			}
		}
	}
	return names
}()

// withTokenTTL applies the token lifetime's default, which lives in
// api/token because the CLI mints with it and cannot read this package.
func withTokenTTL(c Config, env map[string]string) Config {
	if _, set := env["SCAPLOCK_JWT_MAX_TTL"]; !set {
		c.JWTMaxTTL = token.DefaultMaxTTL
	}
	return c
}

// APILimits are the API's limits from this configuration.
func (c Config) APILimits() api.Limits {
	return api.Limits{
		MaxHoldDuration: c.MaxHoldDuration, MaxOverrideDuration: c.MaxOverrideDuration,
		RequestTimeout: c.RequestTimeout, StreamStallTimeout: c.StreamStallTimeout, MaxStreams: c.MaxStreams,
	}
}

// removedSettings are settings earlier versions had, with what to do: a
// start that ignored one would let its operator believe it still works.
var removedSettings = map[string]string{
	"SCAPLOCK_READ_LEASE": "no longer exists: every answer goes through the read barrier, which trusts no clock (README: Verdicts); delete the setting",
}

// nameVariable rewrites envconfig's "FieldName: ..." into "SCAPLOCK_X: ...".
func nameVariable(err error) error {
	msg := err.Error()
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		if rest, ok := strings.CutPrefix(msg, f.Name+": "); ok {
			return fmt.Errorf("%s: %s", variableOf(f), rest)
		}
	}
	return err
}

// validate checks every variable and reports every problem.
func (c Config) validate() []error {
	var errs []error
	if err := checkListen(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("SCAPLOCK_LISTEN: %w", err))
	}
	if c.DataDir == "" {
		errs = append(errs, fmt.Errorf("SCAPLOCK_DATA_DIR: must not be empty"))
	}
	for _, e := range c.EtcdEndpoints {
		if _, err := checkURL(e, "http", "https"); err != nil {
			errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_ENDPOINTS: %w", err))
		}
	}
	// In a fixed order, so that the same bad configuration always names
	// the same variable first.
	for _, f := range []struct{ name, path string }{
		{"SCAPLOCK_ETCD_CA_FILE", c.EtcdCAFile}, {"SCAPLOCK_ETCD_CERT_FILE", c.EtcdCertFile}, {"SCAPLOCK_ETCD_KEY_FILE", c.EtcdKeyFile},
		{"SCAPLOCK_JWT_SECRET_FILE", c.JWTSecretFile}, {"SCAPLOCK_JWT_PUBLIC_KEY_FILE", c.JWTPublicKeyFile}, {"SCAPLOCK_CLUSTERS_FILE", c.ClustersFile},
		{"SCAPLOCK_ETCD_PEER_CERT_FILE", c.EtcdPeerCertFile}, {"SCAPLOCK_ETCD_PEER_KEY_FILE", c.EtcdPeerKeyFile}, {"SCAPLOCK_ETCD_PEER_CA_FILE", c.EtcdPeerCAFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
		}
	}
	if (c.EtcdCertFile == "") != (c.EtcdKeyFile == "") {
		errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_CERT_FILE and SCAPLOCK_ETCD_KEY_FILE: set both or neither"))
	}
	if len(c.EtcdEndpoints) == 0 && (c.EtcdCAFile != "" || c.EtcdCertFile != "") {
		errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_CA_FILE: TLS settings need SCAPLOCK_ETCD_ENDPOINTS (the embedded etcd is local)"))
	}
	errs = append(errs, c.validateCluster()...)
	if c.JWTSecretFile != "" && c.JWTPublicKeyFile != "" {
		errs = append(errs, fmt.Errorf("SCAPLOCK_JWT_SECRET_FILE and SCAPLOCK_JWT_PUBLIC_KEY_FILE: set only one"))
	}
	if len(c.EtcdEndpoints) > 0 && c.JWTSecretFile == "" && c.JWTPublicKeyFile == "" {
		errs = append(errs, fmt.Errorf("SCAPLOCK_JWT_SECRET_FILE: with an external etcd a JWT key must be configured (or SCAPLOCK_JWT_PUBLIC_KEY_FILE)"))
	}
	if !strings.HasPrefix(c.EtcdPrefix, "/") || !strings.HasSuffix(c.EtcdPrefix, "/") {
		errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_PREFIX: %q must start and end with /", c.EtcdPrefix))
	}
	for _, sc := range c.Scopes {
		if _, err := lock.ParseScope(strings.TrimSpace(sc)); err != nil {
			errs = append(errs, fmt.Errorf("SCAPLOCK_SCOPES: %q: %v", sc, err))
		}
	}
	switch c.GateMode {
	case "", "enforce", "observe":
	default:
		errs = append(errs, fmt.Errorf("SCAPLOCK_GATE_MODE: %q is not enforce or observe", c.GateMode))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"SCAPLOCK_MAX_HOLD_DURATION", c.MaxHoldDuration}, {"SCAPLOCK_MAX_OVERRIDE_DURATION", c.MaxOverrideDuration},
		{"SCAPLOCK_HISTORY_MAX_AGE", c.HistoryMaxAge}, {"SCAPLOCK_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
		{"SCAPLOCK_REQUEST_TIMEOUT", c.RequestTimeout},
		{"SCAPLOCK_READ_TIMEOUT", c.ReadTimeout}, {"SCAPLOCK_STREAM_STALL_TIMEOUT", c.StreamStallTimeout}, {"SCAPLOCK_JWT_MAX_TTL", c.JWTMaxTTL},
	} {
		if f.d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", f.name, f.d))
		}
	}
	if _, err := embedetcd.CompactionMode(c.EtcdCompactionRetention); err != nil {
		errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_COMPACTION_RETENTION: %v", err))
	}
	if _, err := ParseBytes(c.MemoryLimit); err != nil {
		errs = append(errs, fmt.Errorf("SCAPLOCK_MEMORY_LIMIT: %v", err))
	}
	if c.MaxStreams <= 0 {
		errs = append(errs, fmt.Errorf("SCAPLOCK_MAX_STREAMS: must be positive, got %d", c.MaxStreams))
	}
	if c.HistoryMaxEvents <= 0 {
		errs = append(errs, fmt.Errorf("SCAPLOCK_HISTORY_MAX_EVENTS: must be positive, got %d", c.HistoryMaxEvents))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("SCAPLOCK_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("SCAPLOCK_LOG_FORMAT: %q is not json or text", c.LogFormat))
	}
	if c.PublicURL != "" {
		if _, err := checkURL(c.PublicURL, "http", "https"); err != nil {
			errs = append(errs, fmt.Errorf("SCAPLOCK_PUBLIC_URL: %w", err))
		}
	}
	return errs
}

// ParseBytes reads a size such as 96MiB, 512KiB, 1GiB, 100MB or 1048576
// (bytes); "off" and "0" are 0.
func ParseBytes(v string) (int64, error) {
	if v == "off" {
		return 0, nil
	}
	num := strings.TrimRight(v, "KMGTiBkmgtib")
	units := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}
	unit, ok := units[v[len(num):]]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is not a size (96MiB, 1GiB, 100MB, a number of bytes, or off)", v)
	}
	return n * unit, nil
}
