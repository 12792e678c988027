package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// documentedMetrics are the metric names docs/metrics.md lists in its tables.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	// The scap bridge's metrics are the bridge's, not scaplockd's.
	doc, _, _ := strings.Cut(string(raw), "\n## scap bridge")
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(scaplock_[a-z_]+)`").FindAllStringSubmatch(doc, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

// A live scaplockd with a gate watching the demo's control plane exports
// exactly the metrics docs/metrics.md lists, and promtool accepts them.
func TestMetricsMatchTheReference(t *testing.T) {
	dir := t.TempDir()
	d, err := server.StartDemo(server.DefaultDemo)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg := config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_SCOPES": "codfw,md-eqiad"})
	cfg.Build = server.ReadBuildInfo("v9.9.9-test", "")
	var logBuf healthtest.SyncBuffer
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(&logBuf, nil)), server.WithGate(d.Gate))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	// One embedded etcd alone: said in the start log and the status.
	if !strings.Contains(logBuf.String(), "single-node store") {
		t.Errorf("the start log does not say single-node store:\n%s", logBuf.String())
	}
	var st api.StatusResponse
	if getJSON(t, srv.URL()+"/api/v1/status", &st); st.Store.Topology != "embedded-single" || st.Store.Members != 1 {
		t.Errorf("status store %+v, want embedded-single with 1 member", st.Store)
	}
	tok, err := servertest.Token(srv.SecretFile, "alice", api.RoleSRE)
	if err != nil {
		t.Fatal(err)
	}
	post(t, srv.URL()+"/api/v1/holds", tok, api.HoldBody{Scope: "codfw", Reason: "for the metric"}).Body.Close()
	http.Get(srv.URL() + "/api/v1/preflight?scope=codfw")
	releaseDeployWithOutcome(t, srv)

	var text []byte
	eventually(t, "every signal gauge has a value", 30*time.Second, func() bool {
		resp, err := http.Get(srv.URL() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		text, _ = io.ReadAll(resp.Body)
		return bytes.Contains(text, []byte("scaplock_apiserver_nic_egress_peak_ratio{"))
	})
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for name := range families {
		if strings.HasPrefix(name, "scaplock_") {
			live = append(live, name)
		}
	}
	sort.Strings(live)
	doc := documentedMetrics(t)
	for _, n := range live {
		if !slices.Contains(doc, n) {
			t.Errorf("%s is exported but not in docs/metrics.md", n)
		}
	}
	for _, n := range doc {
		if !slices.Contains(live, n) {
			t.Errorf("docs/metrics.md lists %s, which /metrics does not export", n)
		}
	}
	if !bytes.Contains(text, []byte(`scaplock_build_info{goversion="go`)) || !bytes.Contains(text, []byte(`version="v9.9.9-test"`)) {
		t.Errorf("build info missing from /metrics")
	}
	if !bytes.Contains(text, []byte(`scaplock_store_members{topology="embedded-single"} 1`)) {
		t.Errorf("store topology missing from /metrics")
	}

	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// releaseDeployWithOutcome runs one deploy's hold to a release with an
// outcome, so that the deploy metrics have their series.
func releaseDeployWithOutcome(t *testing.T, srv *server.Server) {
	t.Helper()
	tok, err := servertest.Token(srv.SecretFile, "dana", api.RoleDeployer)
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, srv.URL()+"/api/v1/deploys", tok, api.DeployBody{Scope: "md-eqiad", Reason: "sync-prod-k8s"})
	var h apiv1.Hold
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy: HTTP %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, srv.URL()+"/api/v1/deploys/"+h.ID,
		strings.NewReader(`{"reason":"finished: exit 0","outcome":"succeeded","exit_code":0,"duration_s":210}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("release: %v %v", resp, err)
	}
	resp.Body.Close()
}
