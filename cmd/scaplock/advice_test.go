package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// A cluster at warn: preflight allows, says why on stderr, and
// --scap-defines prints the advised concurrency for scap; below warn it
// prints nothing.
func TestPreflightAdvisesAtWarn(t *testing.T) {
	ctx := context.Background()
	cluster := "adv-eqiad" // a known scope (testScopes) of its own
	store := srv.Store()
	publish := func(cpu float64, level apiv1.Level) {
		t.Helper()
		now := store.Now()
		report := apiv1.ClusterHealth{Cluster: cluster, Status: apiv1.StatusOK, Since: now, UpdatedAt: now, Hosts: []apiv1.HostHealth{{
			Host: "kubemaster1001.eqiad.wmnet:6443",
			Signals: map[apiv1.Signal]apiv1.SignalHealth{
				apiv1.SignalCPU: {Value: cpu, Level: level, Warn: 0.8, Crit: 0.9, At: now, Since: now, Peak: cpu},
			},
		}}}
		raw, err := json.Marshal(report)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := store.Client().Put(ctx, store.Keys().HealthReport(cluster), string(raw))
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := store.WaitRevision(wctx, resp.Header.Revision); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = store.Client().Delete(context.Background(), store.Keys().HealthReport(cluster)) })
	deployer := as(t, "adv-deployer", "deployer")

	publish(0.85, apiv1.LevelWarn)
	r := scaplock(ctx, deployer, "preflight", "--scope", cluster, "--scap-defines")
	wantCode(t, r, exitOK)
	if r.stdout != "-D k8s_max_concurrent_deployments_per_cluster:5\n" {
		t.Errorf("stdout %q, want the -D option for 5", r.stdout)
	}
	if !strings.Contains(r.stderr, "deploys allowed; "+cluster+": CPU 85% on kubemaster1001:6443 (warn 80%, crit 90%), 50% of the headroom left") {
		t.Errorf("stderr does not say why: %q", r.stderr)
	}

	publish(0.5, apiv1.LevelOK)
	r = scaplock(ctx, deployer, "preflight", "--scope", cluster, "--scap-defines")
	wantCode(t, r, exitOK)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("below warn: stdout %q stderr %q, want nothing", r.stdout, r.stderr)
	}
	wantCode(t, scaplock(ctx, deployer, "preflight", "--scope", cluster, "--scap-defines", "--json"), exitMisuse)
}
