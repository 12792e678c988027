package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/api/token"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

func config(t *testing.T, env map[string]string) server.Config {
	t.Helper()
	cfg, err := servertest.Config(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"96MiB": 96 << 20, "1GiB": 1 << 30, "512KiB": 512 << 10, "100MB": 100e6, "2GB": 2e9, "4096": 4096, "10B": 10, "off": 0, "0": 0} {
		if got, err := server.ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.5GiB", "96mib", "96 MiB", "1TiB", "99999999999GiB", "lots"} {
		if got, err := server.ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, got)
		}
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]map[string]string{
		"SCAPLOCK_LISTEN":                    {"SCAPLOCK_LISTEN": "8080"},
		"SCAPLOCK_ANONYMOUS_READ":            {"SCAPLOCK_ANONYMOUS_READ": "maybe"},
		"SCAPLOCK_MAX_HOLD_DURATION":         {"SCAPLOCK_MAX_HOLD_DURATION": "forever"},
		"SCAPLOCK_ETCD_ENDPOINTS":            {"SCAPLOCK_ETCD_ENDPOINTS": "etcd1:2379"},
		"SCAPLOCK_ETCD_PREFIX":               {"SCAPLOCK_ETCD_PREFIX": "scaplock"},
		"SCAPLOCK_JWT_SECRET_FILE":           {"SCAPLOCK_JWT_SECRET_FILE": filepath.Join(dir, "missing")},
		"SCAPLOCK_GATE_MODE":                 {"SCAPLOCK_GATE_MODE": "sometimes"},
		"SCAPLOCK_ETCD_CA_FILE":              {"SCAPLOCK_ETCD_CA_FILE": "/etc/hostname"},
		"SCAPLOCK_MAX_OVERRIDE_DURATION":     {"SCAPLOCK_MAX_OVERRIDE_DURATION": "-1h"},
		"SCAPLOCK_LOG_LEVEL":                 {"SCAPLOCK_LOG_LEVEL": "loud"},
		"SCAPLOCK_SCOPES":                    {"SCAPLOCK_SCOPES": "eqiad,Codfw!"},
		"SCAPLOCK_ETCD_COMPACTION_RETENTION": {"SCAPLOCK_ETCD_COMPACTION_RETENTION": "soon"},
		"SCAPLOCK_READ_TIMEOUT":              {"SCAPLOCK_READ_TIMEOUT": "0s"},
		"SCAPLOCK_STREAM_STALL_TIMEOUT":      {"SCAPLOCK_STREAM_STALL_TIMEOUT": "-1s"},
		"SCAPLOCK_MAX_STREAMS":               {"SCAPLOCK_MAX_STREAMS": "0"},
		"SCAPLOCK_JWT_MAX_TTL":               {"SCAPLOCK_JWT_MAX_TTL": "0s"},
		"SCAPLOCK_MEMORY_LIMIT":              {"SCAPLOCK_MEMORY_LIMIT": "96 megs"},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := server.LoadConfig(context.Background(), env)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		})
	}
	// Several mistakes: the same variable is named first every time.
	several := map[string]string{
		"SCAPLOCK_ETCD_ENDPOINTS": "http://127.0.0.1:2379", "SCAPLOCK_JWT_SECRET_FILE": filepath.Join(dir, "missing"),
		"SCAPLOCK_ETCD_CA_FILE": filepath.Join(dir, "missing-ca"), "SCAPLOCK_CLUSTERS_FILE": filepath.Join(dir, "missing-clusters"),
		"SCAPLOCK_MAX_HOLD_DURATION": "-1h", "SCAPLOCK_HISTORY_MAX_AGE": "-1h", "SCAPLOCK_SHUTDOWN_TIMEOUT": "-1s",
	}
	for range 20 {
		_, err := server.LoadConfig(context.Background(), several)
		if err == nil || !strings.HasPrefix(err.Error(), "SCAPLOCK_ETCD_CA_FILE:") {
			t.Fatalf("with several mistakes the error is %v, want SCAPLOCK_ETCD_CA_FILE first, every time", err)
		}
	}
	cfg, err := server.LoadConfig(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":8080" || cfg.DataDir != "./scaplock-data" || cfg.EtcdPrefix != "/scaplock/" || !cfg.AnonymousRead || cfg.MaxHoldDuration != 7*24*time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func start(t *testing.T, cfg server.Config, opts ...server.Option) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), cfg, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func post(t *testing.T, url, token string, body any) *http.Response {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Stop the server and start it again on the same data dir: holds, history
// and the generated secret survive.
func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := config(t, map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_SCOPES": "eqiad,codfw"})
	srv := start(t, cfg)
	info, err := os.Stat(srv.SecretFile)
	if err != nil || info.Mode().Perm() != 0o600 || filepath.Dir(srv.SecretFile) != dir {
		t.Fatalf("generated secret: %v %v", info, err)
	}
	secret, err := token.ReadSecret(srv.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := token.SignHS256(secret, "alice", []string{api.RoleSRE}, time.Hour, time.Now())
	resp := post(t, srv.URL()+"/api/v1/holds", token, api.HoldBody{Scope: "global", Reason: "survives restarts"})
	var h lock.Hold
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	again := start(t, cfg)
	defer again.Stop()
	got, err := again.Store().Get(h.ID)
	if err != nil || got.Reason != "survives restarts" || got.Revision != h.Revision {
		t.Fatalf("hold after restart: %+v, %v", got, err)
	}
	page, err := again.Store().History(context.Background(), lock.HistoryQuery{})
	if err != nil || len(page.Events) != 1 || page.Events[0].Hold.ID != h.ID {
		t.Fatalf("history after restart: %+v, %v", page.Events, err)
	}
	// The same secret still verifies, and preflight refuses from the cache.
	resp = post(t, again.URL()+"/api/v1/holds", token, api.HoldBody{Scope: "eqiad", Reason: "second"})
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("token from before the restart: %d", resp.StatusCode)
	}
	pf, err := http.Get(again.URL() + "/api/v1/preflight?scope=codfw")
	if err != nil {
		t.Fatal(err)
	}
	pf.Body.Close()
	if pf.StatusCode != http.StatusLocked {
		t.Fatalf("preflight after restart: %d", pf.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		r, err := http.Get(again.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
	}
}

// Shutdown ends event streams instead of waiting for them, within the timeout.
func TestShutdownDrainsStreams(t *testing.T) {
	srv := start(t, config(t, map[string]string{"SCAPLOCK_DATA_DIR": t.TempDir()}))
	resp, err := http.Get(srv.URL() + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() { done <- srv.Stop() }()
	select {
	case err := <-done:
		// A stream that held shutdown up would make Shutdown time out.
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown hung on an open event stream")
	}
}

// A setting this version removed stops the start, naming it, instead of
// being ignored.
func TestRemovedSettingIsRefused(t *testing.T) {
	_, err := server.LoadConfig(context.Background(), map[string]string{"SCAPLOCK_READ_LEASE": "2s"})
	want := "SCAPLOCK_READ_LEASE: no longer exists: every answer goes through the read barrier, which trusts no clock (README: Verdicts); delete the setting"
	if err == nil || err.Error() != want {
		t.Fatalf("SCAPLOCK_READ_LEASE=2s: %v, want %q", err, want)
	}
}

// Duration settings take whole days as the CLI and the API do.
func TestDurationSettingsTakeDays(t *testing.T) {
	cfg, err := server.LoadConfig(context.Background(), map[string]string{"SCAPLOCK_MAX_HOLD_DURATION": "7d", "SCAPLOCK_HISTORY_MAX_AGE": "90d"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxHoldDuration != 7*24*time.Hour || cfg.HistoryMaxAge != 90*24*time.Hour {
		t.Fatalf("7d and 90d read as %s and %s", cfg.MaxHoldDuration, cfg.HistoryMaxAge)
	}
	_, err = server.LoadConfig(context.Background(), map[string]string{"SCAPLOCK_MAX_HOLD_DURATION": "7x"})
	if err == nil || !strings.Contains(err.Error(), "SCAPLOCK_MAX_HOLD_DURATION") {
		t.Fatalf("SCAPLOCK_MAX_HOLD_DURATION=7x: %v, want an error naming it", err)
	}
}
