package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// fakeScap is the scap stand-in (contrib/scap/fake_scap.py).
var fakeScap, _ = filepath.Abs("../../contrib/scap/fake_scap.py")

// scaplockBinary builds the CLI once per test process: the bridge must be a
// process of its own, since POSIX record locks belong to a process.
func scaplockBinary(t *testing.T) string {
	t.Helper()
	bin, err := servertest.BuildOnce(servertest.Scaplock)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// bridgeServer is a scaplockd of its own, so that holds of other tests do
// not refuse "global" under the bridge.
type bridgeServer struct {
	*server.Server
	reader, sre string // tokens
	stopOnce    sync.Once
}

// Stop stops the server once; the test may stop it early (an outage).
func (s *bridgeServer) Stop() { s.stopOnce.Do(func() { s.Server.Stop() }) }

// startBridgeServer starts it; env are more variables, as name, value pairs.
func startBridgeServer(t *testing.T, env ...string) *bridgeServer {
	t.Helper()
	vars := map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_SCOPES": "eqiad,codfw", "SCAPLOCK_ANONYMOUS_READ": "false",
		"SCAPLOCK_PUBLIC_URL": "http://scaplock.example/",
	}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	s, err := servertest.Start(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := token.ReadSecret(s.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(sub string, roles ...string) string {
		tok, err := token.SignHS256(secret, sub, roles, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	bs := &bridgeServer{Server: s, reader: sign("br-bridge", "deployer"), sre: sign("br-sre", "sre")}
	t.Cleanup(bs.Stop)
	return bs
}

// call is a raw API call to the bridge's server.
func (s *bridgeServer) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.sre)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *bridgeServer) lock(t *testing.T, scope, reason string) apiv1.Hold {
	t.Helper()
	var h apiv1.Hold
	s.call(t, http.MethodPost, "/api/v1/holds", apiv1.HoldBody{Scope: scope, Reason: reason}, &h)
	return h
}

func (s *bridgeServer) amend(t *testing.T, id, reason string) {
	t.Helper()
	s.call(t, http.MethodPatch, "/api/v1/holds/"+id, map[string]string{"reason": reason}, nil)
}

func (s *bridgeServer) unlock(t *testing.T, id string) {
	t.Helper()
	s.call(t, http.MethodDelete, "/api/v1/holds/"+id, apiv1.ReleaseBody{Reason: "test done"}, nil)
}

// scapPaths are one test's lock, signal and acknowledgement files.
type scapPaths struct{ lock, signal, ack string }

func newScapPaths(t *testing.T) scapPaths {
	dir := t.TempDir()
	p := scapPaths{lock: filepath.Join(dir, "scap-global-lock"), signal: filepath.Join(dir, "scap-unlock-global"), ack: filepath.Join(dir, "scap-unlock-global-removed")}
	if err := os.WriteFile(p.lock, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runningBridge is a scaplock scap-bridge process.
type runningBridge struct {
	cmd    *exec.Cmd
	log    *healthtest.SyncBuffer
	addr   string
	done   chan struct{}
	status int
}

var listenerAddr = regexp.MustCompile(`msg="state listener" .*addr=(http://\S+)`)

// startBridge runs the bridge against s (or url) on paths with extra flags.
func startBridge(t *testing.T, url, tok string, p scapPaths, extra ...string) *runningBridge {
	t.Helper()
	args := append([]string{"scap-bridge", "--lock-file", p.lock, "--unlock-signal-file", p.signal,
		"--unlock-ack-file", p.ack, "--listen", "127.0.0.1:0", "--poll-interval", "1s"}, extra...)
	cmd := exec.Command(scaplockBinary(t), args...)
	cmd.Env = append(os.Environ(), "SCAPLOCK_URL="+url, "SCAPLOCK_TOKEN="+tok)
	b := &runningBridge{cmd: cmd, log: &healthtest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		b.status = cmd.ProcessState.ExitCode()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			t.Logf("bridge log:\n%s", b.log.String())
		}
	})
	eventually(t, "the bridge serves its state", 15*time.Second, func() bool {
		if m := listenerAddr.FindStringSubmatch(b.log.String()); m != nil {
			b.addr = m[1]
			return true
		}
		select {
		case <-b.done:
			t.Fatalf("the bridge exited %d:\n%s", b.status, b.log.String())
		default:
		}
		return false
	})
	return b
}

// stop sends SIGTERM and waits; it returns the exit status.
func (b *runningBridge) stop(t *testing.T) int {
	select {
	case <-b.done:
		return b.status
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
		t.Errorf("the bridge did not stop on SIGTERM within 15s")
	}
	return b.status
}

func (b *runningBridge) state(t *testing.T) bridgeStateView {
	t.Helper()
	var v bridgeStateView
	resp, err := http.Get(b.addr + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (b *runningBridge) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(b.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// waitState waits until the bridge reports state.
func (b *runningBridge) waitState(t *testing.T, state string, within time.Duration) bridgeStateView {
	t.Helper()
	var v bridgeStateView
	eventually(t, "bridge state "+state, within, func() bool {
		v = b.state(t)
		return v.State == state
	})
	return v
}

// scap runs fake_scap.py to completion (bounded) and returns its exit
// status and output.
func scap(t *testing.T, p scapPaths, args ...string) (int, string) {
	t.Helper()
	full := append([]string{fakeScap, args[0], "--lock-file", p.lock, "--signal-file", p.signal, "--ack-file", p.ack}, args[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", full...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("fake_scap %v did not finish: %s", args, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// startScap runs fake_scap.py in the background; wait for its output with
// waitOutput, stop it with SIGTERM at cleanup.
type scapProc struct {
	cmd  *exec.Cmd
	out  *healthtest.SyncBuffer
	done chan struct{}
	code int
}

func startScap(t *testing.T, p scapPaths, args ...string) *scapProc {
	t.Helper()
	full := append([]string{fakeScap, args[0], "--lock-file", p.lock, "--signal-file", p.signal, "--ack-file", p.ack}, args[1:]...)
	sp := &scapProc{cmd: exec.Command("python3", full...), out: &healthtest.SyncBuffer{}, done: make(chan struct{})}
	sp.cmd.Stdout, sp.cmd.Stderr = sp.out, sp.out
	if err := sp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sp.cmd.Wait()
		sp.code = sp.cmd.ProcessState.ExitCode()
		close(sp.done)
	}()
	t.Cleanup(func() {
		sp.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-sp.done:
		case <-time.After(10 * time.Second):
			sp.cmd.Process.Kill()
			<-sp.done
		}
	})
	return sp
}

func (sp *scapProc) waitOutput(t *testing.T, want string, within time.Duration) {
	t.Helper()
	eventually(t, fmt.Sprintf("fake scap prints %q", want), within, func() bool {
		return strings.Contains(sp.out.String(), want)
	})
}

func (sp *scapProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-sp.done:
	case <-time.After(within):
		t.Fatalf("fake scap still running after %s: %s", within, sp.out.String())
	}
	return sp.code
}

// eventually polls cond every 50ms until it holds or within passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockFileContent reads the lock file (the bridge is another process, so
// opening and closing it here costs the bridge nothing).
func lockFileContent(t *testing.T, p scapPaths) scapLock {
	t.Helper()
	raw, err := os.ReadFile(p.lock)
	if err != nil {
		t.Fatal(err)
	}
	var s scapLock
	if string(raw) != "{}" {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("lock file %q: %v", raw, err)
		}
	}
	return s
}
