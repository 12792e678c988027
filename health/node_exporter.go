package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// hostSignals are the signals that come from the host rather than from the
// apiserver.
var hostSignals = []Signal{SignalCPU, SignalRetransmits, SignalNIC}

// scrapeNodeExporter scrapes the host's node_exporter and returns cpu,
// retransmits and nic as rates since the previous round. The first scrape
// of a host, and a counter that went backwards (a reboot), give no sample
// for that round. A failed scrape gives a source error for all three.
func scrapeNodeExporter(ctx context.Context, p *Prober, a APIServer, now time.Time) []Sample {
	host := a.Host()
	ctx, cancel := context.WithTimeout(ctx, p.cluster.Timeout)
	defer cancel()
	cur, err := scrape(ctx, p.source, metricsURL(a.NodeExporter))
	if err != nil {
		return errSamples(host, now, "node_exporter: "+err.Error(), hostSignals...)
	}
	cur.At = now
	p.mu.Lock()
	prev, had := p.last[host]
	p.last[host] = cur
	p.mu.Unlock()
	if !had {
		return nil
	}
	return rateSamples(host, prev, cur)
}

// metricsURL appends /metrics to a node_exporter base URL without a path.
func metricsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return base
	}
	u.Path = "/metrics"
	return u.String()
}

func scrape(ctx context.Context, client *http.Client, target string) (nodeSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nodeSnapshot{}, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nodeSnapshot{}, errors.New("timeout")
		}
		return nodeSnapshot{}, errors.New(shortError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeSnapshot{}, fmt.Errorf("HTTP %s", resp.Status)
	}
	return parseNodeMetrics(resp.Body, expfmt.ResponseFormat(resp.Header))
}

// nodeSnapshot is the counters of one scrape that the host signals need.
type nodeSnapshot struct {
	At         time.Time
	HasCPU     bool
	CPUBusy    float64 // seconds, summed over CPUs, of every mode but idle and iowait
	CPUTotal   float64 // seconds, summed over CPUs and modes
	HasRetrans bool
	Retrans    float64 // node_netstat_Tcp_RetransSegs
	NICs       map[string]nicCounters
}

type nicCounters struct {
	TxBytes    float64 // node_network_transmit_bytes_total
	SpeedBytes float64 // node_network_speed_bytes; 0 when unknown
}

// idleModes are the CPU modes in which the CPU is free for the apiserver.
// iowait is idle: the CPU waits with nothing to run. steal is busy: the
// hypervisor took the time from us.
var idleModes = map[string]bool{"idle": true, "iowait": true}

// parseNodeMetrics reads the families it needs from a node_exporter
// response in the given format (text unless the server said otherwise).
func parseNodeMetrics(r io.Reader, format expfmt.Format) (nodeSnapshot, error) {
	if format.FormatType() == expfmt.TypeUnknown {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	snap := nodeSnapshot{NICs: map[string]nicCounters{}}
	dec := expfmt.NewDecoder(r, format)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nodeSnapshot{}, fmt.Errorf("parsing metrics: %w", err)
		}
		for _, m := range mf.GetMetric() {
			v := value(m)
			switch mf.GetName() {
			case "node_cpu_seconds_total":
				snap.HasCPU = true
				snap.CPUTotal += v
				if !idleModes[label(m, "mode")] {
					snap.CPUBusy += v
				}
			case "node_netstat_Tcp_RetransSegs":
				snap.HasRetrans = true
				snap.Retrans += v
			case "node_network_transmit_bytes_total":
				if dev := label(m, "device"); dev != "lo" {
					n := snap.NICs[dev]
					n.TxBytes = v
					snap.NICs[dev] = n
				}
			case "node_network_speed_bytes":
				if dev := label(m, "device"); dev != "lo" {
					n := snap.NICs[dev]
					n.SpeedBytes = max(v, 0)
					snap.NICs[dev] = n
				}
			}
		}
	}
	return snap, nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// describeMissing is the source error of a scrape without a signal's family.
func describeMissing(sig Signal) string {
	name := map[Signal]string{SignalCPU: "node_cpu_seconds_total", SignalRetransmits: "node_netstat_Tcp_RetransSegs"}[sig]
	return "node_exporter: no " + name + " (is its collector enabled?)"
}
