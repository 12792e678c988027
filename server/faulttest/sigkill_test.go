package faulttest

import (
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
)

// burst creates are sent to the doomed replica burstLead before the kill,
// so that the kill finds some of them under way.
const (
	burst     = 16
	burstLead = 4 * time.Millisecond
)

// A replica process killed with SIGKILL in the middle of a write load on
// two replica processes, whose clients retry with the same
// Idempotency-Key on the other replica as the CLI does: every acknowledged
// create is there unless its release was acknowledged, no retry makes a
// second hold, each change is in the history once, no two deploys of one
// scope overlap, the survivor keeps answering, and the killed replica
// restarted on its data dir serves the same state.
func TestReplicaSIGKILLUnderLoad(t *testing.T) {
	f := newFixture(t, 0)
	bin := scaplockd(t)
	start := func(name, dir string) *proc { return f.replicaProcess(t, bin, name, dir) }
	doomedDir := t.TempDir()
	doomed, survivor := start("doomed", doomedDir), start("survivor", t.TempDir())
	urls := []string{doomed.url(t, 30*time.Second), survivor.url(t, 30*time.Second)}

	var (
		killed  atomic.Int64 // UnixNano of the kill; 0 before
		retries atomic.Int64 // answers not taken (no answer, 503) after the kill
		replays atomic.Int64 // creates the doomed replica committed but never answered
		ackedOn atomic.Int64 // writes acknowledged after the kill
	)
	l := &load{t: t, urls: urls, token: f.sre, holdScope: "kill", deployScope: "killdep", observe: func(w loadWrite) {
		if killed.Load() == 0 {
			return
		}
		if len(w.skipped) > 0 && w.acked && w.created.UnixNano() < killed.Load() {
			replays.Add(1) // the retry on the survivor found the hold, not wrote it again
		}
		retries.Add(int64(len(w.skipped) + len(w.releaseSkipped)))
		if w.acked {
			ackedOn.Add(1)
		}
	}}
	l.start(3, 2)
	time.Sleep(1500 * time.Millisecond)
	// A burst of creates on the doomed replica just before the kill: the
	// ones etcd committed but the replica never answered must be found by
	// their retries on the survivor, not written again.
	fire := make(chan struct{})
	for n := range burst {
		l.wg.Go(func() {
			<-fire
			l.add(l.create(fmt.Sprintf("%s burst %d", t.Name(), n), 0))
		})
	}
	close(fire)
	time.Sleep(burstLead)
	pid := doomed.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Store(time.Now().UnixNano())
	if !doomed.exited(10 * time.Second) {
		t.Fatalf("scaplockd pid %d still runs after SIGKILL", pid)
	}
	t.Logf("killed replica pid %d with SIGKILL after %d writes", pid, l.count())

	// The survivor answers preflight and writes while the load goes on.
	if p := call(urls[1], "GET", "/api/v1/preflight?scope=eqiad", "", "", nil); p.status != http.StatusOK {
		t.Errorf("survivor's preflight after the kill: %s", p)
	}
	if c := call(urls[1], "POST", "/api/v1/holds", f.sre, newKey(), api.HoldBody{Scope: "eqiad", Reason: "after the kill"}); c.status != http.StatusCreated {
		t.Errorf("survivor's write after the kill: %s", c)
	}
	time.Sleep(2500 * time.Millisecond)
	writes := l.stop()
	if t.Failed() {
		return
	}
	t.Logf("%d writes; after the kill %d acknowledged, %d answers retried on the other replica, "+
		"%d creates committed by the killed replica answered on retry by the survivor", len(writes), ackedOn.Load(), retries.Load(), replays.Load())
	if ackedOn.Load() == 0 || retries.Load() == 0 {
		t.Fatal("the load did not go on through the survivor after the kill")
	}

	restarted := start("doomed", doomedDir)
	again := restarted.url(t, 30*time.Second)
	l.check(urls[1])
	before, after := status(t, urls[1], 10*time.Second), status(t, again, 10*time.Second)
	if a, b := holdIDs(before), holdIDs(after); !slices.Equal(a, b) {
		t.Errorf("restarted replica serves holds %v, the survivor %v", b, a)
	}
	for _, scope := range []string{"kill", "killdep", "eqiad"} {
		a := call(urls[1], "GET", "/api/v1/preflight?scope="+scope, "", "", nil)
		b := call(again, "GET", "/api/v1/preflight?scope="+scope, "", "", nil)
		if a.status != b.status || (a.status != http.StatusOK && a.status != http.StatusLocked) {
			t.Errorf("preflight %s: survivor %s, restarted %s", scope, a, b)
		}
	}
}

// holdIDs are the ids of a status's holds, sorted.
func holdIDs(st api.StatusResponse) []string {
	var ids []string
	for _, h := range st.Holds {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}
