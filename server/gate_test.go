package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server"
)

func newAPIServer(t *testing.T) *healthtest.APIServer {
	a, err := healthtest.NewAPIServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

const gateInterval = 500 * time.Millisecond

func clustersFile(t *testing.T, a *healthtest.APIServer, mode string) string {
	t.Helper()
	yaml := fmt.Sprintf(`interval: 500ms
mode: %s
clusters:
  - name: eqiad
    apiservers:
      - url: %s
    timeout: 450ms
    tls: {ca_file: %q}
    thresholds:
      latency: {warn: 150ms, crit: 250ms}
    trip_after: 2
    clear_after: 2
    min_hold: 0s
`, mode, a.URL, a.CAFile)
	path := filepath.Join(t.TempDir(), "clusters.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type replica struct {
	*server.Server
	name string
}

func startReplica(t *testing.T, e *locktest.Etcd, secretFile, clusters, name string, extra map[string]string) *replica {
	t.Helper()
	env := map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS": e.Endpoint,
		"SCAPLOCK_JWT_SECRET_FILE": secretFile, "SCAPLOCK_CLUSTERS_FILE": clusters, "SCAPLOCK_REPLICA_NAME": name,
		"SCAPLOCK_SCOPES": "codfw", // a cluster without a gate
	}
	for k, v := range extra {
		env[k] = v
	}
	return &replica{Server: start(t, config(t, env)), name: name}
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

func leader(t *testing.T, r *replica) string {
	var st api.StatusResponse
	getJSON(t, r.URL()+"/api/v1/status", &st)
	return st.Gate.Leader
}

func autoHolds(r *replica) []lock.Hold {
	var out []lock.Hold
	for _, h := range r.Store().Snapshot().Holds {
		if h.Kind == lock.KindAuto {
			out = append(out, h)
		}
	}
	return out
}

func TestGateEndToEnd(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	apis := newAPIServer(t)
	clusters := clustersFile(t, apis, "enforce")

	a := startReplica(t, e, secretFile, clusters, "replica-a", nil)
	aStopped := false
	defer func() {
		if !aStopped {
			a.Stop()
		}
	}()
	eventually(t, "replica-a leads", 10*time.Second, func() bool { return leader(t, a) == "replica-a" })
	b := startReplica(t, e, secretFile, clusters, "replica-b", nil)
	defer b.Stop()

	// Two replicas, one probe per interval: only the leader probes.
	eventually(t, "replica-b sees the leader", 10*time.Second, func() bool { return leader(t, b) == "replica-a" })
	before, began := apis.Requests(), time.Now()
	time.Sleep(3 * time.Second)
	probes, elapsed := apis.Requests()-before, time.Since(began)
	if most := int64(elapsed/gateInterval) + 2; probes < 1 || probes > most {
		t.Fatalf("%d readyz probes in %s with two replicas; one leader probing allows at most %d", probes, elapsed, most)
	}

	// Degrade: readyz slower than crit trips the gate.
	apis.SetLatency(350 * time.Millisecond)
	eventually(t, "auto hold appears", 20*time.Second, func() bool { return len(autoHolds(b)) == 1 })
	var pf api.PreflightResponse
	if code := getJSON(t, b.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusLocked {
		t.Fatalf("preflight while degraded: %d", code)
	}
	host := strings.TrimPrefix(apis.URL, "https://")
	for _, want := range []string{
		"scaplock: deploys to eqiad are refused: control plane degraded",
		host, "readyz", "(limit 250ms)", "held automatically since", "hold auto-eqiad)", "clears after 1s healthy",
	} {
		if !strings.Contains(pf.Message, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, pf.Message)
		}
	}
	// The gate's hold carries its signals (written right after the hold):
	// the reason says what was measured against which limit, for machines.
	eventually(t, "the hold's signals", 5*time.Second, func() bool {
		getJSON(t, b.URL()+"/api/v1/preflight?scope=eqiad", &pf)
		return len(pf.Reasons) == 1 && len(pf.Reasons[0].Signals) > 0
	})
	if len(pf.Reasons) != 1 || pf.Reasons[0].Kind != apiv1.ReasonAuto || !pf.Reasons[0].Override || len(pf.Reasons[0].Signals) == 0 {
		t.Fatalf("reasons = %+v, want the auto hold with its signals", pf.Reasons)
	}
	if sig := pf.Reasons[0].Signals[0]; sig.Cluster != "eqiad" || sig.APIServer != host || sig.Signal != apiv1.SignalLatency ||
		sig.Level != apiv1.LevelCrit || sig.Limit != 0.25 || sig.Unit != apiv1.UnitSeconds || sig.Value < 0.25 {
		t.Errorf("signal = %+v, want %s's readyz at crit against 250ms", sig, host)
	}
	if c := pf.Reasons[0].Clears; c.On != apiv1.ClearsOnHealthy || c.After != apiv1.Duration(time.Second) {
		t.Errorf("clears = %+v, want after 1s healthy", c)
	}
	if _, ok := pf.Health["eqiad"]; !ok {
		t.Errorf("preflight carries no health for eqiad")
	}
	if code := getJSON(t, b.URL()+"/api/v1/preflight?scope=codfw", &pf); code != http.StatusOK {
		t.Fatalf("other clusters stay open: %d", code)
	}

	// Kill the leader: the other takes over and keeps the one hold.
	held := autoHolds(b)[0]
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	aStopped = true
	eventually(t, "replica-b leads", 20*time.Second, func() bool { return leader(t, b) == "replica-b" })
	time.Sleep(3 * gateInterval)
	if hs := autoHolds(b); len(hs) != 1 || hs[0].ID != held.ID || !hs[0].CreatedAt.Equal(held.CreatedAt) {
		t.Fatalf("after failover: %+v, want the same single hold %s", hs, held.ID)
	}
	created, _ := b.Store().History(context.Background(), lock.HistoryQuery{Kind: lock.KindAuto, Action: lock.ActionCreated})
	if len(created.Events) != 1 {
		t.Fatalf("%d auto holds were created, want 1", len(created.Events))
	}

	// An override lets deploys through while it lasts.
	secret, _ := token.ReadSecret(secretFile)
	sre, _ := token.SignHS256(secret, "effie", []string{api.RoleSRE}, time.Hour, time.Now())
	resp := post(t, b.URL()+"/api/v1/overrides", sre, api.HoldBody{Scope: "eqiad", Reason: "emergency revert", Duration: "30m"})
	var override lock.Hold
	json.NewDecoder(resp.Body).Decode(&override)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("override: %d", resp.StatusCode)
	}
	if code := getJSON(t, b.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusOK || len(pf.Overridden) != 1 {
		t.Fatalf("preflight under an override: %d %+v", code, pf)
	}
	req, _ := http.NewRequest("DELETE", b.URL()+"/api/v1/overrides/"+override.ID, strings.NewReader(`{"reason":"revert done"}`))
	req.Header.Set("Authorization", "Bearer "+sre)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("cancel override: %v %v", r, err)
	}
	if code := getJSON(t, b.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusLocked {
		t.Fatalf("preflight after the override: %d", code)
	}

	// Recover: released after the clear window, with the summary in history.
	apis.SetLatency(0)
	eventually(t, "auto hold released", 20*time.Second, func() bool { return len(autoHolds(b)) == 0 })
	released, _ := b.Store().History(context.Background(), lock.HistoryQuery{Kind: lock.KindAuto, Action: lock.ActionReleased})
	if len(released.Events) != 1 || released.Events[0].Actor != "scaplock" || !strings.Contains(released.Events[0].Reason, "recovered") {
		t.Fatalf("release event: %+v", released.Events)
	}
	if code := getJSON(t, b.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusOK {
		t.Fatalf("preflight after recovery: %d", code)
	}
}

func TestGateObserveModeWritesHistoryOnly(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	apis := newAPIServer(t)
	r := startReplica(t, e, secretFile, clustersFile(t, apis, "enforce"), "observer", map[string]string{"SCAPLOCK_GATE_MODE": "observe"})
	defer r.Stop()
	var st api.StatusResponse
	getJSON(t, r.URL()+"/api/v1/status", &st)
	if st.Gate.Mode != "observe" {
		t.Fatalf("SCAPLOCK_GATE_MODE did not override the file: %q", st.Gate.Mode)
	}
	eventually(t, "the gate evaluates", 10*time.Second, func() bool {
		var st api.StatusResponse
		getJSON(t, r.URL()+"/api/v1/status", &st)
		return len(st.Health) == 1
	})
	apis.SetLatency(350 * time.Millisecond)
	history := func(action lock.Action) int {
		page, _ := r.Store().History(context.Background(), lock.HistoryQuery{Action: action})
		return len(page.Events)
	}
	eventually(t, "would_trip recorded", 20*time.Second, func() bool { return history(lock.ActionWouldTrip) == 1 })
	if hs := autoHolds(&replica{Server: r.Server}); len(hs) != 0 {
		t.Fatalf("observe mode created holds: %+v", hs)
	}
	var pf api.PreflightResponse
	if code := getJSON(t, r.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusOK {
		t.Fatalf("observe mode refused a deploy: %d", code)
	}
	apis.SetLatency(0)
	eventually(t, "would_clear recorded", 20*time.Second, func() bool { return history(lock.ActionWouldClear) == 1 })
}
