package sim

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// ControlPlane is a running simulated control plane: per scenario host, one
// apiserver and one node_exporter on loopback.
type ControlPlane struct {
	scenario *Scenario
	clock    Clock
	opts     options
	hosts    []*hostServers
	byName   map[string]*hostServers
	closing  chan struct{}

	closeOnce sync.Once

	mu    sync.Mutex // guards lastT and laps
	lastT time.Duration
	laps  int64
}

type hostServers struct {
	name         string
	apiserver    *httptest.Server
	nodeExporter *httptest.Server
	readyzHits   atomic.Int64
	metricsHits  atomic.Int64
	// apiserverConns counts connections the apiserver accepted: a prober
	// that keeps its connection alive opens one.
	apiserverConns atomic.Int64
}

// Endpoint is where one simulated host answers.
type Endpoint struct {
	Host string
	// APIServerURL is the apiserver's base URL, e.g. http://127.0.0.1:41234;
	// it answers GET /readyz.
	APIServerURL string
	// NodeExporterURL is the full scrape URL, e.g. http://127.0.0.1:41235/metrics.
	NodeExporterURL string
}

// Target is how the host's apiserver is named for display: host:6443.
func (e Endpoint) Target() string { return e.Host + ":6443" }

// Option configures Serve.
type Option func(*options)

type options struct {
	latencyScale float64
	maxLatency   time.Duration
	tls          bool
	compression  float64 // 0: the scenario's
}

// LatencyScale multiplies every /readyz latency before it is slept (default
// 1). A fast replay may use 0.01 and scale its latency thresholds likewise.
// 0 answers at once.
func LatencyScale(f float64) Option { return func(o *options) { o.latencyScale = f } }

// MaxLatency caps the time /readyz sleeps, after LatencyScale (default 30s).
func MaxLatency(d time.Duration) Option { return func(o *options) { o.maxLatency = d } }

// TLS serves the apiservers over HTTPS with httptest's self-signed
// certificate for 127.0.0.1 (Certificate; Client trusts it). node_exporter
// stays plain HTTP, as it usually is.
func TLS() Option { return func(o *options) { o.tls = true } }

// CounterCompression sets the compression node_exporter counters are scaled
// by (default the scenario's; see Counters). A replay whose prober measures
// rates over scenario time passes 1.
func CounterCompression(c float64) Option { return func(o *options) { o.compression = c } }

// Serve starts one apiserver and one node_exporter per host of s on
// 127.0.0.1:0, answering according to clock. Close stops them.
func Serve(s *Scenario, clock Clock, opts ...Option) (*ControlPlane, error) {
	o := options{latencyScale: 1, maxLatency: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case s == nil:
		return nil, errors.New("sim: Serve: scenario is nil")
	case clock == nil:
		return nil, errors.New("sim: Serve: clock is nil")
	case o.latencyScale < 0:
		return nil, fmt.Errorf("sim: Serve: LatencyScale must be >= 0, got %v", o.latencyScale)
	case o.maxLatency < 0:
		return nil, fmt.Errorf("sim: Serve: MaxLatency must be >= 0, got %v", o.maxLatency)
	case o.compression < 0:
		return nil, fmt.Errorf("sim: Serve: CounterCompression must be > 0, got %v", o.compression)
	}
	if o.compression == 0 {
		o.compression = s.compression
	}
	cp := &ControlPlane{
		scenario: s,
		clock:    clock,
		opts:     o,
		byName:   map[string]*hostServers{},
		closing:  make(chan struct{}),
	}
	for _, name := range s.Hosts() {
		hs := &hostServers{name: name}
		hs.apiserver = cp.start(cp.apiserverHandler(hs), o.tls, func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				hs.apiserverConns.Add(1)
			}
		})
		hs.nodeExporter = cp.start(cp.nodeExporterHandler(hs), false, nil)
		cp.hosts = append(cp.hosts, hs)
		cp.byName[name] = hs
	}
	return cp, nil
}

func (cp *ControlPlane) start(h http.Handler, tls bool, connState func(net.Conn, http.ConnState)) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.ConnState = connState
	// Clients that give up or distrust the certificate are part of the
	// simulation, not server errors worth logging.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.EnableHTTP2 = true // as kube-apiserver
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return srv
}

// Endpoints lists the hosts' URLs in scenario host order.
func (cp *ControlPlane) Endpoints() []Endpoint {
	out := make([]Endpoint, len(cp.hosts))
	for i, hs := range cp.hosts {
		out[i] = Endpoint{
			Host:            hs.name,
			APIServerURL:    hs.apiserver.URL,
			NodeExporterURL: hs.nodeExporter.URL + "/metrics",
		}
	}
	return out
}

// Client returns a new HTTP client that trusts the control plane's
// certificate when it serves TLS. Callers may set its Timeout.
func (cp *ControlPlane) Client() *http.Client {
	c := *cp.hosts[0].apiserver.Client() // every host serves httptest's one certificate
	return &c
}

// Certificate is the apiservers' certificate with TLS (every host serves
// httptest's one), for a clusters file's tls.ca_file; nil without.
func (cp *ControlPlane) Certificate() *x509.Certificate {
	return cp.hosts[0].apiserver.Certificate()
}

// APIServerConnections is the number of connections host's apiserver has
// accepted.
func (cp *ControlPlane) APIServerConnections(hostName string) int64 {
	if hs, ok := cp.byName[hostName]; ok {
		return hs.apiserverConns.Load()
	}
	return 0
}

// Requests is the number of /readyz and /metrics requests host has received.
func (cp *ControlPlane) Requests(hostName string) int64 {
	return cp.ReadyzRequests(hostName) + cp.MetricsRequests(hostName)
}

// ReadyzRequests is the number of /readyz requests host's apiserver received.
func (cp *ControlPlane) ReadyzRequests(hostName string) int64 {
	if hs, ok := cp.byName[hostName]; ok {
		return hs.readyzHits.Load()
	}
	return 0
}

// MetricsRequests is the number of scrapes host's node_exporter received.
func (cp *ControlPlane) MetricsRequests(hostName string) int64 {
	if hs, ok := cp.byName[hostName]; ok {
		return hs.metricsHits.Load()
	}
	return 0
}

// Close stops every server. Requests still sleeping out a /readyz latency are
// aborted (the client sees the connection drop). It blocks until all
// handlers have returned and is safe to call more than once.
func (cp *ControlPlane) Close() error {
	cp.closeOnce.Do(func() {
		close(cp.closing)
		for i := len(cp.hosts) - 1; i >= 0; i-- {
			cp.hosts[i].nodeExporter.Close()
			cp.hosts[i].apiserver.Close()
		}
	})
	return nil
}

// counterTime reads the clock for a scrape and counts wraps of a looping
// clock, so counters keep accumulating instead of resetting. Reading under
// the lock keeps concurrent scrapes from seeing time go backwards.
func (cp *ControlPlane) counterTime() (time.Duration, int64) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	t := cp.clock()
	if t < cp.lastT {
		cp.laps++
	}
	cp.lastT = t
	return t, cp.laps
}
