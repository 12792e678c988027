package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server/gate"
	"github.com/scaplock/scaplock/server/servertest"
)

// The leader is a real scaplockd process killed with SIGKILL mid-outage: it
// neither resigns nor releases anything. Its election lease lapses, the
// other replica takes over, and deploys stay held by the same single hold.
func TestGateSurvivesLeaderKill(t *testing.T) {
	bin := servertest.Build(t, servertest.Scaplockd)
	e := locktest.StartEtcd(t, "")
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	apis := newAPIServer(t)
	clusters := clustersFile(t, apis, "enforce")

	doomed := exec.Command(bin)
	doomed.Env = append(os.Environ(),
		"SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS="+e.Endpoint,
		"SCAPLOCK_JWT_SECRET_FILE="+secretFile, "SCAPLOCK_CLUSTERS_FILE="+clusters, "SCAPLOCK_REPLICA_NAME=doomed")
	if err := doomed.Start(); err != nil {
		t.Fatal(err)
	}
	defer doomed.Process.Kill()
	view := gate.NewView(lock.NewKeys("/scaplock/"), nil)
	locktest.OpenStore(t, e.Client(t), lock.Options{Parts: view.Parts()})
	eventually(t, "the subprocess leads", 20*time.Second, func() bool { _, leader := view.Reports(); return leader == "doomed" })

	b := startReplica(t, e, secretFile, clusters, "survivor", nil)
	defer b.Stop()
	apis.SetLatency(350 * time.Millisecond)
	eventually(t, "auto hold appears", 20*time.Second, func() bool { return len(autoHolds(b)) == 1 })
	held := autoHolds(b)[0]

	if err := doomed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	doomed.Wait()
	eventually(t, "the survivor leads after the session lease lapses", 30*time.Second, func() bool { return leader(t, b) == "survivor" })
	before := apis.Requests()
	eventually(t, "the survivor probes", 10*time.Second, func() bool { return apis.Requests() > before+2 })
	if hs := autoHolds(b); len(hs) != 1 || hs[0].ID != held.ID || !hs[0].CreatedAt.Equal(held.CreatedAt) {
		t.Fatalf("after the kill: %+v, want the same single hold %s", hs, held.ID)
	}
	created, err := b.Store().History(context.Background(), lock.HistoryQuery{Kind: lock.KindAuto, Action: lock.ActionCreated})
	if err != nil || len(created.Events) != 1 {
		t.Fatalf("%d auto holds created (%v), want 1", len(created.Events), err)
	}
	apis.SetLatency(0)
	eventually(t, "the survivor releases after recovery", 20*time.Second, func() bool { return len(autoHolds(b)) == 0 })
}
