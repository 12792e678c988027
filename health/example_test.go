package health_test

import (
	"fmt"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
)

// A cluster trips after trip_after rounds at crit, and the refusal message
// shows the breaching host.
func ExampleEvaluate() {
	cfg, err := health.ParseConfig([]byte(`
clusters:
  - name: eqiad
    apiservers:
      - url: https://kubemaster1001.eqiad.wmnet:6443
      - url: https://kubemaster1002.eqiad.wmnet:6443
`))
	if err != nil {
		panic(err)
	}
	eqiad := cfg.Clusters[0]
	start := time.Date(2024, 5, 28, 12, 48, 27, 0, time.UTC)

	var s health.State
	for i := range 10 {
		now := start.Add(time.Duration(i) * cfg.Interval)
		s = health.Evaluate(s, []health.Sample{
			{Host: "kubemaster1001.eqiad.wmnet:6443", Signal: health.SignalLatency, Value: 0.04},
			{Host: "kubemaster1002.eqiad.wmnet:6443", Signal: health.SignalLatency, Value: 4.2},
			{Host: "kubemaster1002.eqiad.wmnet:6443", Signal: health.SignalCPU, Value: 0.98},
		}, eqiad, now)
	}
	fmt.Println(s.Status, "since", s.Since.Format("15:04:05"))
	fmt.Println(apiv1.HostLine(s.Breaching(), s.UpdatedAt, true))
	fmt.Println("clears after", eqiad.ClearWindow(cfg.Interval), "healthy")
	// Output:
	// degraded since 12:48:27
	// kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  for 45s
	// clears after 1m0s healthy
}
