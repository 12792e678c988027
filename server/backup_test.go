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

// docs/production.md's backup and restore, run as written against an
// embedded member: etcdctl snapshot save from its loopback client URL,
// snapshot restore into a new data dir with the member's name, peer URL and
// the cluster token scaplock uses; the restored replica serves the hold.
func TestSnapshotSaveAndRestore(t *testing.T) {
	etcdctlPath, err := exec.LookPath("etcdctl")
	if err != nil {
		t.Fatal("etcdctl not found: `make test` installs Debian's etcd-client")
	}
	etcdctl := func(args ...string) {
		t.Helper()
		cmd := exec.Command(etcdctlPath, args...)
		cmd.Env = []string{"ETCDCTL_API=3", "PATH=" + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	ports := freePorts(t, 2)
	peer, client := "http://"+ports[0], "http://"+ports[1]
	env := map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_REPLICA_NAME": "r1", "SCAPLOCK_ETCD_INITIAL_CLUSTER": "r1=" + peer,
		"SCAPLOCK_ETCD_CLIENT_URL": client, "SCAPLOCK_JWT_SECRET_FILE": secretFile, "SCAPLOCK_SCOPES": "eqiad",
	}
	ctx := context.Background()
	srv, err := servertest.Start(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := servertest.Token(secretFile, "alice", api.RoleSRE)
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, srv.URL()+"/api/v1/holds", tok, api.HoldBody{Scope: "eqiad", Reason: "kept by the backup"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	snapshot := filepath.Join(t.TempDir(), "scaplock.db")
	etcdctl("--endpoints", client, "snapshot", "save", snapshot)
	srv.Stop()

	restored := t.TempDir()
	etcdctl("snapshot", "restore", snapshot, "--name", "r1", "--data-dir", filepath.Join(restored, "etcd"),
		"--initial-cluster-token", "scaplock", "--initial-cluster", "r1="+peer, "--initial-advertise-peer-urls", peer)
	env["SCAPLOCK_DATA_DIR"] = restored
	srv, err = servertest.Start(ctx, env)
	if err != nil {
		t.Fatalf("start on the restored data: %v", err)
	}
	defer srv.Stop()
	var pf api.PreflightResponse
	if code := getJSON(t, srv.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusLocked || !strings.Contains(pf.Message, "kept by the backup") {
		t.Fatalf("preflight after the restore: %d %+v", code, pf)
	}
}
