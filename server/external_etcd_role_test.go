package server_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/servertest"
)

// The external etcd of docs/production.md: auth enabled, scaplock's user
// (its client certificate's CN) holding one role limited to its prefix,
// set up with Debian's etcdctl exactly as the guide says. scaplockd runs
// with that and nothing more; pointed at another prefix it is refused.
func TestExternalEtcdWithAPrefixRole(t *testing.T) {
	etcdctlPath, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Fatal("etcdctl not found: `make test` installs Debian's etcd-client")
	}
	c := writeCerts(t)
	endpoint := startDebianEtcd(t, c)
	etcdctl := func(args ...string) {
		t.Helper()
		cmd := exec.Command(etcdctlPath, append([]string{"--endpoints", endpoint, "--cacert", c.ca, "--cert", c.clientCert, "--key", c.clientKey}, args...)...)
		cmd.Env = []string{"ETCDCTL_API=3"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// docs/production.md, "External etcd": the same commands.
	etcdctl("user", "add", "root", "--new-user-password=root-secret")
	etcdctl("role", "add", "scaplock")
	etcdctl("role", "grant-permission", "scaplock", "--prefix=true", "readwrite", "/scaplock/")
	etcdctl("user", "add", "scaplock", "--no-password")
	etcdctl("user", "grant-role", "scaplock", "scaplock")
	etcdctl("--user", "root:root-secret", "auth", "enable")

	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	env := map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS": endpoint, "SCAPLOCK_ETCD_PREFIX": "/scaplock/",
		"SCAPLOCK_ETCD_CA_FILE": c.ca, "SCAPLOCK_ETCD_CERT_FILE": c.clientCert, "SCAPLOCK_ETCD_KEY_FILE": c.clientKey,
		"SCAPLOCK_JWT_SECRET_FILE": secretFile, "SCAPLOCK_SCOPES": "eqiad",
	}
	ctx := context.Background()
	// Outside its prefix the role grants nothing: the start fails.
	other := map[string]string{}
	for k, v := range env {
		other[k] = v
	}
	other["SCAPLOCK_ETCD_PREFIX"] = "/elsewhere/"
	if srv, err := servertest.Start(ctx, other); err == nil {
		srv.Stop()
		t.Fatal("started on a prefix the etcd role does not grant")
	} else if !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("error on a prefix outside the role: %v", err)
	}

	srv, err := servertest.Start(ctx, env)
	if err != nil {
		t.Fatalf("start with the prefix role: %v", err)
	}
	defer srv.Stop()
	token, err := servertest.Token(secretFile, "alice", api.RoleSRE)
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, srv.URL()+"/api/v1/holds", token, api.HoldBody{Scope: "eqiad", Reason: "with a role", Duration: "1h"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create with the prefix role: %d", resp.StatusCode)
	}
	var pf api.PreflightResponse
	if code := getJSON(t, srv.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusLocked {
		t.Fatalf("preflight with the prefix role: %d %+v", code, pf)
	}
	var st api.StatusResponse
	if getJSON(t, srv.URL()+"/api/v1/status", &st); st.Store.Topology != "external" || st.Store.Members != 1 {
		t.Errorf("status store %+v, want external with 1 member", st.Store)
	}
	if code := getJSON(t, srv.URL()+"/readyz", &map[string]any{}); code != 200 {
		t.Errorf("readyz with the prefix role: %d", code)
	}
}
