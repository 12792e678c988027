package health

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// oneCluster is a valid file with one cluster; extra lines go in the cluster.
func oneCluster(extra string) string {
	return `
clusters:
  - name: eqiad
    apiservers:
      - url: https://kubemaster1001.eqiad.wmnet:6443
      - url: https://kubemaster1002.eqiad.wmnet:6443
` + extra
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty file", ``, "clusters: at least one cluster is required"},
		{"no clusters", "interval: 5s\n", "clusters: at least one cluster is required"},
		{"unknown top-level key", "intervall: 5s\n" + oneCluster(""), `line 1, column 1: unknown key "intervall"`},
		{"unknown cluster key", oneCluster("    trip_afterr: 3\n"), `line 7, column 5: unknown key "trip_afterr"`},
		{"unknown threshold key", oneCluster("    thresholds: {cpu: {warning: 0.5}}\n"), `line 7, column 24: unknown key "warning"`},
		{"zero interval", "interval: 0s\n" + oneCluster(""), "interval: must be positive, got 0s"},
		{"integer interval", "interval: 5\n" + oneCluster(""), "line 1, column 11: cannot construct !!int `5` into time.Duration"},
		{"bad duration", "interval: 5 minutes\n" + oneCluster(""), "cannot construct !!str `5 minutes` into time.Duration"},
		{"bad mode", "mode: enforcing\n" + oneCluster(""), `mode: must be "enforce" or "observe", got "enforcing"`},
		{"missing name", `
clusters:
  - apiservers: [{url: "https://a:6443"}]
`, "clusters[0].name: required"},
		{"bad name", `
clusters:
  - name: Eqiad
    apiservers: [{url: "https://a:6443"}]
`, `clusters[0].name: "Eqiad" does not match ^[a-z0-9][a-z0-9-]{0,62}$`},
		{"global name", `
clusters:
  - name: global
    apiservers: [{url: "https://a:6443"}]
`, `clusters[0].name: "global" is reserved`},
		{"duplicate names", `
clusters:
  - name: eqiad
    apiservers: [{url: "https://a:6443"}]
  - name: eqiad
    apiservers: [{url: "https://b:6443"}]
`, `clusters[1].name: duplicate cluster name "eqiad" (also clusters[0])`},
		{"no apiservers", `
clusters:
  - name: eqiad
`, "clusters[0].apiservers: at least one apiserver is required"},
		{"relative url", `
clusters:
  - name: eqiad
    apiservers: [{url: "kubemaster1001:6443"}]
`, `clusters[0].apiservers[0].url: "kubemaster1001:6443" is not an absolute http or https URL`},
		{"ftp url", `
clusters:
  - name: eqiad
    apiservers: [{url: "ftp://a"}]
`, `clusters[0].apiservers[0].url: "ftp://a" is not an absolute http or https URL`},
		{"duplicate apiserver host", `
clusters:
  - name: eqiad
    apiservers: [{url: "https://a:6443"}, {url: "https://a:6443/"}]
`, "clusters[0].apiservers[1].url: duplicate host a:6443 (also apiservers[0])"},
		{"bad node_exporter url", `
clusters:
  - name: eqiad
    apiservers: [{url: "https://a:6443", node_exporter: "a:9100"}]
`, `clusters[0].apiservers[0].node_exporter: "a:9100" is not an absolute http or https URL`},
		{"readyz path", oneCluster("    readyz_path: readyz\n"), `clusters[0].readyz_path: must start with "/", got "readyz"`},
		{"zero timeout", oneCluster("    timeout: 0s\n"), "clusters[0].timeout: must be positive, got 0s"},
		{"timeout beyond interval", "interval: 2s\n" + oneCluster("    timeout: 3s\n"), "clusters[0].timeout: 3s is longer than interval 2s"},
		{"cert without key", oneCluster("    tls: {cert_file: /c.pem}\n"), "clusters[0].tls: cert_file and key_file must be set together"},
		{"bad prometheus url", oneCluster("    prometheus: {url: prometheus:9090}\n"), `clusters[0].prometheus.url: "prometheus:9090" is not an absolute http or https URL`},
		{"zero prometheus window", oneCluster("    prometheus: {url: 'http://p:9090', window: 0s}\n"), "clusters[0].prometheus.window: must be positive, got 0s"},
		{"query without host", oneCluster("    prometheus: {url: 'http://p:9090', queries: {nic: 'max(x)'}}\n"), "clusters[0].prometheus.queries.nic: must contain {{host}} or {{host_regex}}"},
		{"cpu warn above crit", oneCluster("    thresholds: {cpu: {warn: 0.95}}\n"), "clusters[0].thresholds.cpu: warn 0.95 is above crit 0.9"},
		{"latency warn above crit", oneCluster("    thresholds: {latency: {warn: 2s, crit: 1500ms}}\n"), "clusters[0].thresholds.latency: warn 2s is above crit 1.5s"},
		{"latency as number", oneCluster("    thresholds: {latency: {crit: 1}}\n"), "line 7, column 34: cannot construct !!int `1` into time.Duration"},
		{"negative retransmits", oneCluster("    thresholds: {retransmits: {warn: -1}}\n"), "clusters[0].thresholds.retransmits: limits must not be negative, got warn -1 crit 1000"},
		{"zero crit", oneCluster("    thresholds: {retransmits: {warn: 0, crit: 0}}\n"), "clusters[0].thresholds.retransmits: crit must be above zero"},
		{"nic as percent", oneCluster("    thresholds: {nic: {warn: 80, crit: 90}}\n"), "clusters[0].thresholds.nic: crit 90 is above 1 (nic is a fraction: 0.9 means 90%)"},
		{"zero trip_after", oneCluster("    trip_after: 0\n"), "clusters[0].trip_after: must be at least 1, got 0"},
		{"zero clear_after", oneCluster("    clear_after: 0\n"), "clusters[0].clear_after: must be at least 1, got 0"},
		{"zero min_breaching_hosts", oneCluster("    min_breaching_hosts: 0\n"), "clusters[0].min_breaching_hosts: must be at least 1, got 0"},
		{"too many breaching hosts", oneCluster("    min_breaching_hosts: 3\n"), "clusters[0].min_breaching_hosts: 3 is more than the 2 apiservers listed"},
		{"zero max_consecutive_errors", oneCluster("    max_consecutive_errors: 0\n"), "clusters[0].max_consecutive_errors: must be at least 1, got 0"},
		{"negative min_hold", oneCluster("    min_hold: -1m\n"), "clusters[0].min_hold: must not be negative, got -1m0s"},
		{"zero cooldown_max", oneCluster("    cooldown_max: 0s\n"), "clusters[0].cooldown_max: must be positive, got 0s"},
		{"negative cooldown_max", oneCluster("    cooldown_max: -5m\n"), "clusters[0].cooldown_max: must be positive, got -5m0s"},
		{"latency severe below crit", oneCluster("    thresholds: {latency: {crit: 1s, severe: 800ms}}\n"), "clusters[0].thresholds.latency: severe 800ms is below crit 1s"},
		{"cpu severe below crit", oneCluster("    thresholds: {cpu: {severe: 0.85}}\n"), "clusters[0].thresholds.cpu: severe 0.85 is below crit 0.9"},
		{"cpu severe above 1", oneCluster("    thresholds: {cpu: {severe: 99}}\n"), "clusters[0].thresholds.cpu: severe 99 is above 1"},
		{"negative retransmits severe", oneCluster("    thresholds: {retransmits: {severe: -1}}\n"), "clusters[0].thresholds.retransmits: severe must not be negative, got -1"},
		{"bad on_error", oneCluster("    on_error: panic\n"), `clusters[0].on_error: must be "ignore" or "hold", got "panic"`},
		{"two documents", oneCluster("") + "---\n" + oneCluster(""), "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseConfig accepted it, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %q does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(oneCluster("")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval != 5*time.Second || c.Mode != ModeEnforce {
		t.Errorf("interval %s mode %q, want 5s enforce", c.Interval, c.Mode)
	}
	got := c.Clusters[0]
	want := Cluster{
		Name: "eqiad",
		APIServers: []APIServer{
			{URL: "https://kubemaster1001.eqiad.wmnet:6443"},
			{URL: "https://kubemaster1002.eqiad.wmnet:6443"},
		},
		ReadyzPath: "/readyz",
		Timeout:    3 * time.Second,
		Prometheus: PrometheusSource{Window: time.Minute, Queries: DefaultQueries},
		Thresholds: Thresholds{
			Latency:     Limits{Warn: 0.5, Crit: 1, Severe: 2},
			CPU:         Limits{Warn: 0.8, Crit: 0.9},
			Retransmits: Limits{Warn: 500, Crit: 1000},
			NIC:         Limits{Warn: 0.8, Crit: 0.9},
		},
		TripAfter: 3, ClearAfter: 12, MinHold: 5 * time.Minute,
		MinBreachingHosts: 1, MaxConsecutiveErrors: 3, OnError: OnErrorIgnore, CooldownMax: 10 * time.Minute,
	}
	if !equalCluster(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if w := got.ClearWindow(c.Interval); w != time.Minute {
		t.Errorf("ClearWindow = %s, want 1m0s", w)
	}
}

func equalCluster(a, b Cluster) bool {
	if len(a.APIServers) != len(b.APIServers) {
		return false
	}
	for i := range a.APIServers {
		if a.APIServers[i] != b.APIServers[i] {
			return false
		}
	}
	a.APIServers, b.APIServers = nil, nil
	return a.Name == b.Name && a.ReadyzPath == b.ReadyzPath && a.Timeout == b.Timeout &&
		a.TLS == b.TLS && a.BearerTokenFile == b.BearerTokenFile && a.Prometheus == b.Prometheus &&
		a.Thresholds == b.Thresholds && a.TripAfter == b.TripAfter && a.ClearAfter == b.ClearAfter &&
		a.MinHold == b.MinHold && a.MinBreachingHosts == b.MinBreachingHosts &&
		a.MaxConsecutiveErrors == b.MaxConsecutiveErrors && a.OnError == b.OnError && a.CooldownMax == b.CooldownMax
}

// The severe level of readyz follows its crit level unless set; the other
// signals have none unless set.
func TestParseConfigSevereAndCooldown(t *testing.T) {
	tests := []struct {
		name, extra string
		latency     float64
		cpu         float64
		cooldown    time.Duration
	}{
		{"defaults", "", 2, 0, 10 * time.Minute},
		{"severe follows crit", "    thresholds: {latency: {crit: 1500ms}}\n", 3, 0, 10 * time.Minute},
		{"set", "    thresholds: {latency: {severe: 4s}, cpu: {severe: 0.99}}\n    cooldown_max: 3m\n", 4, 0.99, 3 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(oneCluster(tt.extra)))
			if err != nil {
				t.Fatal(err)
			}
			cl := c.Clusters[0]
			if cl.Thresholds.Latency.Severe != tt.latency || cl.Thresholds.CPU.Severe != tt.cpu || cl.CooldownMax != tt.cooldown {
				t.Errorf("latency severe %v cpu severe %v cooldown_max %s, want %v %v %s",
					cl.Thresholds.Latency.Severe, cl.Thresholds.CPU.Severe, cl.CooldownMax, tt.latency, tt.cpu, tt.cooldown)
			}
			built := Config{Clusters: []Cluster{{Name: "eqiad", APIServers: cl.APIServers, Thresholds: cl.Thresholds, CooldownMax: cl.CooldownMax}}}.WithDefaults()
			if built.Clusters[0].Thresholds != cl.Thresholds {
				t.Errorf("WithDefaults thresholds %+v, file %+v", built.Clusters[0].Thresholds, cl.Thresholds)
			}
		})
	}
}

func TestLoadConfigExample(t *testing.T) {
	c, err := LoadConfig(filepath.Join("testdata", "clusters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clusters) != 2 || c.Clusters[0].Name != "eqiad" || c.Clusters[1].Name != "codfw" {
		t.Fatalf("clusters = %+v, want eqiad and codfw", c.Clusters)
	}
	eqiad, codfw := c.Clusters[0], c.Clusters[1]
	if eqiad.APIServers[1].NodeExporter != "http://kubemaster1002.eqiad.wmnet:9100" {
		t.Errorf("eqiad node_exporter = %q", eqiad.APIServers[1].NodeExporter)
	}
	if eqiad.TLS.CAFile != "/etc/ssl/certs/wmf-ca-certificates.crt" || eqiad.BearerTokenFile != "/etc/scaplock/eqiad.token" {
		t.Errorf("eqiad tls/token = %+v %q", eqiad.TLS, eqiad.BearerTokenFile)
	}
	if codfw.Prometheus.Window != 2*time.Minute || codfw.Prometheus.Queries.CPU != DefaultQueries.CPU ||
		!strings.Contains(codfw.Prometheus.Queries.Retransmits, ":9100") {
		t.Errorf("codfw prometheus = %+v", codfw.Prometheus)
	}
	if codfw.Thresholds.CPU != (Limits{Warn: 0.7, Crit: 0.9}) {
		t.Errorf("codfw cpu limits = %+v, want warn 0.7 and the default crit", codfw.Thresholds.CPU)
	}
	if codfw.MinBreachingHosts != 2 || codfw.OnError != OnErrorHold {
		t.Errorf("codfw min_breaching_hosts %d on_error %q", codfw.MinBreachingHosts, codfw.OnError)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestThresholdsFor(t *testing.T) {
	th := DefaultThresholds
	for _, s := range Signals {
		if th.For(s).Crit == 0 {
			t.Errorf("For(%s) = %+v, want the signal's limits", s, th.For(s))
		}
	}
	if th.For("bogus") != (Limits{}) {
		t.Errorf("For(bogus) = %+v, want zero", th.For("bogus"))
	}
}

func TestAPIServerNameNamesTheHost(t *testing.T) {
	cfg, err := ParseConfig([]byte(`clusters:
  - name: eqiad
    apiservers:
      - {url: "http://127.0.0.1:6443", name: "kubemaster1001:6443"}
      - {url: "http://127.0.0.1:6444"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Clusters[0].APIServers[0].Host(); got != "kubemaster1001:6443" {
		t.Fatalf("named apiserver host = %q", got)
	}
	if got := cfg.Clusters[0].APIServers[1].Host(); got != "127.0.0.1:6444" {
		t.Fatalf("unnamed apiserver host = %q", got)
	}
}

// A configuration built as a value gets the defaults a file gets.
func TestWithDefaultsMatchesTheFile(t *testing.T) {
	parsed, err := ParseConfig([]byte("clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://kubemaster1001.eqiad.wmnet:6443\n"))
	if err != nil {
		t.Fatal(err)
	}
	built := Config{Clusters: []Cluster{{Name: "eqiad", APIServers: []APIServer{{URL: "https://kubemaster1001.eqiad.wmnet:6443"}}}}}.WithDefaults()
	if err := built.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed, built) {
		t.Fatalf("defaults differ:\nfile  %+v\nvalue %+v", parsed, built)
	}
	bad := Config{Clusters: []Cluster{{Name: "Bad Name"}}}.WithDefaults()
	if err := bad.Validate(); err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "clusters[0].name") {
		t.Fatalf("Validate of a bad name: %v", err)
	}
}

// issue 19: an indentation mistake on line 3 was reported on line 1 (the
// start of the enclosing block). Each problem names its own line and
// column, and the decoder's problems are all reported.
func TestParseConfigNamesTheLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"indentation on line 3", "clusters:\n  - name: eqiad\n   apiservers:\n      - url: https://a.example:6443\n",
			[]string{"invalid clusters file: line 3, column 4: did not find expected '-' indicator"}},
		{"key outdented on line 5", "clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://a.example:6443\n  trip_after: 3\n",
			[]string{"invalid clusters file: line 5, column 3: did not find expected '-' indicator"}},
		{"tab on line 2", "clusters:\n\t- name: eqiad\n",
			[]string{"invalid clusters file: line 2, column 1: found character that cannot start any token"}},
		{"every field's problem, one line each", "interval: -1s\n" + oneCluster("    trip_after: 0\n    on_error: panic\n"),
			[]string{"invalid clusters file: interval: must be positive, got -1s", "invalid clusters file: clusters[0].trip_after: must be at least 1, got 0",
				`invalid clusters file: clusters[0].on_error: must be "ignore" or "hold", got "panic"`}},
		{"two problems, two lines", "clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://a.example:6443\n    trip_after: x\n    bogus: 1\n",
			[]string{"invalid clusters file: line 5, column 17: cannot construct !!str `x` into int", `invalid clusters file: line 6, column 5: unknown key "bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("error lines %q\nwant %q", got, tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %q does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	tests := map[string]string{
		"https://kubemaster1001.eqiad.wmnet:6443": "kubemaster1001.eqiad.wmnet:6443",
		"https://kubemaster1001.eqiad.wmnet":      "kubemaster1001.eqiad.wmnet:443",
		"http://kubemaster1001.eqiad.wmnet/":      "kubemaster1001.eqiad.wmnet:80",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := hostOf(in); got != want {
				t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
