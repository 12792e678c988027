package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	api "github.com/scaplock/scaplock/api/v1"
)

const windowBridges = 20

// windowBridge measures how late the scap bridge holds scap's lock after
// a deny window starts: scaplockd (embedded etcd), 20 built scaplock
// scap-bridge processes, one per scope, each with a deny window on its
// scope starting at the same minute. No write happens at the start, and
// the bridges poll only every 10 minutes: only their timer to the
// preflight answer's window_change can catch it. Lateness is the time in
// the bridge's "holding scap's global lock" log line less the start.
func windowBridge(ctx context.Context, dir string) []Row {
	const figure = "window bridge: deny window starts → scap's lock held by the bridge"
	bin, err := buildCommand(ctx, dir, "scaplock")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	scopes := make([]string, windowBridges)
	for i := range scopes {
		scopes[i] = fmt.Sprintf("win-%d", i)
	}
	d, err := startDaemon(ctx, map[string]string{"SCAPLOCK_SCOPES": strings.Join(scopes, ",")})
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer d.stop()
	c := newClient(d.URL(), d.token)

	// The first minute at least 20 s away: time to start 20 bridges.
	start := time.Now().UTC().Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute)
	schedule := fmt.Sprintf("%d %d %d %d *", start.Minute(), start.Hour(), start.Day(), int(start.Month()))
	for _, s := range scopes {
		body := api.WindowBody{Scope: s, Kind: "deny", Schedule: schedule, Duration: "2m", Reason: "bench freeze " + s}
		if err := c.do(ctx, http.MethodPost, "/api/v1/windows", body, nil, http.StatusCreated); err != nil {
			return []Row{failed(figure, err)}
		}
	}

	held := &heldLog{at: map[string]time.Time{}}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	for _, s := range scopes {
		lockFile := filepath.Join(dir, s+".lock")
		if err := os.WriteFile(lockFile, []byte("{}"), 0o644); err != nil {
			return []Row{failed(figure, err)}
		}
		p := exec.Command(bin, "scap-bridge", "--url", d.URL(), "--scope", s, "--lock-file", lockFile, "--poll-interval", "10m",
			"--unlock-signal-file", filepath.Join(dir, s+".signal"), "--unlock-ack-file", filepath.Join(dir, s+".ack"))
		p.Env = append(os.Environ(), "SCAPLOCK_TOKEN="+d.token)
		p.Stderr = held.writer(s)
		if err := p.Start(); err != nil {
			return []Row{failed(figure, err)}
		}
		procs = append(procs, p)
	}
	progress("  %d bridges started; the windows start at %s", len(procs), start.Format("15:04:05"))
	deadline := time.Until(start) + 30*time.Second
	if err := held.wait(ctx, len(scopes), deadline); err != nil {
		return []Row{failed(figure, err)}
	}
	var late []time.Duration
	for s, at := range held.times() {
		if at.Before(start) {
			return []Row{failed(figure, fmt.Errorf("bridge for %s held at %s, before the window's start %s", s, at.Format(time.RFC3339Nano), start.Format(time.RFC3339)))}
		}
		late = append(late, at.Sub(start))
	}
	p99 := percentile(late, 99)
	return []Row{check(fmt.Sprintf("%s, p99 of %d (p50 %s, max %s)", figure, len(late), fmtDur(median(late)), fmtDur(percentile(late, 100))),
		fmtDur(p99), "≤ 1s", p99 <= time.Second)}
}

// heldLog reads each bridge's log for the moment it first held the lock.
type heldLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

var heldLine = regexp.MustCompile(`time=(\S+) .*msg="holding scap's global lock`)

func (h *heldLog) writer(scope string) *lineScanner {
	return &lineScanner{line: func(l string) {
		m := heldLine.FindStringSubmatch(l)
		if m == nil {
			return
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return
		}
		h.mu.Lock()
		if _, seen := h.at[scope]; !seen {
			h.at[scope] = at
		}
		h.mu.Unlock()
	}}
}

func (h *heldLog) times() map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]time.Time, len(h.at))
	for k, v := range h.at {
		out[k] = v
	}
	return out
}

// wait returns once n bridges have held, or fails after within.
func (h *heldLog) wait(ctx context.Context, n int, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if got := len(h.times()); got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d bridges held scap's lock within %s: %w", len(h.times()), n, within.Round(time.Second), ctx.Err())
		case <-tick.C:
		}
	}
}

// lineScanner calls line with each complete line written to it.
type lineScanner struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (s *lineScanner) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, b...)
	for {
		i := strings.IndexByte(string(s.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		s.line(string(s.buf[:i]))
		s.buf = s.buf[i+1:]
	}
}
