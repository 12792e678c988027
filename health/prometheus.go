package health

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// queryPrometheus runs the cluster's three queries for one host at time now
// and returns cpu, retransmits and nic. A failed query is a source error
// for its signal; see PrometheusSource for empty results.
func queryPrometheus(ctx context.Context, p *Prober, a APIServer, now time.Time) []Sample {
	host := a.Host()
	ctx, cancel := context.WithTimeout(ctx, p.cluster.Timeout)
	defer cancel()
	src := p.cluster.Prometheus
	queries := []struct {
		sig   Signal
		query string
	}{
		{SignalCPU, src.Queries.CPU},
		{SignalRetransmits, src.Queries.Retransmits},
		{SignalNIC, src.Queries.NIC},
	}
	var out []Sample
	for _, q := range queries {
		v, found, err := p.queryOne(ctx, expandQuery(q.query, hostnameOf(a.URL), src.Window), now)
		switch {
		case err != nil:
			out = append(out, errSamples(host, now, "prometheus: "+err.Error(), q.sig)...)
		case !found && q.sig == SignalNIC:
			// No NIC with a known speed, as when scraping: no signal.
		case !found:
			out = append(out, errSamples(host, now, "prometheus: query returned no series", q.sig)...)
		default:
			out = append(out, Sample{Host: host, Signal: q.sig, Value: v, At: now})
		}
	}
	return out
}

// queryOne runs an instant query and returns its largest value.
func (p *Prober) queryOne(ctx context.Context, query string, now time.Time) (float64, bool, error) {
	val, _, _, err := p.prom.Query(ctx, query, now)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, false, errors.New("timeout")
		}
		return 0, false, errors.New(shortError(err))
	}
	var values []float64
	switch v := val.(type) {
	case model.Vector:
		for _, s := range v {
			values = append(values, float64(s.Value))
		}
	case *model.Scalar:
		values = append(values, float64(v.Value))
	default:
		return 0, false, fmt.Errorf("query returned a %s, want a vector", val.Type())
	}
	found, largest := false, math.Inf(-1)
	for _, v := range values {
		if !math.IsNaN(v) {
			found, largest = true, max(largest, v)
		}
	}
	return largest, found, nil
}

// expandQuery fills a query's placeholders; see PrometheusSource.
func expandQuery(query, hostname string, window time.Duration) string {
	hostRegex := strings.ReplaceAll(regexp.QuoteMeta(hostname), `\`, `\\`)
	return strings.NewReplacer(
		"{{host}}", hostname,
		"{{host_regex}}", hostRegex,
		"{{window}}", model.Duration(window).String(),
	).Replace(query)
}

// hostnameOf is an apiserver URL's hostname, without the port.
func hostnameOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Hostname()
}
