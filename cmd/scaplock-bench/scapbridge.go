package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	api "github.com/scaplock/scaplock/api/v1"
)

const (
	bridgeTrials   = 100
	baselineTrials = 20
	bridgeTarget   = time.Second
	fakeScapScript = "contrib/scap/fake_scap.py"
)

// scapBridge measures how soon unmodified scap is refused once a hold is
// created: scaplockd (embedded etcd), the built scaplock scap-bridge as its
// own process, and a Python process taking scap's shared lock with
// fcntl.lockf, as every sync does, until it is first refused. Beside it,
// the baseline of today: a person's scap lock --all (the same Python,
// exclusive lock) and the same probe.
func scapBridge(ctx context.Context, dir string) []Row {
	const figure = "scap bridge: hold created → scap's next shared-lock attempt refused"
	bin, err := buildCommand(ctx, dir, "scaplock")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	d, err := startDaemon(ctx, nil)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer d.stop()
	c := newClient(d.URL(), d.token)

	lockFile := filepath.Join(dir, "scap-global-lock")
	if err := os.WriteFile(lockFile, []byte("{}"), 0o644); err != nil {
		return []Row{failed(figure, err)}
	}
	bridge := exec.Command(bin, "scap-bridge", "--url", d.URL(), "--lock-file", lockFile,
		"--unlock-signal-file", filepath.Join(dir, "signal"), "--unlock-ack-file", filepath.Join(dir, "ack"))
	bridge.Env = append(os.Environ(), "SCAPLOCK_TOKEN="+d.token)
	started := &lineWaiter{want: "msg=started", found: make(chan struct{})}
	bridge.Stderr = started
	if err := bridge.Start(); err != nil {
		return []Row{failed(figure, err)}
	}
	defer func() { bridge.Process.Signal(syscall.SIGTERM); bridge.Wait() }()
	select {
	case <-started.found:
	case <-time.After(30 * time.Second):
		return []Row{failed(figure, errors.New("the bridge did not start within 30s"))}
	}

	probe, err := startProbe(ctx, lockFile)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer probe.stop()

	var refused, freed []time.Duration
	for i := range bridgeTrials + 1 { // trial 0 warms up connections
		var h struct{ ID string }
		t0 := time.Now()
		if err := c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "global", Reason: fmt.Sprintf("bench trial %d", i)}, &h, http.StatusCreated); err != nil {
			return []Row{failed(figure, err)}
		}
		at, err := probe.ask("refused scaplock")
		if err != nil {
			return []Row{failed(figure, fmt.Errorf("trial %d: %w", i, err))}
		}
		t1 := time.Now()
		if err := c.do(ctx, http.MethodDelete, "/api/v1/holds/"+h.ID, api.ReleaseBody{Reason: "bench"}, nil, http.StatusOK); err != nil {
			return []Row{failed(figure, err)}
		}
		free, err := probe.ask("free")
		if err != nil {
			return []Row{failed(figure, fmt.Errorf("trial %d: %w", i, err))}
		}
		if i > 0 {
			refused = append(refused, at.Sub(t0))
			freed = append(freed, free.Sub(t1))
		}
	}

	// Baseline: a person's exclusive lock, the same probe.
	personFile := filepath.Join(dir, "person-lock")
	os.WriteFile(personFile, []byte("{}"), 0o644)
	personProbe, err := startProbe(ctx, personFile)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer personProbe.stop()
	var person []time.Duration
	for range baselineTrials {
		t0 := time.Now()
		cmd := exec.Command("python3", fakeScapScript, "lock", "--lock-file", personFile, "--user", "bench-person", "--reason", "baseline",
			"--signal-file", filepath.Join(dir, "person-signal"), "--ack-file", filepath.Join(dir, "person-ack"))
		if err := cmd.Start(); err != nil {
			return []Row{failed(figure, err)}
		}
		at, err := personProbe.ask("refused bench-person")
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if err != nil {
			return []Row{failed(figure, err)}
		}
		if _, err := personProbe.ask("free"); err != nil {
			return []Row{failed(figure, err)}
		}
		person = append(person, at.Sub(t0))
	}

	p99 := percentile(refused, 99)
	return []Row{
		check(fmt.Sprintf("%s, p99 of %d (p50 %s, max %s)", figure, len(refused), fmtDur(median(refused)), fmtDur(percentile(refused, 100))),
			fmtDur(p99), "≤ 1s", p99 <= bridgeTarget),
		info(fmt.Sprintf("scap bridge: hold released → scap's next shared-lock attempt succeeds, p99 of %d (p50 %s)", len(freed), fmtDur(median(freed))), fmtDur(percentile(freed, 99))),
		info(fmt.Sprintf("baseline: person's scap lock --all started → next shared-lock attempt refused, p99 of %d (p50 %s; includes starting Python)", len(person), fmtDur(median(person))), fmtDur(percentile(person, 99))),
	}
}

// probe is contrib/scap/fake_scap.py probe: one process that answers with
// the wall-clock time a shared-lock attempt was first refused or succeeded.
type probe struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startProbe(ctx context.Context, lockFile string) (*probe, error) {
	cmd := exec.CommandContext(ctx, "python3", fakeScapScript, "probe", "--lock-file", lockFile)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("python3 %s: %w", fakeScapScript, err)
	}
	return &probe{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// ask sends one request line and returns the time in the answer.
func (p *probe) ask(line string) (time.Time, error) {
	if _, err := fmt.Fprintln(p.in, line); err != nil {
		return time.Time{}, err
	}
	ans, err := p.out.ReadString('\n')
	if err != nil {
		return time.Time{}, fmt.Errorf("probe: %w", err)
	}
	field, _, _ := strings.Cut(strings.TrimSpace(ans), " ")
	ns, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("probe %q: %s", line, strings.TrimSpace(ans))
	}
	return time.Unix(0, ns), nil
}

func (p *probe) stop() {
	p.in.Close()
	p.cmd.Wait()
}

// lineWaiter closes found when a line containing want is written.
type lineWaiter struct {
	want  string
	buf   []byte
	found chan struct{}
	done  bool
}

func (w *lineWaiter) Write(b []byte) (int, error) {
	if !w.done {
		w.buf = append(w.buf, b...)
		if strings.Contains(string(w.buf), w.want) {
			w.done = true
			close(w.found)
			w.buf = nil
		}
	}
	return len(b), nil
}
