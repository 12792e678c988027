package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Sample is one measurement of one signal of one host.
type Sample struct {
	Host   string    `json:"host"` // the apiserver's host:port, e.g. "kubemaster1002.eqiad.wmnet:6443"
	Signal Signal    `json:"signal"`
	Value  float64   `json:"value"` // seconds, 0..1, or per second; see Signal
	Err    string    `json:"error,omitempty"`
	At     time.Time `json:"at"`
}

// Measured reports whether s carries a value: every sample but a failed
// source. A failed readyz is measured, with its latency until failure.
func (s Sample) Measured() bool { return s.Err == "" || s.Signal == SignalLatency }

// ProbeFn measures one apiserver's host with one kind of probe. It returns
// samples stamped with now, with Err set where its source failed; it never
// blocks past ctx or the cluster's timeout.
type ProbeFn func(ctx context.Context, p *Prober, api APIServer, now time.Time) []Sample

// Probe kinds, the keys of Probes.
const (
	ProbeAPIServer    = "apiserver"
	ProbeNodeExporter = "node_exporter"
	ProbePrometheus   = "prometheus"
)

// Probes are the probe kinds by name.
var Probes = map[string]ProbeFn{
	ProbeAPIServer:    probeAPIServer,
	ProbeNodeExporter: scrapeNodeExporter,
	ProbePrometheus:   queryPrometheus,
}

// Prober probes one cluster's control plane. It keeps each host's previous
// node_exporter counters to turn them into rates, so use one Prober per
// cluster for its whole life, and call Probe from one goroutine at a time.
type Prober struct {
	cluster   Cluster
	apiserver *http.Client // with the cluster's TLS settings
	source    *http.Client // node_exporter and Prometheus
	token     *tokenFile   // nil without bearer_token_file
	prom      promv1.API   // nil without prometheus.url

	mu   sync.Mutex
	last map[string]nodeSnapshot // by host
}

// NewProber builds the HTTP clients of a validated cluster. It reads the CA,
// client certificate and bearer token files now, so that a bad path fails at
// start.
func NewProber(c Cluster) (*Prober, error) {
	client, err := newAPIServerClient(c.TLS, c.Timeout)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	p := &Prober{
		cluster:   c,
		apiserver: client,
		source:    &http.Client{Transport: newTransport(nil, c.Timeout)},
		last:      map[string]nodeSnapshot{},
	}
	if c.BearerTokenFile != "" {
		if p.token, err = newTokenFile(c.BearerTokenFile); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
	}
	if c.Prometheus.URL != "" {
		pc, err := api.NewClient(api.Config{Address: c.Prometheus.URL, Client: p.source})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: prometheus: %w", c.Name, err)
		}
		p.prom = promv1.NewAPI(pc)
	}
	return p, nil
}

// Probe runs one round: for every apiserver, in parallel, one readyz GET and
// one node_exporter scrape or one set of Prometheus queries, each bounded by
// the cluster's timeout. Samples are stamped with now, and rates divide by
// the time between the rounds' now. Samples come in the order of the
// cluster's apiservers. Cancelling ctx ends the round early; its samples
// then carry errors and should be discarded.
func (p *Prober) Probe(ctx context.Context, now time.Time) []Sample {
	results := make([][]Sample, 2*len(p.cluster.APIServers))
	var wg sync.WaitGroup
	for i, a := range p.cluster.APIServers {
		for j, kind := range []string{ProbeAPIServer, p.sourceKind(a)} {
			if kind == "" {
				continue
			}
			wg.Go(func() { results[2*i+j] = Probes[kind](ctx, p, a, now) })
		}
	}
	wg.Wait()
	var samples []Sample
	for _, r := range results {
		samples = append(samples, r...)
	}
	return samples
}

// sourceKind is where a host's cpu, retransmits and nic come from, "" for
// nowhere (only its latency is watched).
func (p *Prober) sourceKind(a APIServer) string {
	switch {
	case p.cluster.Prometheus.URL != "":
		return ProbePrometheus
	case a.NodeExporter != "":
		return ProbeNodeExporter
	}
	return ""
}

// hostOf is an apiserver's host:port, with the scheme's default port when
// the URL has none.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// errSamples reports a failed source for each of its signals.
func errSamples(host string, now time.Time, err string, signals ...Signal) []Sample {
	var out []Sample
	for _, s := range signals {
		out = append(out, Sample{Host: host, Signal: s, Err: err, At: now})
	}
	return out
}
