package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server"
)

// The demo's simulated control plane drives the real gate through real
// readyz probes and node_exporter scrapes: started inside an episode of the
// incident, the gate holds eqiad within seconds and names what breaches.
func TestDemoTripsTheGate(t *testing.T) {
	// It starts its own scaplockd and etcd and mostly waits: it runs beside the others.
	t.Parallel()
	cases := []struct {
		name   string
		offset time.Duration
		want   []string
	}{
		{"deploy-driven CPU burst", 16*time.Minute + 12*time.Second, []string{"kubemaster100", "CPU"}},
		{"kubemaster1002's 1G NIC saturated", 2*time.Hour + 20*time.Minute, []string{"kubemaster1002:6443", "NIC egress", "TCP retransmits"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := server.DefaultDemo
			opts.Offset = c.offset
			d, err := server.StartDemo(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if hc := d.Gate; len(hc.Clusters) != 1 || len(hc.Clusters[0].APIServers) != 2 || hc.Clusters[0].TripAfter != 2 {
				t.Fatalf("demo clusters: %+v", hc.Clusters)
			}
			srv := start(t, config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir}), server.WithGate(d.Gate))
			defer srv.Stop()
			// A severe first round (readyz failing on both apiservers) holds
			// before the CPU rates have a second scrape; the hold's details
			// name them from the next evaluation on.
			var pf api.PreflightResponse
			refused := false
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				refused = getJSON(t, srv.URL()+"/api/v1/preflight?scope=eqiad", &pf) == http.StatusLocked
				if refused && containsAll(pf.Message, append(c.want, "control plane degraded")) {
					break
				}
			}
			if !refused {
				t.Fatalf("the demo never refused deploys to eqiad: %+v", pf)
			}
			for _, want := range append(c.want, "control plane degraded") {
				if !strings.Contains(pf.Message, want) {
					t.Errorf("refusal message lacks %q:\n%s", want, pf.Message)
				}
			}
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
