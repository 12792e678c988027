package health

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
)

func TestCounterRate(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur float64
		elapsed   time.Duration
		want      float64
		ok        bool
	}{
		{"steady", 100, 160, 2 * time.Second, 30, true},
		{"no change", 100, 100, time.Second, 0, true},
		{"counter reset", 6000, 12, 5 * time.Second, 0, false},
		{"no time passed", 100, 160, 0, 0, false},
		{"time went backwards", 100, 160, -time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := counterRate(tt.prev, tt.cur, tt.elapsed)
			if got != tt.want || ok != tt.ok {
				t.Errorf("counterRate = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCPUUtilisation(t *testing.T) {
	snap := func(busy, total float64) nodeSnapshot {
		return nodeSnapshot{HasCPU: true, CPUBusy: busy, CPUTotal: total}
	}
	tests := []struct {
		name      string
		prev, cur nodeSnapshot
		want      float64
		ok        bool
	}{
		{"half busy", snap(10, 100), snap(15, 110), 0.5, true},
		{"idle", snap(10, 100), snap(10, 110), 0, true},
		{"saturated", snap(10, 100), snap(20, 110), 1, true},
		{"reset", snap(1000, 5000), snap(3, 10), 0, false},
		{"busy counter went back", snap(10, 100), snap(9, 110), 0, false},
		{"no time on the CPUs", snap(10, 100), snap(10, 100), 0, false},
		{"no cpu family", nodeSnapshot{}, snap(10, 100), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cpuUtilisation(tt.prev, tt.cur)
			if math.Abs(got-tt.want) > 1e-9 || ok != tt.ok {
				t.Errorf("cpuUtilisation = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNICUtilisation(t *testing.T) {
	at := func(s int, nics map[string]nicCounters) nodeSnapshot {
		return nodeSnapshot{At: t0.Add(time.Duration(s) * time.Second), NICs: nics}
	}
	const gig = 125_000_000 // 1 Gbit/s in bytes
	tests := []struct {
		name      string
		prev, cur nodeSnapshot
		want      float64
		ok        bool
	}{
		{
			"busiest of two",
			at(0, map[string]nicCounters{"eno1": {0, gig}, "eno2": {0, 10 * gig}}),
			at(2, map[string]nicCounters{"eno1": {gig, gig}, "eno2": {4 * gig, 10 * gig}}),
			0.5, true,
		},
		{
			"the incident's 272 MB/s on a 1G NIC",
			at(0, map[string]nicCounters{"eno1": {0, gig}}),
			at(1, map[string]nicCounters{"eno1": {272e6, gig}}),
			2.176, true,
		},
		{
			"unknown speed skipped",
			at(0, map[string]nicCounters{"eth0": {0, 0}, "eno1": {0, gig}}),
			at(1, map[string]nicCounters{"eth0": {9e9, 0}, "eno1": {gig / 10, gig}}),
			0.1, true,
		},
		{
			"reset device skipped",
			at(0, map[string]nicCounters{"eno1": {9e9, gig}, "eno2": {0, gig}}),
			at(1, map[string]nicCounters{"eno1": {10, gig}, "eno2": {gig / 4, gig}}),
			0.25, true,
		},
		{
			"new device skipped",
			at(0, map[string]nicCounters{}),
			at(1, map[string]nicCounters{"eno1": {10, gig}}),
			0, false,
		},
		{
			"no speeds at all",
			at(0, map[string]nicCounters{"eth0": {0, 0}}),
			at(1, map[string]nicCounters{"eth0": {100, 0}}),
			0, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := nicUtilisation(tt.prev, tt.cur)
			if math.Abs(got-tt.want) > 1e-9 || ok != tt.ok {
				t.Errorf("nicUtilisation = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

const scrapeText = `# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="iowait"} 10
node_cpu_seconds_total{cpu="0",mode="user"} 30
node_cpu_seconds_total{cpu="0",mode="steal"} 5
node_cpu_seconds_total{cpu="1",mode="idle"} 120
node_cpu_seconds_total{cpu="1",mode="system"} 15
# TYPE node_netstat_Tcp_RetransSegs untyped
node_netstat_Tcp_RetransSegs 4242
# TYPE node_network_speed_bytes gauge
node_network_speed_bytes{device="eno1"} 1.25e+08
node_network_speed_bytes{device="eth0"} -125000
# TYPE node_network_transmit_bytes_total counter
node_network_transmit_bytes_total{device="eno1"} 5000
node_network_transmit_bytes_total{device="eth0"} 7000
node_network_transmit_bytes_total{device="lo"} 9000
`

func TestParseNodeMetrics(t *testing.T) {
	s, err := parseNodeMetrics(strings.NewReader(scrapeText), expfmt.NewFormat(expfmt.TypeTextPlain))
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasCPU || s.CPUTotal != 280 || s.CPUBusy != 50 {
		t.Errorf("cpu busy %v total %v, want 50 (user, steal, system) of 280", s.CPUBusy, s.CPUTotal)
	}
	if !s.HasRetrans || s.Retrans != 4242 {
		t.Errorf("retransmits %v, want 4242", s.Retrans)
	}
	want := map[string]nicCounters{"eno1": {5000, 1.25e8}, "eth0": {7000, 0}}
	if len(s.NICs) != len(want) || s.NICs["eno1"] != want["eno1"] || s.NICs["eth0"] != want["eth0"] {
		t.Errorf("NICs = %v, want %v (lo left out, negative speed as unknown)", s.NICs, want)
	}

	if _, err := parseNodeMetrics(strings.NewReader("node_cpu_seconds_total{ 1\n"), expfmt.NewFormat(expfmt.TypeTextPlain)); err == nil {
		t.Error("a malformed scrape parsed")
	}
}

func TestRateSamples(t *testing.T) {
	prev := nodeSnapshot{At: t0, HasCPU: true, CPUBusy: 10, CPUTotal: 100, HasRetrans: true, Retrans: 100,
		NICs: map[string]nicCounters{"eno1": {0, 1000}}}
	cur := nodeSnapshot{At: t0.Add(5 * time.Second), HasCPU: true, CPUBusy: 19, CPUTotal: 110, HasRetrans: true, Retrans: 30100,
		NICs: map[string]nicCounters{"eno1": {4000, 1000}}}
	got := rateSamples(host1, prev, cur)
	want := map[Signal]float64{SignalCPU: 0.9, SignalRetransmits: 6000, SignalNIC: 0.8}
	if len(got) != len(want) {
		t.Fatalf("samples = %+v, want %v", got, want)
	}
	for _, s := range got {
		if math.Abs(s.Value-want[s.Signal]) > 1e-9 || s.Err != "" || s.Host != host1 || !s.At.Equal(cur.At) {
			t.Errorf("sample %+v, want value %v at %s", s, want[s.Signal], cur.At)
		}
	}

	rebooted := nodeSnapshot{At: t0.Add(10 * time.Second), HasCPU: true, CPUBusy: 1, CPUTotal: 3, HasRetrans: true, Retrans: 2,
		NICs: map[string]nicCounters{"eno1": {10, 1000}}}
	if got := rateSamples(host1, cur, rebooted); len(got) != 0 {
		t.Errorf("after a reboot (counter reset) got %+v, want no samples", got)
	}

	noCollectors := nodeSnapshot{At: t0.Add(10 * time.Second)}
	errs := rateSamples(host1, cur, noCollectors)
	if len(errs) != 2 || errs[0].Signal != SignalCPU || !strings.Contains(errs[0].Err, "node_cpu_seconds_total") ||
		errs[1].Signal != SignalRetransmits || errs[1].Err == "" {
		t.Errorf("without collectors got %+v, want source errors for cpu and retransmits", errs)
	}
}

func TestExpandQuery(t *testing.T) {
	got := expandQuery(DefaultQueries.Retransmits, "kubemaster1001.eqiad.wmnet", 30*time.Second)
	want := `sum(rate(node_netstat_Tcp_RetransSegs{instance=~"kubemaster1001\\.eqiad\\.wmnet(:[0-9]+)?"}[30s]))`
	if got != want {
		t.Errorf("expandQuery\n got %s\nwant %s", got, want)
	}
	if got := expandQuery(`up{instance="{{host}}:9100"}[{{window}}]`, "a.b", 2*time.Minute); got != `up{instance="a.b:9100"}[2m]` {
		t.Errorf("expandQuery with {{host}} = %s", got)
	}
}

func TestMetricsURL(t *testing.T) {
	tests := map[string]string{
		"http://h:9100":            "http://h:9100/metrics",
		"http://h:9100/":           "http://h:9100/metrics",
		"http://h:9100/node/probe": "http://h:9100/node/probe",
	}
	for in, want := range tests {
		if got := metricsURL(in); got != want {
			t.Errorf("metricsURL(%q) = %q, want %q", in, got, want)
		}
	}
}
