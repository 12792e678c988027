package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Generous bounds: correctness, not speed (the speed is in make bench).
const (
	bridgeReacts = 10 * time.Second
	scapWaits    = "30" // a sync's --timeout, seconds
)

// Unmodified scap against the real bridge and a real scaplockd: allowed,
// refused with scaplock's reason, the reason amended, allowed again.
func TestBridgeHoldsScapsLockWhileRefused(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	// A bridge that died left its JSON (its record lock died with it).
	stale := `{"locker":"scaplock","pid":999999,"timestamp_utc":"2026-01-01T00:00:00Z","reason":"stale"}`
	if err := os.WriteFile(p.lock, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, s.URL(), s.reader, p) // default scope: global
	b.waitState(t, stateIdle, bridgeReacts)
	if raw, _ := os.ReadFile(p.lock); string(raw) != "{}" {
		t.Errorf("a stale scaplock entry must be reset at start, got %q", raw)
	}

	if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 || !strings.Contains(out, "acquired the global lock") {
		t.Fatalf("allowed: a sync must acquire at once: exit %d %s", code, out)
	}

	created := time.Now()
	h := s.lock(t, "eqiad", "T1: bridge test") // eqiad refuses global (sync-world) too
	v := b.waitState(t, stateHolding, bridgeReacts)
	t.Logf("hold created -> bridge holding: %s", time.Since(created))
	if !strings.Contains(v.Reason, `"T1: bridge test"`) || !strings.Contains(v.Reason, "status: http://scaplock.example/") {
		t.Errorf("reason lacks the hold's reason or the status URL: %q", v.Reason)
	}
	code, out := scap(t, p, "sync", "--timeout", "1")
	pid := strconv.Itoa(b.cmd.Process.Pid)
	want := "global lock is locked by scaplock (pid " + pid + ") on "
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, `reason is "deploys to global are refused: locked by br-sre; eqiad: "T1: bridge test"`) {
		t.Fatalf("refused: the sync must wait on scaplock's reason and time out: exit %d\n%s", code, out)
	}
	if strings.Contains(out, " ago,") {
		t.Errorf("the reason in the file carries a relative age that goes stale: %s", out)
	}
	if m := b.metrics(t); !strings.Contains(m, `scaplock_bridge_state{state="holding"} 1`) || !strings.Contains(m, "scaplock_bridge_lock_held 1") {
		t.Errorf("metrics do not say holding:\n%s", m)
	}
	if got := lockFileContent(t, p); got.Locker != "scaplock" || got.PID != b.cmd.Process.Pid || got.TimestampUTC == "" {
		t.Errorf("lock file: %+v", got)
	}

	// Amended: a sync waiting already sees the new reason.
	waiting := startScap(t, p, "sync", "--timeout", scapWaits)
	waiting.waitOutput(t, `"T1: bridge test"`, bridgeReacts)
	s.amend(t, h.ID, "T2: amended")
	waiting.waitOutput(t, `"T2: amended"`, bridgeReacts)

	// Released: the waiting sync goes ahead, and the file is {} again.
	s.unlock(t, h.ID)
	waiting.waitOutput(t, "acquired the global lock", bridgeReacts)
	if code := waiting.wait(t, bridgeReacts); code != 0 {
		t.Errorf("the waiting sync exited %d: %s", code, waiting.out.String())
	}
	b.waitState(t, stateIdle, bridgeReacts)
	if raw, _ := os.ReadFile(p.lock); string(raw) != "{}" {
		t.Errorf("lock file after release: %q, want {}", raw)
	}
	if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 {
		t.Errorf("allowed again: exit %d %s", code, out)
	}
}

// A person's exclusive lock is never taken away: the bridge waits, says
// so, and takes over only once the person lets go. Running syncs (shared
// locks) finish first.
func TestBridgeNeverTakesAPersonsLock(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	b := startBridge(t, s.URL(), s.reader, p, "--scope", "codfw")
	b.waitState(t, stateIdle, bridgeReacts)

	person := startScap(t, p, "lock", "--user", "alice", "--reason", "alice's maintenance")
	person.waitOutput(t, "locked", bridgeReacts)
	h := s.lock(t, "codfw", "T3: while alice holds scap's lock")

	v := b.waitState(t, stateWaiting, bridgeReacts)
	if v.BlockedBy == nil || !v.BlockedBy.Exclusive || v.BlockedBy.PID != person.cmd.Process.Pid {
		t.Errorf("state should name alice's exclusive lock (pid %d): %+v", person.cmd.Process.Pid, v.BlockedBy)
	}
	if m := b.metrics(t); !strings.Contains(m, `scaplock_bridge_lock_blocked{by="exclusive"} 1`) || !strings.Contains(m, `scaplock_bridge_state{state="waiting"} 1`) {
		t.Errorf("metrics do not say waiting on an exclusive lock:\n%s", m)
	}
	time.Sleep(2 * time.Second) // several retries and polls later: still alice's
	if got := lockFileContent(t, p); got.Locker != "alice" || got.Reason != "alice's maintenance" {
		t.Fatalf("the person's lock file was touched: %+v", got)
	}
	if code, out := scap(t, p, "sync", "--timeout", "1"); code != 1 || !strings.Contains(out, "locked by alice") {
		t.Errorf("a sync must see alice's lock: exit %d %s", code, out)
	}
	if !strings.Contains(b.log.String(), "never taking it away") {
		t.Errorf("the log does not say it waits for another lock:\n%s", b.log.String())
	}

	// alice lets go: the bridge takes over with scaplock's reason.
	person.cmd.Process.Signal(os.Interrupt)
	person.wait(t, bridgeReacts)
	b.waitState(t, stateHolding, bridgeReacts)
	if got := lockFileContent(t, p); got.Locker != "scaplock" || !strings.Contains(got.Reason, "T3: while alice holds") {
		t.Errorf("after alice: %+v", got)
	}
	s.unlock(t, h.ID)
	b.waitState(t, stateIdle, bridgeReacts)

	// A running sync holds the lock shared: the bridge waits for it to end.
	running := startScap(t, p, "sync", "--timeout", "5", "--hold", "3")
	running.waitOutput(t, "acquired the global lock", bridgeReacts)
	h = s.lock(t, "codfw", "T4: during a sync")
	v = b.waitState(t, stateWaiting, bridgeReacts)
	if v.BlockedBy == nil || v.BlockedBy.Exclusive {
		t.Errorf("state should name a shared lock: %+v", v.BlockedBy)
	}
	if code := running.wait(t, 30*time.Second); code != 0 {
		t.Errorf("the running sync was disturbed: exit %d %s", code, running.out.String())
	}
	b.waitState(t, stateHolding, bridgeReacts)
}

// scap lock --unlock-all: acknowledged, released, and the bridge stays out
// until the refusal changes.
func TestBridgeHonoursUnlockAll(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	b := startBridge(t, s.URL(), s.reader, p)
	b.waitState(t, stateIdle, bridgeReacts)
	h := s.lock(t, "global", "T5: frozen")
	b.waitState(t, stateHolding, bridgeReacts)

	code, out := scap(t, p, "unlock-all", "--user", "bob", "--reason", "urgent security fix")
	if code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("unlock-all: exit %d %s", code, out)
	}
	v := b.waitState(t, stateReleasedByPerson, bridgeReacts)
	if v.ReleasedBy == nil || v.ReleasedBy.Releaser != "bob" || v.ReleasedBy.Reason != "urgent security fix" {
		t.Errorf("state does not say who released and why: %+v", v.ReleasedBy)
	}
	if log := b.log.String(); !strings.Contains(log, "releaser=bob") || !strings.Contains(log, `why="urgent security fix"`) {
		t.Errorf("the log does not say who asked and why:\n%s", log)
	}
	for _, f := range []string{p.signal, p.ack} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
	// Polls and events later the bridge still stays out: syncs go ahead.
	time.Sleep(2500 * time.Millisecond)
	if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 {
		t.Fatalf("after unlock-all a sync must go ahead: exit %d %s", code, out)
	}
	if st := b.state(t).State; st != stateReleasedByPerson {
		t.Fatalf("the bridge re-grabbed the lock behind the person's back: %s", st)
	}
	// The refusal changes (a new reason): the bridge holds again.
	s.amend(t, h.ID, "T5: frozen, and now for a new reason")
	v = b.waitState(t, stateHolding, bridgeReacts)
	if !strings.Contains(v.Reason, "now for a new reason") {
		t.Errorf("reason: %q", v.Reason)
	}
	// Nothing to release: scap says so and no signal is sent.
	s.unlock(t, h.ID)
	b.waitState(t, stateIdle, bridgeReacts)
	if code, out := scap(t, p, "unlock-all", "--reason", "x"); code != 0 || !strings.Contains(out, "no global lock") {
		t.Errorf("unlock-all with nothing locked: exit %d %s", code, out)
	}
}

func TestBridgeReleasesOnSIGTERM(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	b := startBridge(t, s.URL(), s.reader, p)
	h := s.lock(t, "global", "T6: until SIGTERM")
	defer s.unlock(t, h.ID)
	b.waitState(t, stateHolding, bridgeReacts)
	if code := b.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
	if raw, _ := os.ReadFile(p.lock); string(raw) != "{}" {
		t.Errorf("lock file after SIGTERM: %q, want {}", raw)
	}
	if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 {
		t.Errorf("after SIGTERM a sync must acquire: exit %d %s", code, out)
	}
}

// The service goes away: within the grace nothing changes, then open
// releases what was allowed (never what it last knew refused) and closed
// holds, loudly.
func TestBridgeUnreachable(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	t.Run("open", func(t *testing.T) {
		t.Parallel()
		s := startBridgeServer(t)
		p := newScapPaths(t)
		b := startBridge(t, s.URL(), s.reader, p, "--unreachable-grace", "3s", "--on-unreachable", "open")
		b.waitState(t, stateIdle, bridgeReacts)
		s.Stop()
		eventually(t, "the bridge notices", bridgeReacts, func() bool { return b.state(t).UnreachableSince != nil })
		v := b.waitState(t, stateUnreachable, bridgeReacts)
		if v.Holding || v.UnreachableSince == nil {
			t.Errorf("--on-unreachable=open after an allowed answer: %+v, want not holding, with unreachable_since", v)
		}
		if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 {
			t.Errorf("open: a sync must go ahead: exit %d %s", code, out)
		}
		if log := b.log.String(); !strings.Contains(log, "SCAPLOCK UNREACHABLE PAST THE GRACE: deploys are NOT guarded (--on-unreachable=open)") || !strings.Contains(log, "level=ERROR") {
			t.Errorf("not loud:\n%s", log)
		}
	})
	// Past the grace, open keeps what the last answer refused.
	t.Run("open never opens a refusal", func(t *testing.T) {
		t.Parallel()
		s := startBridgeServer(t)
		p := newScapPaths(t)
		b := startBridge(t, s.URL(), s.reader, p, "--unreachable-grace", "1s", "--on-unreachable", "open")
		s.lock(t, "global", "T7: before the outage")
		b.waitState(t, stateHolding, bridgeReacts)
		s.Stop()
		v := b.waitState(t, stateUnreachable, bridgeReacts)
		if !v.Holding || !strings.Contains(v.Reason, `"T7: before the outage"`) {
			t.Errorf("past the grace: %+v, want still holding with the last refusal", v)
		}
		code, out := scap(t, p, "sync", "--timeout", "1")
		if code != 1 || !strings.Contains(out, `locked by scaplock`) || !strings.Contains(out, `T7: before the outage`) {
			t.Errorf("a sync must stay refused with the last refusal: exit %d %s", code, out)
		}
		if log := b.log.String(); !strings.Contains(log, "SCAPLOCK UNREACHABLE PAST THE GRACE: keeping scap's lock: the last answer refused deploys, and the bridge never opens what it knows is closed") {
			t.Errorf("the log does not say why it keeps the lock:\n%s", log)
		}
	})
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		s := startBridgeServer(t)
		p := newScapPaths(t)
		b := startBridge(t, s.URL(), s.reader, p, "--unreachable-grace", "3s", "--on-unreachable", "closed")
		b.waitState(t, stateIdle, bridgeReacts)
		s.Stop()
		began := time.Now()
		v := b.waitState(t, stateUnreachable, bridgeReacts)
		if time.Since(began) < 2*time.Second {
			t.Errorf("acted after %s, before the 3s grace", time.Since(began))
		}
		eventually(t, "closed holds", bridgeReacts, func() bool { v = b.state(t); return v.Holding })
		code, out := scap(t, p, "sync", "--timeout", "1")
		if code != 1 || !strings.Contains(out, "locked by scaplock") || !strings.Contains(out, "scaplock cannot be reached since") {
			t.Errorf("closed: a sync must be refused with the outage as reason: exit %d %s", code, out)
		}
	})
}

// Misuse stops the bridge at once instead of leaving it never holding.
func TestBridgeMisuse(t *testing.T) {
	ctx := context.Background()
	p := newScapPaths(t)
	env := as(t, "br-reader", "deployer")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown scope", []string{"--scope", "eqaid"}, `unknown scope "eqaid"`},
		{"bad policy", []string{"--on-unreachable", "maybe"}, "--on-unreachable"},
		{"bad grace", []string{"--unreachable-grace", "soon"}, "--unreachable-grace"},
		{"lock file in a missing directory", []string{"--lock-file", "/nonexistent/dir/lock"}, "lock file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"scap-bridge", "--lock-file", p.lock}, tc.args...)
			r := scaplock(ctx, env, args...)
			wantCode(t, r, exitMisuse)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q: %s", tc.want, r)
			}
		})
	}
	r := scaplock(ctx, map[string]string{"SCAPLOCK_TOKEN": "garbage"}, "scap-bridge", "--lock-file", p.lock)
	wantCode(t, r, exitMisuse)
}

// Without the event stream (a proxy that does not pass it) the bridge
// still follows the service, by polling.
func TestBridgePollsWithoutTheEventStream(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	target, _ := url.Parse(s.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/events" {
			http.Error(w, "no streams here", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	p := newScapPaths(t)
	b := startBridge(t, front.URL, s.reader, p) // --poll-interval 1s
	b.waitState(t, stateIdle, bridgeReacts)
	h := s.lock(t, "global", "T8: seen by polling")
	b.waitState(t, stateHolding, bridgeReacts)
	s.unlock(t, h.ID)
	b.waitState(t, stateIdle, bridgeReacts)
}
