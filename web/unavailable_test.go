package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/lock/locktest"
)

// TestPageSaysWhenTheServiceCannotDecide: scaplockd stays up but loses its
// etcd, so it answers 503; the page says the service cannot decide, and why,
// instead of showing a verdict it no longer has.
func TestPageSaysWhenTheServiceCannotDecide(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, map[string]string{"SCAPLOCK_ETCD_ENDPOINTS": e.Endpoint, "SCAPLOCK_JWT_SECRET_FILE": secret})
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)

	b.forgive("the server responded with a status of 503")
	e.Close()
	waitFor(t, b, "cannot decide", `document.getElementById("conn").textContent.startsWith("service cannot decide since ") && document.getElementById("conn").textContent.includes("etcd not confirmed")`, 20*time.Second)
	if !eval[bool](t, b, `document.body.classList.contains("stale")`) {
		t.Error("the last known state is not marked stale")
	}
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
