package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/api/token"
	"github.com/scaplock/scaplock/lock"
)

// do is one raw API call; it returns the status and the decoded error body.
func do(t *testing.T, method, url, token string, body any) (int, api.ErrorBody, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	return resp.StatusCode, eb, raw
}

// The service knows global, its clusters file's clusters and
// SCAPLOCK_SCOPES; any other scope is 400 naming the known ones, and
// nothing is written.
func TestUnknownScopesAreRejected(t *testing.T) {
	dir := t.TempDir()
	clusters := filepath.Join(dir, "clusters.yaml")
	os.WriteFile(clusters, []byte("mode: observe\nclusters:\n  - name: eqiad\n    apiservers:\n      - url: https://127.0.0.1:1\n"), 0o600)
	cfg := config(t, map[string]string{
		"SCAPLOCK_DATA_DIR": filepath.Join(dir, "data"), "SCAPLOCK_SCOPES": "codfw",
		"SCAPLOCK_CLUSTERS_FILE": clusters,
	})
	srv := start(t, cfg)
	defer srv.Stop()
	secret, err := token.ReadSecret(srv.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := token.SignHS256(secret, "alice", []string{api.RoleSRE, api.RoleDeployer}, 3600e9, srv.Store().Now())
	const want = `unknown scope "eqaid" (known: global, eqiad, codfw)`

	cases := []struct {
		name, method, path string
		body               any
	}{
		{"preflight", http.MethodGet, "/api/v1/preflight?scope=eqiad&scope=eqaid", nil},
		{"lock", http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "eqaid", Reason: "typo"}},
		{"deploy", http.MethodPost, "/api/v1/deploys", api.DeployBody{Scope: "eqaid", Reason: "typo"}},
		{"override", http.MethodPost, "/api/v1/overrides", api.HoldBody{Scope: "eqaid", Reason: "typo", Duration: "1h"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, eb, raw := do(t, tc.method, srv.URL()+tc.path, tok, tc.body)
			if code != http.StatusBadRequest || eb.Error.Field != "scope" || !strings.Contains(eb.Error.Message, want) {
				t.Fatalf("want 400 on field scope with %q, got %d %s", want, code, raw)
			}
		})
	}
	if snap := srv.Store().Snapshot(); len(snap.Holds) != 0 {
		t.Errorf("an unknown scope wrote holds: %+v", snap.Holds)
	}
	page, err := srv.Store().History(context.Background(), lock.HistoryQuery{})
	if err != nil || len(page.Events) != 0 {
		t.Errorf("an unknown scope wrote history: %+v %v", page.Events, err)
	}
	// Every known scope is accepted.
	for _, s := range []string{"global", "eqiad", "codfw"} {
		if code, _, raw := do(t, http.MethodGet, srv.URL()+"/api/v1/preflight?scope="+s, tok, nil); code != http.StatusOK {
			t.Errorf("preflight %s: %d %s", s, code, raw)
		}
	}
}

// A hold on a scope that is no longer configured stays visible and still
// refuses, and can be released; new holds there are refused.
func TestHoldOnDroppedScopeStillCounts(t *testing.T) {
	dir := t.TempDir()
	cfg := config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_SCOPES": "eqiad,codfw"})
	srv := start(t, cfg)
	secret, _ := token.ReadSecret(srv.SecretFile)
	tok, _ := token.SignHS256(secret, "alice", []string{api.RoleSRE}, 3600e9, srv.Store().Now())
	code, _, raw := do(t, http.MethodPost, srv.URL()+"/api/v1/holds", tok, api.HoldBody{Scope: "codfw", Reason: "before the rename"})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	var h lock.Hold
	json.Unmarshal(raw, &h)
	srv.Stop()

	cfg = config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_SCOPES": "eqiad"})
	again := start(t, cfg)
	defer again.Stop()
	var st api.StatusResponse
	if code, _, raw := do(t, http.MethodGet, again.URL()+"/api/v1/status", tok, nil); code != 200 || json.Unmarshal(raw, &st) != nil {
		t.Fatalf("status: %d %s", code, raw)
	}
	if len(st.Holds) != 1 || st.Holds[0].ID != h.ID {
		t.Fatalf("the hold on codfw is not visible: %+v", st.Holds)
	}
	// global touches every cluster, codfw too: refused by the old hold.
	if code, _, raw := do(t, http.MethodGet, again.URL()+"/api/v1/preflight?scope=global", tok, nil); code != http.StatusLocked || !strings.Contains(string(raw), "before the rename") {
		t.Fatalf("preflight global should be refused by the codfw hold: %d %s", code, raw)
	}
	if code, _, _ := do(t, http.MethodPost, again.URL()+"/api/v1/holds", tok, api.HoldBody{Scope: "codfw", Reason: "new"}); code != http.StatusBadRequest {
		t.Fatalf("new hold on a dropped scope: %d, want 400", code)
	}
	if code, _, raw := do(t, http.MethodDelete, again.URL()+"/api/v1/holds/"+h.ID, tok, api.ReleaseBody{Reason: "cleanup"}); code != http.StatusOK {
		t.Fatalf("release on a dropped scope: %d %s", code, raw)
	}
}
