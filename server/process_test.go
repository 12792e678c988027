package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/server/servertest"
)

// scaplockdBinary builds cmd/scaplockd once for the package's tests.
func scaplockdBinary(t *testing.T) string {
	t.Helper()
	bin, err := servertest.BuildOnce(servertest.Scaplockd)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// daemonProcess is a real scaplockd process with an embedded etcd.
type daemonProcess struct {
	cmd     *exec.Cmd
	dataDir string
	addr    string
	url     string
	token   string // roles sre and deployer
	done    chan struct{}
	exit    int
	stderr  *strings.Builder
	mu      *sync.Mutex
}

// startDaemonProcess starts scaplockd with env on a free loopback port and
// waits until it listens; it is killed when the test ends if still running.
func startDaemonProcess(t *testing.T, env ...string) *daemonProcess {
	t.Helper()
	bin := scaplockdBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+dir, "SCAPLOCK_LOG_FORMAT=json",
		"SCAPLOCK_CLUSTERS_FILE=", "SCAPLOCK_ETCD_ENDPOINTS=")
	cmd.Env = append(cmd.Env, env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProcess{cmd: cmd, dataDir: dir, done: make(chan struct{}), stderr: &strings.Builder{}, mu: &sync.Mutex{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "scaplockd listening" {
				addr <- l.Addr
			}
		}
		_ = cmd.Wait()
		p.exit = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addr:
	case <-p.done:
		t.Fatalf("scaplockd exited before listening:\n%s", p.logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("scaplockd not listening after 60s:\n%s", p.logs())
	}
	p.url = "http://" + p.addr
	if p.token, err = servertest.Token(filepath.Join(dir, "jwt.secret"), "alice", "sre", "deployer"); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *daemonProcess) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// sigterm stops the process and returns its exit code and how long it took.
func (p *daemonProcess) sigterm(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.exit, time.Since(began)
	case <-time.After(within):
		t.Fatalf("scaplockd still running %s after SIGTERM:\n%s", within, p.logs())
	}
	return 0, 0
}

// metric reads one unlabelled sample from /metrics.
func (p *daemonProcess) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var v float64
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			fmt.Sscan(rest, &v)
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// rawRequest opens a TCP connection and writes head (and nothing else);
// rcvbuf, when positive, shrinks the client's receive buffer first.
func rawRequest(t *testing.T, addr, head string, rcvbuf int) *net.TCPConn {
	t.Helper()
	d := net.Dialer{}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn)
}

// answer reads what the server sends until it closes or within passes,
// and returns it and whether the server closed the connection.
func answer(c net.Conn, within time.Duration) (string, bool) {
	_ = c.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return string(b), false
	}
	return string(b), true
}
