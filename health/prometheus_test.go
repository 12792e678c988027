package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health/healthtest"
)

// fakePrometheus answers instant queries with the result whose key the
// query contains, and records the queries.
func fakePrometheus(t *testing.T, results map[string]string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		q := r.Form.Get("query")
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		for key, res := range results {
			if strings.Contains(q, key) {
				if res == "500" {
					w.WriteHeader(http.StatusInternalServerError)
					json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "internal", "error": "out of memory"})
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":` + res + `}}`))
				return
			}
		}
		t.Errorf("unexpected query %s", q)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), queries...)
	}
}

func vector(values ...string) string {
	var parts []string
	for _, v := range values {
		parts = append(parts, `{"metric":{},"value":[1700000000,"`+v+`"]}`)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestProbePrometheus(t *testing.T) {
	tests := []struct {
		name    string
		results map[string]string
		want    map[Signal]string // value as %v, or "err:<prefix>", or "none"
	}{
		{
			"values, the largest of several series",
			map[string]string{"node_cpu": vector("0.42"), "Retrans": vector("12", "1500"), "transmit": vector("0.3")},
			map[Signal]string{SignalCPU: "0.42", SignalRetransmits: "1500", SignalNIC: "0.3"},
		},
		{
			"no series",
			map[string]string{"node_cpu": vector(), "Retrans": vector("NaN"), "transmit": vector()},
			map[Signal]string{SignalCPU: "err:prometheus: query returned no series", SignalRetransmits: "err:prometheus: query returned no series", SignalNIC: "none"},
		},
		{
			"prometheus fails",
			map[string]string{"node_cpu": "500", "Retrans": "500", "transmit": "500"},
			map[Signal]string{SignalCPU: "err:prometheus: ", SignalRetransmits: "err:prometheus: ", SignalNIC: "err:prometheus: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom, queries := fakePrometheus(t, tt.results)
			api := newFakeAPIServer(t, readyzStep{status: 200})
			c := apiCluster(api.URL)
			c.TLS.InsecureSkipVerify = true
			c.Prometheus = PrometheusSource{URL: prom.URL, Window: 30 * time.Second, Queries: DefaultQueries}
			host := strings.TrimPrefix(api.URL, "https://")
			got := bySignal(t, probeOnce(t, c), host)
			for sig, want := range tt.want {
				s, ok := got[sig]
				switch {
				case want == "none":
					if ok {
						t.Errorf("%s = %+v, want no sample", sig, s)
					}
				case strings.HasPrefix(want, "err:"):
					if !ok || !strings.HasPrefix(s.Err, strings.TrimPrefix(want, "err:")) {
						t.Errorf("%s = %+v, want error %q", sig, s, want)
					}
				default:
					if !ok || s.Err != "" || strconv.FormatFloat(s.Value, 'f', -1, 64) != want {
						t.Errorf("%s = %+v, want %s", sig, s, want)
					}
				}
			}
			for _, q := range queries() {
				if !strings.Contains(q, `instance=~"127\\.0\\.0\\.1(:[0-9]+)?"`) || !strings.Contains(q, "[30s]") {
					t.Errorf("query %s does not select the host 127.0.0.1 over 30s", q)
				}
			}
		})
	}
}

// TestProbeRealPrometheus runs the default queries against Debian's
// Prometheus scraping Debian's node_exporter.
func TestProbeRealPrometheus(t *testing.T) {
	neURL := healthtest.StartNodeExporter(t)
	promURL := healthtest.StartPrometheus(t, neURL)
	healthtest.WaitForData(t, promURL, `rate(node_cpu_seconds_total[10s])`, 40*time.Second)

	// The apiserver is on 127.0.0.1, so {{host_regex}} selects the
	// node_exporter's instance 127.0.0.1:PORT.
	api := newFakeAPIServer(t, readyzStep{status: 200})
	c := apiCluster(api.URL)
	c.Timeout = 3 * time.Second
	c.TLS.InsecureSkipVerify = true
	c.Prometheus = PrometheusSource{URL: promURL, Window: 10 * time.Second, Queries: DefaultQueries}
	host := strings.TrimPrefix(api.URL, "https://")
	p, err := NewProber(c)
	if err != nil {
		t.Fatal(err)
	}
	got := bySignal(t, p.Probe(context.Background(), time.Now()), host)
	checkHostSample(t, "prometheus", got)

	// nic is there exactly when the host has a NIC with a known speed.
	snap := scrapeNow(t, neURL)
	hasSpeed := false
	for _, n := range snap.NICs {
		hasSpeed = hasSpeed || n.SpeedBytes > 0
	}
	if _, ok := got[SignalNIC]; ok != hasSpeed {
		t.Errorf("nic sample present %v, want %v (a NIC with a known speed: %v)", ok, hasSpeed, snap.NICs)
	}
	t.Logf("samples: %+v", got)
}

func scrapeNow(t *testing.T, neURL string) nodeSnapshot {
	t.Helper()
	snap, err := scrape(context.Background(), http.DefaultClient, metricsURL(neURL))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
