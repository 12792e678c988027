package health

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// validate checks a Config with its defaults applied and reports every
// problem, one per field. Messages start with the field path as written in
// the file.
func validate(c Config) []error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval: must be positive, got %s", c.Interval))
	}
	if c.Mode != ModeEnforce && c.Mode != ModeObserve {
		errs = append(errs, fmt.Errorf("mode: must be %q or %q, got %q", ModeEnforce, ModeObserve, c.Mode))
	}
	if len(c.Clusters) == 0 {
		errs = append(errs, errors.New("clusters: at least one cluster is required"))
	}
	seen := map[string]int{}
	for i, cl := range c.Clusters {
		path := fmt.Sprintf("clusters[%d]", i)
		if j, ok := seen[cl.Name]; ok {
			errs = append(errs, fmt.Errorf("%s.name: duplicate cluster name %q (also clusters[%d])", path, cl.Name, j))
		}
		seen[cl.Name] = i
		errs = append(errs, validateCluster(path, cl, c)...)
	}
	return errs
}

func validateCluster(path string, c Cluster, cfg Config) []error {
	var errs []error
	bad := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.Name == "":
		bad(fmt.Errorf("%s.name: required", path))
	case c.Name == string(apiv1.Global):
		bad(fmt.Errorf("%s.name: %q is reserved for the scope that covers every cluster", path, c.Name))
	case !apiv1.ValidScopeName(c.Name):
		bad(fmt.Errorf("%s.name: %q does not match ^%s$", path, c.Name, apiv1.ScopeSyntax))
	}
	if len(c.APIServers) == 0 {
		bad(fmt.Errorf("%s.apiservers: at least one apiserver is required", path))
	}
	hosts := map[string]int{}
	for i, a := range c.APIServers {
		p := fmt.Sprintf("%s.apiservers[%d]", path, i)
		if err := validateURL(p+".url", a.URL); err != nil {
			bad(err)
		} else if h := a.Host(); hosts[h] > 0 {
			bad(fmt.Errorf("%s.url: duplicate host %s (also apiservers[%d])", p, h, hosts[h]-1))
		} else {
			hosts[h] = i + 1
		}
		if a.NodeExporter != "" {
			bad(validateURL(p+".node_exporter", a.NodeExporter))
		}
	}
	if !strings.HasPrefix(c.ReadyzPath, "/") {
		bad(fmt.Errorf("%s.readyz_path: must start with \"/\", got %q", path, c.ReadyzPath))
	}
	switch {
	case c.Timeout <= 0:
		bad(fmt.Errorf("%s.timeout: must be positive, got %s", path, c.Timeout))
	case cfg.Interval > 0 && c.Timeout > cfg.Interval:
		bad(fmt.Errorf("%s.timeout: %s is longer than interval %s (a round must end before the next)", path, c.Timeout, cfg.Interval))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad(fmt.Errorf("%s.tls: cert_file and key_file must be set together", path))
	}
	bad(validatePrometheus(path+".prometheus", c.Prometheus))
	for _, s := range Signals {
		bad(validateLimits(fmt.Sprintf("%s.thresholds.%s", path, s), s, c.Thresholds.For(s)))
	}
	ints := []struct {
		name string
		v    int
	}{
		{"trip_after", c.TripAfter},
		{"clear_after", c.ClearAfter},
		{"min_breaching_hosts", c.MinBreachingHosts},
		{"max_consecutive_errors", c.MaxConsecutiveErrors},
	}
	for _, f := range ints {
		if f.v < 1 {
			bad(fmt.Errorf("%s.%s: must be at least 1, got %d", path, f.name, f.v))
		}
	}
	if c.MinBreachingHosts > len(c.APIServers) && len(c.APIServers) > 0 {
		bad(fmt.Errorf("%s.min_breaching_hosts: %d is more than the %d apiservers listed", path, c.MinBreachingHosts, len(c.APIServers)))
	}
	if c.MinHold < 0 {
		bad(fmt.Errorf("%s.min_hold: must not be negative, got %s", path, c.MinHold))
	}
	if c.CooldownMax <= 0 {
		bad(fmt.Errorf("%s.cooldown_max: must be positive, got %s", path, c.CooldownMax))
	}
	if c.OnError != OnErrorIgnore && c.OnError != OnErrorHold {
		bad(fmt.Errorf("%s.on_error: must be %q or %q, got %q", path, OnErrorIgnore, OnErrorHold, c.OnError))
	}
	return errs
}

func validateURL(path, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an absolute http or https URL", path, raw)
	}
	return nil
}

func validatePrometheus(path string, p PrometheusSource) error {
	if p.URL == "" {
		return nil
	}
	if err := validateURL(path+".url", p.URL); err != nil {
		return err
	}
	if p.Window <= 0 {
		return fmt.Errorf("%s.window: must be positive, got %s", path, p.Window)
	}
	queries := []struct{ name, q string }{
		{"cpu", p.Queries.CPU}, {"retransmits", p.Queries.Retransmits}, {"nic", p.Queries.NIC},
	}
	for _, q := range queries {
		if !strings.Contains(q.q, "{{host}}") && !strings.Contains(q.q, "{{host_regex}}") {
			return fmt.Errorf("%s.queries.%s: must contain {{host}} or {{host_regex}} to select the apiserver's host", path, q.name)
		}
	}
	return nil
}

func validateLimits(path string, s Signal, l Limits) error {
	if l.Warn < 0 || l.Crit < 0 {
		return fmt.Errorf("%s: limits must not be negative, got warn %s crit %s", path, limitText(s, l.Warn), limitText(s, l.Crit))
	}
	if l.Crit == 0 {
		return fmt.Errorf("%s: crit must be above zero", path)
	}
	if l.Warn > l.Crit {
		return fmt.Errorf("%s: warn %v is above crit %v", path, limitText(s, l.Warn), limitText(s, l.Crit))
	}
	if (s == SignalCPU || s == SignalNIC) && l.Crit > 1 {
		return fmt.Errorf("%s: crit %v is above 1 (%s is a fraction: 0.9 means 90%%)", path, l.Crit, s)
	}
	if l.Severe < 0 {
		return fmt.Errorf("%s: severe must not be negative, got %s", path, limitText(s, l.Severe))
	}
	if l.Severe > 0 && l.Severe < l.Crit {
		return fmt.Errorf("%s: severe %v is below crit %v", path, limitText(s, l.Severe), limitText(s, l.Crit))
	}
	if (s == SignalCPU || s == SignalNIC) && l.Severe > 1 {
		return fmt.Errorf("%s: severe %v is above 1 (%s is a fraction: 0.99 means 99%%)", path, l.Severe, s)
	}
	return nil
}

// limitText writes a limit as the file does: latency as a Go duration,
// the rest as plain numbers.
func limitText(s Signal, v float64) string {
	if s == SignalLatency {
		return seconds(v).String()
	}
	return fmt.Sprint(v)
}
