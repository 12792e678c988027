package sim_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/scaplock/scaplock/health/sim"
)

// A replay moves a manual clock through the scenario and asks the simulated
// control plane what a prober would see.
func Example() {
	s, err := sim.Load("incident-2024-05-28")
	if err != nil {
		panic(err)
	}
	var clock sim.ManualClock
	cp, err := sim.Serve(s, clock.Now, sim.LatencyScale(0.01))
	if err != nil {
		panic(err)
	}
	defer cp.Close()

	clock.Set(50 * time.Minute) // 12:50 UTC, inside the first probe-failure window
	for _, e := range cp.Endpoints() {
		resp, err := cp.Client().Get(e.APIServerURL + "/readyz")
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(e.Target(), resp.StatusCode, http.StatusText(resp.StatusCode))
	}

	v := s.At("kubemaster1002", 2*time.Hour+30*time.Minute)
	fmt.Printf("14:30 kubemaster1002: NIC above 90%% of 1G: %v, retransmits above 5000/s: %v\n",
		v.NICUtilisation() > 0.9, v.Retransmits > 5000)
	// Output:
	// kubemaster1001:6443 200 OK
	// kubemaster1002:6443 503 Service Unavailable
	// 14:30 kubemaster1002: NIC above 90% of 1G: true, retransmits above 5000/s: true
}

// Scoring deploys against the ground truth.
func ExampleScenario_Degraded() {
	s, err := sim.Load("incident-2024-05-28")
	if err != nil {
		panic(err)
	}
	deg := s.Degraded()
	for _, d := range s.Deploys()[:4] {
		fmt.Printf("deploy at %s degraded: %v\n", s.Start().Add(d).Format("15:04:05"), len(sim.Covering(deg, d)) > 0)
	}
	// Output:
	// deploy at 12:05:00 degraded: false
	// deploy at 12:12:00 degraded: false
	// deploy at 12:16:00 degraded: false
	// deploy at 12:16:15 degraded: true
}
