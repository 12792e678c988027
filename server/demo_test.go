package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/server"
)

// The demo's simulated control plane drives the real gate: started just
// before a deploy-driven CPU burst, the gate holds eqiad within seconds and
// names the simulated kubemasters.
func TestDemoTripsTheGate(t *testing.T) {
	dir := t.TempDir()
	opts := server.DefaultDemo
	opts.Offset = 16*time.Minute + 12*time.Second // inside the 16m deploy's burst
	d, err := server.StartDemo(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hc, err := health.LoadConfig(d.ClustersFile)
	if err != nil {
		t.Fatalf("the demo's clusters file does not load: %v", err)
	}
	if len(hc.Clusters) != 1 || len(hc.Clusters[0].APIServers) != 2 {
		t.Fatalf("demo clusters: %+v", hc.Clusters)
	}
	srv := start(t, config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_CLUSTERS_FILE": d.ClustersFile}))
	defer srv.Stop()
	var pf api.PreflightResponse
	eventually(t, "the demo burst refuses deploys to eqiad", 30*time.Second, func() bool {
		return getJSON(t, srv.URL()+"/api/v1/preflight?scope=eqiad", &pf) == http.StatusLocked
	})
	if !strings.Contains(pf.Message, "kubemaster100") || !strings.Contains(pf.Message, "control plane degraded") {
		t.Fatalf("refusal message does not name the simulated masters:\n%s", pf.Message)
	}
}
