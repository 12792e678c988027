package sim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func serve(t *testing.T, name string, clock Clock, opts ...Option) (*Scenario, *ControlPlane) {
	t.Helper()
	s := mustLoad(t, name)
	cp, err := Serve(s, clock, opts...)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { _ = cp.Close() })
	return s, cp
}

func endpoint(t *testing.T, cp *ControlPlane, host string) Endpoint {
	t.Helper()
	for _, e := range cp.Endpoints() {
		if e.Host == host {
			return e
		}
	}
	t.Fatalf("no endpoint for %s in %+v", host, cp.Endpoints())
	return Endpoint{}
}

// scrape fetches and parses a node_exporter endpoint with expfmt.
func scrape(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("Content-Type %q is not the text exposition format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// sample sums the family's samples whose labels include match.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, match func(map[string]string) bool) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	sum, n := 0.0, 0
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if match != nil && !match(labels) {
			continue
		}
		n++
		switch fam.GetType() {
		case dto.MetricType_COUNTER:
			sum += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		default:
			sum += m.GetUntyped().GetValue()
		}
	}
	if n == 0 {
		t.Fatalf("metric %s has no sample matching", name)
	}
	return sum
}

func eth0(l map[string]string) bool { return l["device"] == "eth0" }
func idle(l map[string]string) bool { return l["mode"] == "idle" }

type scraped struct{ idle, all, retrans, tx, speed float64 }

func scrapeHost(t *testing.T, client *http.Client, url string) scraped {
	fams := scrape(t, client, url)
	return scraped{
		idle:    sample(t, fams, "node_cpu_seconds_total", idle),
		all:     sample(t, fams, "node_cpu_seconds_total", nil),
		retrans: sample(t, fams, "node_netstat_Tcp_RetransSegs", nil),
		tx:      sample(t, fams, "node_network_transmit_bytes_total", eth0),
		speed:   sample(t, fams, "node_network_speed_bytes", eth0),
	}
}

func TestNodeExporterRatesOverHTTP(t *testing.T) {
	var clock ManualClock
	s, cp := serve(t, "incident-2024-05-28", clock.Now)
	e := endpoint(t, cp, "kubemaster1002")
	fams := scrape(t, cp.Client(), e.NodeExporterURL)
	for _, name := range []string{"node_cpu_seconds_total", "node_netstat_Tcp_RetransSegs", "node_network_transmit_bytes_total", "node_network_speed_bytes"} {
		if fams[name].GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
	}
	if got := len(fams["node_cpu_seconds_total"].GetMetric()); got != 8*len(cpuModes) {
		t.Errorf("%d node_cpu_seconds_total samples, want 8 cores × %d modes", got, len(cpuModes))
	}
	if got := sample(t, fams, "node_network_transmit_bytes_total", func(l map[string]string) bool { return l["device"] == "lo" }); got < 0 {
		t.Errorf("lo transmit bytes %v", got)
	}

	t1, t2 := 2*time.Hour+30*time.Minute, 2*time.Hour+32*time.Minute
	clock.Set(t1)
	a := scrapeHost(t, cp.Client(), e.NodeExporterURL)
	clock.Set(t2)
	b := scrapeHost(t, cp.Client(), e.NodeExporterURL)

	// Live play at compression 60: two minutes of scenario time are two real seconds.
	realSeconds := (t2 - t1).Seconds() / s.Compression()
	want := scriptedMean(s, e.Host, t1, t2)
	cpu := 1 - (b.idle-a.idle)/(b.all-a.all)
	retrans := (b.retrans - a.retrans) / realSeconds
	nicUtil := (b.tx - a.tx) / realSeconds / b.speed
	if !relClose(cpu, want.CPU, 1e-6) {
		t.Errorf("cpu from counters %v, scripted %v", cpu, want.CPU)
	}
	if !relClose(retrans, want.Retransmits, 1e-6) || retrans < 5000 {
		t.Errorf("retransmits/s from counters %v, scripted %v", retrans, want.Retransmits)
	}
	if !relClose(nicUtil, want.NICBytesPerSec/1.25e8, 1e-6) || nicUtil < 0.9 {
		t.Errorf("NIC utilisation from counters %v, scripted %v", nicUtil, want.NICBytesPerSec/1.25e8)
	}
	if b.speed != 1.25e8 {
		t.Errorf("link speed %v, want 1G = 1.25e8 bytes/s", b.speed)
	}
	if got := cp.MetricsRequests(e.Host); got != 3 {
		t.Errorf("MetricsRequests = %d, want 3", got)
	}
}

func TestCounterCompressionOne(t *testing.T) {
	var clock ManualClock
	s, cp := serve(t, "incident-2024-05-28", clock.Now, CounterCompression(1))
	e := endpoint(t, cp, "kubemaster1002")
	clock.Set(150 * time.Minute)
	a := scrapeHost(t, cp.Client(), e.NodeExporterURL)
	clock.Advance(30 * time.Second)
	b := scrapeHost(t, cp.Client(), e.NodeExporterURL)
	want := scriptedMean(s, e.Host, 150*time.Minute, 150*time.Minute+30*time.Second)
	if got := (b.retrans - a.retrans) / 30; !relClose(got, want.Retransmits, 1e-6) {
		t.Errorf("retransmits per scenario second %v, want %v", got, want.Retransmits)
	}
}

func TestLoopingClockNeverResetsCounters(t *testing.T) {
	var clock ManualClock
	s, cp := serve(t, "healthy", clock.Now)
	e := endpoint(t, cp, "kubemaster2001")
	clock.Set(s.Duration() - 30*time.Second)
	a := scrapeHost(t, cp.Client(), e.NodeExporterURL)
	clock.Set(30 * time.Second) // wrapped
	b := scrapeHost(t, cp.Client(), e.NodeExporterURL)
	if b.retrans <= a.retrans || b.tx <= a.tx || b.all <= a.all {
		t.Fatalf("counters went down across the wrap: %+v then %+v", a, b)
	}
	// One minute of scenario time passed across the wrap: 1 real second.
	wantTotal := float64(s.Cores(e.Host)) * 60 / s.Compression()
	if got := b.all - a.all; !relClose(got, wantTotal, 1e-6) {
		t.Errorf("cpu seconds across the wrap %v, want %v", got, wantTotal)
	}
}

func TestReadyz(t *testing.T) {
	var clock ManualClock
	s, cp := serve(t, "incident-2024-05-28", clock.Now, LatencyScale(0.1))
	e := endpoint(t, cp, "kubemaster1002")
	client := cp.Client()
	client.Timeout = 400 * time.Millisecond
	get := func() (int, time.Duration, error) {
		start := time.Now()
		resp, err := client.Get(e.APIServerURL + "/readyz")
		if err != nil {
			return 0, time.Since(start), err
		}
		defer resp.Body.Close()
		_, _ = io.ReadAll(resp.Body)
		return resp.StatusCode, time.Since(start), nil
	}
	tests := []struct {
		name   string
		at     time.Duration
		status int // 0: no answer
	}{
		{"healthy", 5 * time.Minute, http.StatusOK},
		{"in a deploy burst", 12*time.Minute + 20*time.Second, http.StatusOK},
		{"first failure window", 50 * time.Minute, http.StatusServiceUnavailable},
		{"second failure window: no answer", 85 * time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(tc.at)
			scripted := s.At(e.Host, tc.at).ReadyzLatency
			status, took, err := get()
			if tc.status == 0 {
				if err == nil {
					t.Fatalf("got status %d, want the connection dropped", status)
				}
			} else if err != nil || status != tc.status {
				t.Fatalf("status %d err %v, want %d", status, err, tc.status)
			}
			want := scripted / 10
			if tc.status == 0 {
				want = client.Timeout // held until the client gives up
			}
			if took < want || took > want+150*time.Millisecond {
				t.Errorf("answered in %v, want %v (scripted %v × 0.1)", took, want, scripted)
			}
		})
	}
	if got := cp.ReadyzRequests(e.Host); got != int64(len(tests)) {
		t.Errorf("ReadyzRequests = %d, want %d", got, len(tests))
	}
	if got := cp.Requests(e.Host); got != int64(len(tests)) {
		t.Errorf("Requests = %d, want %d", got, len(tests))
	}
	if got := cp.Requests("kubemaster1001"); got != 0 {
		t.Errorf("Requests(kubemaster1001) = %d, want 0: probes must go to their own host", got)
	}
}

func TestReadyzMaxLatencyAndClose(t *testing.T) {
	var clock ManualClock
	clock.Set(12*time.Minute + 20*time.Second) // 2s scripted burst latency
	_, cp := serve(t, "incident-2024-05-28", clock.Now, MaxLatency(50*time.Millisecond))
	e := endpoint(t, cp, "kubemaster1001")
	start := time.Now()
	resp, err := cp.Client().Get(e.APIServerURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("MaxLatency 50ms but answered in %v", took)
	}

	// A request sleeping out a long latency must not hold up Close.
	_, slow := serve(t, "incident-2024-05-28", clock.Now)
	done := make(chan error, 1)
	go func() {
		resp, err := slow.Client().Get(endpoint(t, slow, "kubemaster1001").APIServerURL + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for slow.ReadyzRequests("kubemaster1001") == 0 {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v with a request sleeping", took)
	}
	if err := <-done; err == nil {
		t.Error("the aborted request succeeded")
	}
	if err := slow.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestServeTLS(t *testing.T) {
	var clock ManualClock
	_, cp := serve(t, "healthy", clock.Now, TLS())
	e := cp.Endpoints()[0]
	// node_exporter stays plain HTTP, as it usually is.
	if !strings.HasPrefix(e.APIServerURL, "https://127.0.0.1:") || !strings.HasPrefix(e.NodeExporterURL, "http://127.0.0.1:") {
		t.Fatalf("endpoints: %+v, want an https apiserver and an http node_exporter on loopback", e)
	}
	if e.Target() != "kubemaster2001:6443" {
		t.Errorf("Target() = %q", e.Target())
	}
	// A client that keeps its connection alive opens one, over HTTP/2 as
	// with kube-apiserver; the apiserver counts it.
	client := cp.Client()
	for range 5 {
		resp, err := client.Get(e.APIServerURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Errorf("status %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
		}
	}
	if n := cp.APIServerConnections(e.Host); n != 1 {
		t.Errorf("5 keep-alive requests opened %d connections, want 1", n)
	}
	scrapeHost(t, http.DefaultClient, e.NodeExporterURL)
	if _, err := http.Get(e.APIServerURL + "/readyz"); err == nil {
		t.Error("an untrusting client connected; want a certificate error")
	}
}

func TestServeRejectsBadOptions(t *testing.T) {
	s := mustLoad(t, "healthy")
	var clock ManualClock
	tests := []struct {
		name string
		s    *Scenario
		c    Clock
		opt  Option
		want string
	}{
		{"nil scenario", nil, clock.Now, LatencyScale(1), "scenario is nil"},
		{"nil clock", s, nil, LatencyScale(1), "clock is nil"},
		{"negative latency scale", s, clock.Now, LatencyScale(-1), "LatencyScale must be >= 0"},
		{"negative max latency", s, clock.Now, MaxLatency(-time.Second), "MaxLatency must be >= 0"},
		{"negative compression", s, clock.Now, CounterCompression(-1), "CounterCompression must be > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := Serve(tc.s, tc.c, tc.opt)
			if err == nil {
				_ = cp.Close()
				t.Fatal("Serve accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
