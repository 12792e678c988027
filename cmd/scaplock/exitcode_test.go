package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server/servertest"
)

// Every row of the exit-code table against a real scaplockd: preflight
// and run, with and without --fail-open, which may open only exit 2.
func TestExitCodeTable(t *testing.T) {
	ctx := context.Background()
	sre, deployer := as(t, "ec-sre", "sre"), as(t, "ec-dep", "deployer")
	r := scaplock(ctx, sre, "lock", "--scope", "ec-codfw", "--reason", "exit code table")
	wantCode(t, r, exitOK)
	defer scaplock(ctx, sre, "unlock", strings.TrimSpace(r.stdout), "--reason", "cleanup")

	with := func(env map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		want   int
		stderr string
	}{
		{"allowed", deployer, []string{"preflight", "--scope", "ec-eqiad"}, exitOK, ""},
		{"refused by a hold (423)", deployer, []string{"preflight", "--scope", "ec-codfw"}, exitRefused, "locked by ec-sre"},
		{"refused through global", deployer, []string{"preflight", "--scope", "global"}, exitRefused, "locked by ec-sre"},
		{"unreachable", with(deployer, "SCAPLOCK_URL", closedURL(t)), []string{"preflight", "--scope", "ec-eqiad"}, exitUnsure, "connection refused"},
		{"timeout", deployer, []string{"preflight", "--scope", "ec-eqiad", "--timeout", "1ns"}, exitUnsure, "no answer from"},
		{"bad flag", deployer, []string{"preflight", "--scopes", "ec-eqiad"}, exitMisuse, "scaplock preflight: unknown flag --scopes\n"},
		{"bad --url", with(deployer, "SCAPLOCK_URL", "localhost:8080"), []string{"preflight", "--scope", "ec-eqiad"}, exitMisuse, "--url"},
		{"malformed scope (400)", deployer, []string{"preflight", "--scope", "EQIAD!"}, exitMisuse, "scope"},
		{"unknown scope (400)", deployer, []string{"preflight", "--scope", "eqaid"}, exitMisuse, `unknown scope "eqaid" (known: global, `},
		{"no token (401)", nil, []string{"preflight", "--scope", "ec-eqiad"}, exitMisuse, "unauthorized"},
		{"bad token (401)", map[string]string{"SCAPLOCK_TOKEN": "garbage"}, []string{"preflight", "--scope", "ec-eqiad"}, exitMisuse, "unauthorized"},
		{"wrong URL (404)", with(deployer, "SCAPLOCK_URL", srv.URL()+"/not-scaplock"), []string{"preflight", "--scope", "ec-eqiad"}, exitMisuse, "not found"},
		{"run: refused (423)", deployer, []string{"run", "--scope", "ec-codfw", "--", "true"}, exitRunRefused, "locked by ec-sre"},
		// --retry-for 0: retrying for 30s gives another test time to take the closed port.
		{"run: unreachable", with(deployer, "SCAPLOCK_URL", closedURL(t)), []string{"run", "--retry-for", "0", "--scope", "ec-eqiad", "--", "true"}, exitRunUnsure, "connection refused"},
		{"run: role missing (403)", sre, []string{"run", "--scope", "ec-eqiad", "--", "true"}, exitRunMisuse, "lacks role deployer"},
		{"run: unknown scope (400)", deployer, []string{"run", "--scope", "eqaid", "--", "true"}, exitRunMisuse, `unknown scope "eqaid"`},
		{"lock: role missing (403)", deployer, []string{"lock", "--scope", "ec-eqiad", "--reason", "x"}, exitMisuse, "lacks role sre"},
		{"lock: unknown scope (400)", sre, []string{"lock", "--scope", "eqaid", "--reason", "x"}, exitMisuse, `unknown scope "eqaid"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scaplock(ctx, tc.env, tc.args...)
			wantCode(t, r, tc.want)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, r)
			}
			if tc.args[0] != "preflight" {
				return
			}
			r = scaplock(ctx, tc.env, append(tc.args, "--fail-open")...)
			want := tc.want
			if want == exitUnsure {
				want = exitOK
			}
			wantCode(t, r, want)
			if tc.want == exitUnsure && !strings.Contains(r.stderr, "WARNING: --fail-open") {
				t.Errorf("--fail-open must warn: %s", r)
			}
		})
	}
}

// A real scaplockd whose etcd is gone answers 503: exit 2, and only then
// may --fail-open open it.
func TestExitCodeStoreDown(t *testing.T) {
	cluster := locktest.StartClusterT(t, 1)
	client := cluster.Endpoints()[0]
	stopEtcd := func() { cluster.Kill(0) }

	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var down interface{ Stop() error }
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := servertest.Start(ctx, map[string]string{
			"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS": client, "SCAPLOCK_JWT_SECRET_FILE": secretFile,
		})
		if err == nil {
			down, url = s, s.URL()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaplockd on Debian's etcd did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { down.Stop() })
	tok, err := servertest.Token(secretFile, "ec-dep", "deployer")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SCAPLOCK_URL": url, "SCAPLOCK_TOKEN": tok}
	wantCode(t, scaplock(ctx, env, "preflight", "--scope", "global"), exitOK)

	stopEtcd()
	// The service says 503 once it can no longer confirm its cache (3s).
	deadline = time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/preflight?scope=global", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("scaplockd never answered 503 after its etcd was killed")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := scaplock(ctx, env, "preflight", "--scope", "global", "--timeout", "10s")
	wantCode(t, r, exitUnsure)
	if !strings.Contains(r.stderr, "could not decide") || !strings.Contains(r.stderr, "HTTP 503") {
		t.Errorf("stderr should say the store is down: %s", r)
	}
	r = scaplock(ctx, env, "preflight", "--scope", "global", "--timeout", "10s", "--fail-open")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "WARNING: --fail-open") {
		t.Errorf("--fail-open must warn: %s", r)
	}
}
