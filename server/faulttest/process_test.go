package faulttest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/server/servertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.RemoveBuilt()
	os.Exit(code)
}

// binary builds the command pkg once for the suite's tests.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	bin, err := servertest.BuildOnce(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// scaplockd builds the daemon for tests that need it as a process.
func scaplockd(t *testing.T) string { return binary(t, servertest.Scaplockd) }

// proc is a scaplockd process; it is killed by its pid when the test ends.
type proc struct {
	cmd    *exec.Cmd
	stderr *healthtest.SyncBuffer
	done   chan struct{} // closed when it has exited
	err    error         // its exit status, once done
}

// cleanEnv is the test's environment without any SCAPLOCK_ variable, so
// that only what a test sets configures its processes.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCAPLOCK_") {
			env = append(env, kv)
		}
	}
	return env
}

// daemon starts scaplockd on a free loopback port with dir as its data
// dir and env (KEY=value) on top.
func daemon(t *testing.T, bin, dir string, env ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin), stderr: &healthtest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(cleanEnv(), "SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+dir, "SCAPLOCK_LOG_FORMAT=text")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// replicaProcess starts scaplockd as replica name on f's cluster, with
// dir as its data dir.
func (f *fixture) replicaProcess(t *testing.T, bin, name, dir string) *proc {
	t.Helper()
	var env []string
	for k, v := range f.replicaEnv(name, f.cluster.Endpoints()) {
		env = append(env, k+"="+v)
	}
	return daemon(t, bin, dir, env...)
}

// exited reports whether p exits within d.
func (p *proc) exited(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

var listeningAddr = regexp.MustCompile(`msg="scaplockd listening" addr=(\S+)`)

// url waits until p listens and returns its base URL.
func (p *proc) url(t *testing.T, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m := listeningAddr.FindStringSubmatch(p.stderr.String()); m != nil {
			return "http://" + m[1]
		}
		if p.exited(100 * time.Millisecond) {
			t.Fatalf("scaplockd exited before listening: %v\n%s", p.err, p.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaplockd not listening after %s:\n%s", within, p.stderr)
		}
	}
}
