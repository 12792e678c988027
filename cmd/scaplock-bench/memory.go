package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	memoryCycles  = 10000
	memoryWorkers = 4
	rssBudgetMB   = 150
	// historyMaxEvents is the daemon's default: the figure is for the
	// configuration people run.
	historyMaxEvents = "100000"
)

// memory builds scaplockd, runs it as a subprocess with its embedded etcd,
// puts memoryCycles hold create/release cycles through its API and reads
// its resident set size.
func memory(ctx context.Context, dir string) []Row {
	figure := fmt.Sprintf("scaplockd RSS after %d hold create/release cycles (embedded etcd, SCAPLOCK_HISTORY_MAX_EVENTS=%s)", memoryCycles, historyMaxEvents)
	bin, err := buildCommand(ctx, dir, "scaplockd")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	p, err := startProcess(ctx, bin, filepath.Join(dir, "data"))
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer p.stop()
	idle, err := rssMB(p.cmd.Process.Pid)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	token, err := servertest.Token(filepath.Join(dir, "data", "jwt.secret"), "bench", api.RoleSRE, api.RoleDeployer)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	c := newClient(p.url, token)
	began := time.Now()
	if err := cycles(ctx, c, memoryCycles, memoryWorkers); err != nil {
		return []Row{failed(figure, err)}
	}
	took := time.Since(began)
	rss, err := rssMB(p.cmd.Process.Pid)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	return []Row{
		info("hold create+release through the API, 4 concurrent workers (subprocess)",
			fmt.Sprintf("%.0f cycles/s (%d in %s)", float64(memoryCycles)/took.Seconds(), memoryCycles, took.Round(100*time.Millisecond))),
		check(figure, fmt.Sprintf("%.1f MB (%.1f MB after start)", rss, idle), fmt.Sprintf("≤ %d MB", rssBudgetMB), rss <= rssBudgetMB),
	}
}

// cycles runs n hold create/release cycles on workers goroutines, each on
// its own scope, and returns the first error.
func cycles(ctx context.Context, c *client, n, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			scope := fmt.Sprintf("bench-%d", w)
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := c.holdCycle(ctx, scope); err != nil {
					errs[w] = fmt.Errorf("cycle %d: %w", i, err)
					return
				}
				if i%2000 == 0 {
					progress("  %d/%d cycles", i, n)
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// process is a server subprocess: a scaplockd, or this binary serving with
// -serve (startChild).
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// newProcess follows the started cmd: done is closed when it has exited.
func newProcess(cmd *exec.Cmd) *process {
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p
}

// startProcess starts bin on a free loopback port with an embedded etcd in
// dataDir and waits for its "listening" log line.
func startProcess(ctx context.Context, bin, dataDir string) (*process, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_DATA_DIR="+dataDir, "SCAPLOCK_LOG_FORMAT=json",
		"SCAPLOCK_HISTORY_MAX_EVENTS="+historyMaxEvents, "SCAPLOCK_CLUSTERS_FILE=", "SCAPLOCK_ETCD_ENDPOINTS=",
		"SCAPLOCK_SCOPES=bench-0,bench-1,bench-2,bench-3") // one scope per memoryWorkers
	return runProcess(ctx, cmd)
}

// runProcess starts cmd, a scaplockd logging JSON, and waits for its
// "listening" log line.
func runProcess(ctx context.Context, cmd *exec.Cmd) (*process, error) {
	logs := &listenWatcher{addr: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := newProcess(cmd)
	select {
	case a := <-logs.addr:
		p.url = "http://" + a
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("scaplockd exited before listening: %s", logs.tail)
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, errors.New("scaplockd not listening after 60s")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// listenWatcher reads scaplockd's JSON log for the address it listens on
// and keeps the last line (for an early exit); the rest is dropped.
type listenWatcher struct {
	buf   []byte
	tail  string
	addr  chan string
	found bool
}

func (w *listenWatcher) Write(b []byte) (int, error) {
	if w.found {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := w.buf[:i]
		w.tail = string(line)
		var l struct{ Msg, Addr string }
		if json.Unmarshal(line, &l) == nil && l.Msg == "scaplockd listening" {
			w.found, w.buf = true, nil
			w.addr <- l.Addr
			return len(b), nil
		}
		w.buf = w.buf[i+1:]
	}
}

// stop sends SIGTERM, waits for the drain, and kills after 20 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssMB reads VmRSS of pid from /proc, in MB (2^20 bytes).
func rssMB(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS: unexpected %q", line)
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
