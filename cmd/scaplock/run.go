package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Exit codes of run's own outcomes, kept apart from its command's status
// as timeout(1) keeps 124-127: 120 plus scaplock's own code for an outcome
// before CMD started, then those of timeout and env(1).
const (
	exitRunRefused    = 120 + exitRefused // 121: refused (409, 423); nothing was run
	exitRunUnsure     = 120 + exitUnsure  // 122: could not decide; nothing was run
	exitRunMisuse     = 120 + exitMisuse  // 123: misuse; nothing was run
	exitRunHoldLost   = 124               // CMD ran partly without the deploy hold
	exitRunFailed     = 125               // run itself failed while CMD ran
	exitCannotExecute = 126               // CMD found but could not be executed
	exitNotFound      = 127               // CMD not found
)

// runOutcome maps scaplock's code for an outcome before CMD started to
// run's own: asked-for help stays 0 and a signal stays 128+signal.
func runOutcome(code int) int {
	switch code {
	case exitRefused, exitUnsure, exitMisuse:
		return 120 + code
	}
	return code
}

// waitDelay bounds the wait for CMD's output to drain after it exits.
const waitDelay = 2 * time.Second

// cmdRun takes the exclusive deploy hold on a scope, runs a command while
// keeping the hold alive, and releases it when the command ends.
func cmdRun(ctx context.Context, c *cli, args []string) int {
	h, ttl, argv, code := c.takeDeployHold(ctx, args)
	if argv == nil {
		return runOutcome(code)
	}
	return c.runHolding(ctx, h, ttl, argv)
}

// takeDeployHold parses run's flags and takes the deploy hold. It returns
// the command to run, or none and scaplock's exit code.
func (c *cli) takeDeployHold(ctx context.Context, args []string) (h apiv1.Hold, ttl time.Duration, argv []string, code int) {
	fs := c.newFlagSet("run", "run --scope S [--reason R] [--ttl 30s] [--wait D] -- CMD [ARGS...]",
		`Takes the exclusive deploy hold on the scope, runs CMD with this terminal's
stdin, stdout and stderr, renews the hold every ttl/3, and releases it when
CMD ends. There is no --fail-open: a lock that may be skipped when the
service is down guards nothing.

Exit codes: CMD's own status passes through unchanged, and a CMD that fails
gets one line on stderr ("scaplock: CMD exited with status 1", "... killed
by signal TERM"). run's own outcomes have codes of their own, as timeout(1)
keeps 124-127:
  121  refused: another deploy holds the scope (409) or a hold refuses
       deploys there (423); the service's message is on stderr; nothing ran
  122  could not decide: unreachable, no answer within --timeout, 5xx;
       nothing ran
  123  misuse: bad flags, unknown scope (400), no, bad or unreadable token
       (401), role missing (403), wrong URL (404); nothing ran
  124  the deploy hold was lost while CMD ran (its lease lapsed or someone
       released it): CMD ran partly without the lock, whatever its status
  125  run itself failed while CMD ran
  126  CMD was found but could not be executed
  127  CMD was not found
  128+N  run got signal N (130 SIGINT, 143 SIGTERM): it passed it to CMD,
       waited for CMD, released the hold, and exits so even if CMD exited 0
A CMD that itself exits 121-127 is told apart by the line on stderr.`)
	scope := fs.String("scope", "", `scope to deploy to: "global" or a cluster (required)`)
	reason := fs.String("reason", "", `why; default "scaplock run: CMD ARGS"`)
	ttlFlag := durationOpt(fs, "ttl", apiv1.DefaultDeployTTL, "the hold lapses this long after the last keepalive (2s..1h)")
	wait := durationOpt(fs, "wait", 0, "queue up to this long for the scope to be free instead of failing at once")
	if stop, code := parseFlags(fs, args); stop {
		return h, 0, nil, code
	}
	argv, ttl = fs.Args(), *ttlFlag
	switch {
	case len(argv) == 0:
		return h, 0, nil, usageError(fs, "no command given: scaplock run --scope S -- CMD [ARGS...]")
	case *scope == "":
		return h, 0, nil, usageError(fs, "--scope is required")
	case ttl <= 0:
		return h, 0, nil, usageError(fs, "--ttl must be positive, got %s", formatDuration(ttl))
	case *wait < 0:
		return h, 0, nil, usageError(fs, "--wait must not be negative, got %s", formatDuration(*wait))
	}
	if *reason == "" {
		*reason = truncate("scaplock run: "+strings.Join(argv, " "), apiv1.ReasonMaxLen)
	}

	body := apiv1.DeployBody{Scope: *scope, Reason: *reason, TTL: ttl.String(), Wait: durationString(*wait)}
	if _, err := c.call(ctx, request{method: http.MethodPost, path: "/api/v1/deploys", body: body, extra: *wait}, http.StatusCreated, &h); err != nil {
		if sig, ok := signalOf(ctx); ok {
			fmt.Fprintf(c.stderr, "scaplock: %s while asking for the deploy hold; nothing was run\n", sig)
			return h, 0, nil, 128 + int(sig)
		}
		return h, 0, nil, c.fail(err)
	}
	return h, ttl, argv, 0
}

// runHolding runs argv while keeping deploy hold h alive, then releases it.
func (c *cli) runHolding(ctx context.Context, h apiv1.Hold, ttl time.Duration, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	// When the streams are not files, a child CMD left behind could keep
	// the copying open; CMD's own exit is what counts.
	cmd.WaitDelay = waitDelay
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(c.stderr, "scaplock: cannot start %s: %v\n", argv[0], err)
		status := exitCannotExecute
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, syscall.ENOENT) {
			status = exitNotFound
		}
		c.releaseDeploy(ctx, h, fmt.Sprintf("could not start: %v", err), outcomeOf(status, 0, false, 0))
		return status
	}

	// The hold must outlive ctx: after a signal CMD may take a while to stop
	// and the scope stays ours until it has.
	kctx, stopKeepAlive := context.WithCancel(context.WithoutCancel(ctx))
	var lapsed atomic.Bool
	keeping := make(chan struct{})
	go func() {
		defer close(keeping)
		c.keepDeployAlive(kctx, h, ttl, &lapsed)
	}()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	var sig syscall.Signal
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		sig = syscall.SIGTERM
		if s, ok := signalOf(ctx); ok {
			sig = s
		}
		fmt.Fprintf(c.stderr, "scaplock: %s: passing it to %s and waiting for it to exit\n", sig, argv[0])
		_ = cmd.Process.Signal(sig)
		waitErr = <-exited
	}
	stopKeepAlive()
	<-keeping

	status, end := exitStatus(cmd.ProcessState, waitErr)
	if status != exitOK {
		fmt.Fprintf(c.stderr, "scaplock: %s %s\n", safe(argv[0]), end)
	}
	why := fmt.Sprintf("finished: exit %d", status)
	if sig != 0 {
		why = fmt.Sprintf("interrupted by %s: exit %d", sig, status)
	}
	c.releaseDeploy(ctx, h, why, outcomeOf(status, sig, lapsed.Load(), time.Since(start)))
	switch {
	case sig != 0:
		return 128 + int(sig)
	case lapsed.Load():
		fmt.Fprintf(c.stderr, "scaplock: WARNING: %s exited %d but ran partly without the deploy hold (it lapsed or was released); exit %d\n", safe(argv[0]), status, exitRunHoldLost)
		return exitRunHoldLost
	}
	return status
}

// keepDeployAlive renews h every ttl/3 until ctx ends. A 404 means the
// hold is gone (its lease lapsed, or someone released it; the message
// says which): it warns, sets lapsed and stops.
func (c *cli) keepDeployAlive(ctx context.Context, h apiv1.Hold, ttl time.Duration, lapsed *atomic.Bool) {
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, err := c.call(ctx, request{method: http.MethodPut, path: holdPath("deploys", h.ID) + "/keepalive"}, http.StatusOK, nil)
		var ae *apiError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.As(err, &ae) && ae.status == http.StatusNotFound:
			lapsed.Store(true)
			fmt.Fprintf(c.stderr, "\nscaplock: WARNING: THE DEPLOY HOLD %s ON %s IS GONE: %v\n"+
				"scaplock: WARNING: another deploy or a hold may now start on %s while this command runs.\n\n",
				safe(h.ID), safe(strings.ToUpper(string(h.Scope))), safeLines(err.Error()), safe(string(h.Scope)))
			return
		default:
			fmt.Fprintf(c.stderr, "scaplock: WARNING: keepalive of deploy hold %s failed (the hold lapses %s after the last good one): %s\n", safe(h.ID), ttl, safeLines(err.Error()))
		}
	}
}

// releaseDeploy deletes the deploy hold; it runs even after ctx is
// cancelled, within --timeout.
func (c *cli) releaseDeploy(ctx context.Context, h apiv1.Hold, why string, o apiv1.DeployOutcome) {
	ctx = context.WithoutCancel(ctx)
	r := request{method: http.MethodDelete, path: holdPath("deploys", h.ID), body: apiv1.ReleaseBody{Reason: why, Outcome: o.Outcome, ExitCode: o.ExitCode, DurationS: o.DurationS}}
	_, err := c.call(ctx, r, http.StatusOK, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
		// A server older than outcomes rejects the fields: the release
		// matters more than its record.
		r.body = apiv1.ReleaseBody{Reason: why}
		_, err = c.call(ctx, r, http.StatusOK, nil)
	}
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.status == http.StatusNotFound:
		fmt.Fprintf(c.stderr, "scaplock: deploy hold %s was already gone (lapsed or released by someone else)\n", safe(h.ID))
	default:
		fmt.Fprintf(c.stderr, "scaplock: WARNING: could not release deploy hold %s: %s; it lapses %s after the last keepalive\n", safe(h.ID), safeLines(err.Error()), time.Duration(h.TTL))
	}
}

// outcomeOf is what a deploy's release records of how its command ended:
// a signal to scaplock run first, then a lost hold, then the exit status.
func outcomeOf(status int, sig syscall.Signal, lapsed bool, took time.Duration) apiv1.DeployOutcome {
	o := apiv1.OutcomeSucceeded
	switch {
	case sig != 0:
		o = apiv1.OutcomeSignalled
	case lapsed:
		o = apiv1.OutcomeAbandoned
	case status != 0:
		o = apiv1.OutcomeFailed
	}
	code, secs := min(max(status, 0), 255), took.Seconds()
	return apiv1.DeployOutcome{Outcome: o, ExitCode: &code, DurationS: &secs}
}

// exitStatus is a finished command's status, 128+signal if a signal
// killed it, and how it ended in words ("exited with status 1", "killed by
// signal TERM"). Wait's error matters only when there is no process state.
func exitStatus(state *os.ProcessState, waitErr error) (int, string) {
	if state == nil {
		if waitErr != nil {
			return exitRunFailed, fmt.Sprintf("could not be waited for: %v", waitErr)
		}
		return exitOK, "exited with status 0"
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")
		if name == "" {
			name = strconv.Itoa(int(ws.Signal()))
		}
		return 128 + int(ws.Signal()), "killed by signal " + name
	}
	return state.ExitCode(), fmt.Sprintf("exited with status %d", state.ExitCode())
}

// signalOf is the signal that cancelled ctx, if one did.
func signalOf(ctx context.Context) (syscall.Signal, bool) {
	var i interrupted
	if errors.As(context.Cause(ctx), &i) {
		return i.sig, true
	}
	return 0, false
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-3]) + "..."
}
