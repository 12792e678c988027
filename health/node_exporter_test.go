package health

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health/healthtest"
)

// fakeNodeExporter serves scripted scrapes, the last one repeating.
func fakeNodeExporter(t *testing.T, scrapes ...string) *httptest.Server {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		i := min(int(n.Add(1))-1, len(scrapes)-1)
		if scrapes[i] == "" {
			http.Error(w, "collector panic", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, scrapes[i])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func counters(busy, idle, retrans, tx float64) string {
	return fmt.Sprintf(`node_cpu_seconds_total{cpu="0",mode="user"} %v
node_cpu_seconds_total{cpu="0",mode="idle"} %v
node_netstat_Tcp_RetransSegs %v
node_network_speed_bytes{device="eno1"} 1000
node_network_transmit_bytes_total{device="eno1"} %v
`, busy, idle, retrans, tx)
}

// bySignal picks the samples of one host by signal, failing on duplicates.
func bySignal(t *testing.T, samples []Sample, host string) map[Signal]Sample {
	t.Helper()
	out := map[Signal]Sample{}
	for _, s := range samples {
		if s.Host != host {
			continue
		}
		if _, dup := out[s.Signal]; dup {
			t.Errorf("two %s samples for %s in one round", s.Signal, host)
		}
		out[s.Signal] = s
	}
	return out
}

func TestProbeNodeExporterRates(t *testing.T) {
	api := newFakeAPIServer(t, readyzStep{status: 200})
	ne := fakeNodeExporter(t,
		counters(10, 90, 100, 0),
		counters(19, 91, 5100, 4000), // over 5 s: cpu 0.9, 1000 retransmits/s, nic 0.8
		counters(1, 2, 3, 4),         // a reboot: every counter went back
		"",                           // the exporter fails
		"not a metric {{{",           // garbage
	)
	c := apiCluster(api.URL)
	c.TLS.InsecureSkipVerify = true
	c.APIServers[0].NodeExporter = ne.URL
	host := strings.TrimPrefix(api.URL, "https://")
	p, err := NewProber(c)
	if err != nil {
		t.Fatal(err)
	}
	rounds := make([]map[Signal]Sample, 5)
	for i := range rounds {
		rounds[i] = bySignal(t, p.Probe(context.Background(), t0.Add(time.Duration(i)*step)), host)
	}

	if len(rounds[0]) != 1 || rounds[0][SignalLatency].Err != "" {
		t.Errorf("first round = %+v, want only the latency (no rate from one scrape)", rounds[0])
	}
	want := map[Signal]float64{SignalCPU: 0.9, SignalRetransmits: 1000, SignalNIC: 0.8}
	for sig, v := range want {
		if s, ok := rounds[1][sig]; !ok || s.Err != "" || fmt.Sprintf("%.6f", s.Value) != fmt.Sprintf("%.6f", v) {
			t.Errorf("second round %s = %+v, want %v", sig, s, v)
		}
	}
	if len(rounds[2]) != 1 {
		t.Errorf("round after a counter reset = %+v, want only the latency", rounds[2])
	}
	for _, sig := range hostSignals {
		if s := rounds[3][sig]; !strings.HasPrefix(s.Err, "node_exporter: HTTP 500") {
			t.Errorf("failed scrape %s = %+v, want a node_exporter source error", sig, s)
		}
		if s := rounds[4][sig]; !strings.HasPrefix(s.Err, "node_exporter: parsing metrics") {
			t.Errorf("garbage scrape %s = %+v, want a parse error", sig, s)
		}
	}
}

func TestProbeNodeExporterTimeout(t *testing.T) {
	api := newFakeAPIServer(t, readyzStep{status: 200})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	c := apiCluster(api.URL)
	c.TLS.InsecureSkipVerify = true
	c.APIServers[0].NodeExporter = hang.URL
	start := time.Now()
	got := bySignal(t, probeOnce(t, c), strings.TrimPrefix(api.URL, "https://"))
	if took := time.Since(start); took > time.Second {
		t.Errorf("round took %s, want it bounded by the 300ms timeout", took)
	}
	if s := got[SignalCPU]; s.Err != "node_exporter: timeout" {
		t.Errorf("cpu = %+v, want a timeout source error", s)
	}
}

// TestProbeRealNodeExporter scrapes Debian's node_exporter and checks that
// real CPU load shows.
func TestProbeRealNodeExporter(t *testing.T) {
	neURL := healthtest.StartNodeExporter(t)
	api := newFakeAPIServer(t, readyzStep{status: 200})
	c := apiCluster(api.URL)
	c.Timeout = 3 * time.Second
	c.TLS.InsecureSkipVerify = true
	c.APIServers[0].NodeExporter = neURL
	host := strings.TrimPrefix(api.URL, "https://")
	p, err := NewProber(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	probe := func() map[Signal]Sample { return bySignal(t, p.Probe(ctx, time.Now()), host) }

	if first := probe(); len(first) != 1 {
		t.Fatalf("first round = %+v, want only the latency", first)
	}
	time.Sleep(time.Second)
	idle := probe()
	checkHostSample(t, "idle", idle)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 100000; i++ {
					_ = i * i
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	loaded := probe()
	close(stop)
	wg.Wait()
	checkHostSample(t, "loaded", loaded)

	i, l := idle[SignalCPU].Value, loaded[SignalCPU].Value
	t.Logf("cpu idle %.3f, loaded %.3f", i, l)
	if !(l > i || l >= 0.95) {
		t.Errorf("cpu under load %.3f, want above the idle %.3f", l, i)
	}
}

func checkHostSample(t *testing.T, when string, got map[Signal]Sample) {
	t.Helper()
	for _, sig := range []Signal{SignalLatency, SignalCPU, SignalRetransmits} {
		s, ok := got[sig]
		if !ok || s.Err != "" {
			t.Fatalf("%s: %s = %+v, want a value", when, sig, s)
		}
		if s.Value < 0 || (sig == SignalCPU && s.Value > 1) {
			t.Errorf("%s: %s = %v, out of range", when, sig, s.Value)
		}
	}
	if s, ok := got[SignalNIC]; ok && (s.Err != "" || s.Value < 0) {
		t.Errorf("%s: nic = %+v", when, s)
	}
}
