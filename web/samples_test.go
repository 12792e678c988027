package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Between two reports, a degraded cluster's moving values and the reason
// that quotes them come as "samples" (the gate writes its report only when
// a level changes): the open page shows them, and the status says the same.
func TestPageFollowsSamplesBetweenReports(t *testing.T) {
	d := startDaemon(t, nil)
	now := time.Now().UTC()
	d.publishDegraded(t, now)
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	const host = "kubemaster1002.eqiad.wmnet:6443"
	// The host's row: its name, then readyz latency, CPU, retransmits, NIC.
	cpu := fmt.Sprintf(`document.querySelector('#health-list tr[data-host=%q] td:nth-child(3) .sig-value').textContent`, host)
	reason := `document.querySelector('#health-list [data-cluster=eqiad] .cluster-reason').textContent`
	waitFor(t, b, "CPU 98 % from the report", cpu+` === "98 %"`, liveWithin)
	reads := func(path string) string {
		return fmt.Sprintf(`performance.getEntriesByType("resource").filter(e => e.name.includes(%q)).length`, path)
	}
	// The page reads the samples at load (the stream's hello names no later
	// revision); after that, what it shows comes from the stream.
	waitFor(t, b, "the samples read at load", reads("/api/v1/samples")+" >= 1", liveWithin)
	statusReads := eval[int](t, b, reads("/api/v1/status"))

	smp := apiv1.Samples{At: now.Add(5 * time.Second), Reason: "control plane degraded: kubemaster1002:6443  CPU 93% (limit 90%)",
		Hosts: []apiv1.HostSamples{{Host: host, Values: map[apiv1.Signal]float64{apiv1.SignalCPU: 0.93}}}}
	raw, err := json.Marshal(smp)
	if err != nil {
		t.Fatal(err)
	}
	store := d.srv.Store()
	if _, err := store.Client().Put(context.Background(), store.Keys().ClusterSamples("eqiad"), string(raw)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "CPU 93 % from the samples", cpu+` === "93 %"`, liveWithin)
	waitFor(t, b, "the samples' reason", fmt.Sprintf(`%s === %q`, reason, smp.Reason), liveWithin)
	if n := eval[int](t, b, reads("/api/v1/status")); n != statusReads {
		t.Errorf("the page read /api/v1/status %d more times; the samples message carries what changed", n-statusReads)
	}

	res, err := http.Get(d.url + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st api.StatusResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	r := st.Health["eqiad"]
	var shown float64
	for _, h := range r.Hosts {
		if h.Host == host {
			shown = h.Signals[apiv1.SignalCPU].Value
		}
	}
	if shown != 0.93 || r.Reason != smp.Reason {
		t.Errorf("status shows %s's CPU at %v and reason %q; the page shows 0.93 and %q", host, shown, r.Reason, smp.Reason)
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
