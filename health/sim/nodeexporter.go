package sim

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// textContentType is the Prometheus text exposition format, version 0.0.4.
const textContentType = "text/plain; version=0.0.4; charset=utf-8"

// cpuModes are the modes node_exporter reports, in its order.
var cpuModes = []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}

// nodeExporterHandler serves /metrics for one host: the subset of
// node_exporter's metrics the health probes read, with counters that follow
// the scenario (see Counters and the package doc on compression).
func (cp *ControlPlane) nodeExporterHandler(hs *hostServers) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		hs.metricsHits.Add(1)
		t, laps := cp.counterTime()
		c := cp.scenario.Counters(hs.name, t, cp.opts.compression)
		if laps > 0 {
			c = c.add(cp.scenario.Counters(hs.name, cp.scenario.duration, cp.opts.compression), float64(laps))
		}
		w.Header().Set("Content-Type", textContentType)
		bw := bufio.NewWriter(w)
		writeNodeMetrics(bw, c, cp.scenario.At(hs.name, t), cp.scenario.Cores(hs.name), t)
		_ = bw.Flush()
	})
	return mux
}

// add returns c plus n times lap.
func (c Counters) add(lap Counters, n float64) Counters {
	c.CPUIdleSeconds += n * lap.CPUIdleSeconds
	c.CPUUserSeconds += n * lap.CPUUserSeconds
	c.CPUSystemSeconds += n * lap.CPUSystemSeconds
	c.CPUSoftirqSeconds += n * lap.CPUSoftirqSeconds
	c.RetransSegs += n * lap.RetransSegs
	c.TransmitBytes += n * lap.TransmitBytes
	c.LoopbackBytes += n * lap.LoopbackBytes
	return c
}

// writeNodeMetrics writes the exposition text. Counters are spread evenly
// over the cores.
func writeNodeMetrics(w *bufio.Writer, c Counters, v Values, cores int, t time.Duration) {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	perCore := map[string]float64{
		"idle":    c.CPUIdleSeconds,
		"softirq": c.CPUSoftirqSeconds,
		"system":  c.CPUSystemSeconds,
		"user":    c.CPUUserSeconds,
	}
	w.WriteString("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n")
	w.WriteString("# TYPE node_cpu_seconds_total counter\n")
	for cpu := range cores {
		for _, mode := range cpuModes {
			fmt.Fprintf(w, "node_cpu_seconds_total{cpu=\"%d\",mode=\"%s\"} %s\n", cpu, mode, f(perCore[mode]/float64(cores)))
		}
	}
	w.WriteString("# HELP node_netstat_Tcp_RetransSegs Statistic TcpRetransSegs.\n")
	w.WriteString("# TYPE node_netstat_Tcp_RetransSegs untyped\n")
	fmt.Fprintf(w, "node_netstat_Tcp_RetransSegs %s\n", f(c.RetransSegs))
	w.WriteString("# HELP node_network_speed_bytes Network device property: speed_bytes\n")
	w.WriteString("# TYPE node_network_speed_bytes gauge\n")
	fmt.Fprintf(w, "node_network_speed_bytes{device=\"eth0\"} %s\n", f(v.LinkSpeedBytes))
	w.WriteString("# HELP node_network_transmit_bytes_total Network device statistic transmit_bytes.\n")
	w.WriteString("# TYPE node_network_transmit_bytes_total counter\n")
	fmt.Fprintf(w, "node_network_transmit_bytes_total{device=\"eth0\"} %s\n", f(c.TransmitBytes))
	fmt.Fprintf(w, "node_network_transmit_bytes_total{device=\"lo\"} %s\n", f(c.LoopbackBytes))
	w.WriteString("# HELP scaplock_sim_scenario_offset_seconds Scenario time this answer reflects.\n")
	w.WriteString("# TYPE scaplock_sim_scenario_offset_seconds gauge\n")
	fmt.Fprintf(w, "scaplock_sim_scenario_offset_seconds %s\n", f(t.Seconds()))
}
