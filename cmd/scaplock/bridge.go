package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// scap's own paths (scap/lock.py).
const (
	defaultScapLockFile     = "/var/lock/scap-global-lock"
	defaultUnlockSignalFile = "/tmp/scap-unlock-global"
	defaultUnlockAckFile    = "/tmp/scap-unlock-global-removed"
)

// bridgeConfig is scap-bridge's configuration, from flags and SCAPLOCK_BRIDGE_*.
type bridgeConfig struct {
	scopes     []string
	lockFile   string
	signalFile string
	ackFile    string
	policy     bridgePolicy
	listen     string
	host       string        // this deploy host, as reported to the service
	poll       time.Duration // ask the service at least this often
	retry      time.Duration // try the lock again / look for unlock-all this often
}

// cmdBridge runs the scap bridge until SIGTERM or SIGINT.
func cmdBridge(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("scap-bridge", "scap-bridge [--scope S]... [--lock-file F] [--unreachable-grace D] [--on-unreachable open|closed] [--listen ADDR] [--host H]",
		`Runs on a deploy host and makes unmodified scap obey scaplock: while any
hold refuses deploys to the scopes (default global: scap sync-world), it holds
scap's global lock file exclusively, with a POSIX record lock (fcntl, as
scap's lockf), and writes scap's JSON into it:
  {"locker": "scaplock", "pid": N, "timestamp_utc": "...", "reason": "<the refusal>"}
so every sync waits and prints the refusal. It rewrites the reason when the
refusal changes, and resets the file to {} and unlocks when deploys are
allowed. It follows the service's event stream and asks again at least
every --poll-interval.

It never takes a lock a person holds (scap lock --all): it waits, and says
so in its log and metrics; syncs already running (shared locks) finish
first. scap lock --unlock-all is honoured by scap's handshake (signal file,
acknowledgement file); the bridge then stays out until the refusal changes
(another hold, another reason), and tells the service (PUT
/api/v1/bridges/--host): its history names the host and the person, and its
status shows the host unguarded until the bridge guards the lock again.

Until the service has answered once, the bridge holds scap's lock ("scaplock
has not been heard yet"). When the service cannot be asked later
(unreachable, 5xx, or a 4xx such as an expired token), it keeps its state
for --unreachable-grace, then --on-unreachable=closed holds the lock and
open releases it only if the last answer allowed deploys: it never opens
what it last knew closed. It logs so.
SIGTERM or SIGINT: the lock is released and the bridge exits 0.

--listen ADDR serves GET /state (JSON) and GET /metrics (Prometheus text).
Every flag has an environment variable: SCAPLOCK_BRIDGE_SCOPES (comma
list), SCAPLOCK_BRIDGE_LOCK_FILE, SCAPLOCK_BRIDGE_UNLOCK_SIGNAL_FILE,
SCAPLOCK_BRIDGE_UNLOCK_ACK_FILE, SCAPLOCK_BRIDGE_UNREACHABLE_GRACE,
SCAPLOCK_BRIDGE_ON_UNREACHABLE, SCAPLOCK_BRIDGE_LISTEN, SCAPLOCK_BRIDGE_HOST,
SCAPLOCK_BRIDGE_POLL_INTERVAL; flags win.
Exit codes: 0 stopped by a signal, 3 misuse (bad flags, unknown scope, the
lock file cannot be opened), 2 the first answer could not be had and ctx ended.`)
	env := func(name, fallback string) string { return cmp(c.getenv(name), fallback) }
	var scopes stringList
	fs.Var(&scopes, "scope", "scope whose refusal holds scap's lock (repeatable; default global) (env SCAPLOCK_BRIDGE_SCOPES)")
	lockFile := fs.String("lock-file", env("SCAPLOCK_BRIDGE_LOCK_FILE", defaultScapLockFile), "scap's global lock file (env SCAPLOCK_BRIDGE_LOCK_FILE)")
	signalFile := fs.String("unlock-signal-file", env("SCAPLOCK_BRIDGE_UNLOCK_SIGNAL_FILE", defaultUnlockSignalFile), "scap lock --unlock-all's signal file (env SCAPLOCK_BRIDGE_UNLOCK_SIGNAL_FILE)")
	ackFile := fs.String("unlock-ack-file", env("SCAPLOCK_BRIDGE_UNLOCK_ACK_FILE", defaultUnlockAckFile), "scap lock --unlock-all's acknowledgement file (env SCAPLOCK_BRIDGE_UNLOCK_ACK_FILE)")
	graceText := fs.String("unreachable-grace", env("SCAPLOCK_BRIDGE_UNREACHABLE_GRACE", "2m"), "keep the current state this long while the service cannot be asked (env SCAPLOCK_BRIDGE_UNREACHABLE_GRACE)")
	onUnreachable := fs.String("on-unreachable", env("SCAPLOCK_BRIDGE_ON_UNREACHABLE", "open"), "after the grace: open (release) or closed (hold) (env SCAPLOCK_BRIDGE_ON_UNREACHABLE)")
	listen := fs.String("listen", env("SCAPLOCK_BRIDGE_LISTEN", ""), "serve /state and /metrics on this address, e.g. 127.0.0.1:9731 (env SCAPLOCK_BRIDGE_LISTEN; default off)")
	hostname, _ := os.Hostname()
	host := fs.String("host", env("SCAPLOCK_BRIDGE_HOST", hostname), "this deploy host's name, as the service's status and history show it when a person releases the lock (env SCAPLOCK_BRIDGE_HOST)")
	pollText := fs.String("poll-interval", env("SCAPLOCK_BRIDGE_POLL_INTERVAL", "5s"), "ask the service at least this often, besides the event stream (env SCAPLOCK_BRIDGE_POLL_INTERVAL)")
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	if len(scopes) == 0 {
		for s := range strings.SplitSeq(c.getenv("SCAPLOCK_BRIDGE_SCOPES"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
	}
	if len(scopes) == 0 {
		scopes = stringList{"global"}
	}
	grace, gerr := parseDuration(*graceText)
	poll, perr := parseDuration(*pollText)
	switch {
	case len(pos) > 0:
		return usageError(fs, "unexpected argument %q", pos[0])
	case gerr != nil || grace < 0:
		return usageError(fs, "--unreachable-grace: %q is not a duration >= 0", *graceText)
	case perr != nil || poll <= 0:
		return usageError(fs, "--poll-interval: %q is not a positive duration", *pollText)
	case *onUnreachable != "open" && *onUnreachable != "closed":
		return usageError(fs, "--on-unreachable: %q is not open or closed", *onUnreachable)
	case *host == "":
		return usageError(fs, "--host: the host name is unknown; set --host or SCAPLOCK_BRIDGE_HOST")
	case *lockFile == "" || *signalFile == "" || *ackFile == "":
		return usageError(fs, "--lock-file, --unlock-signal-file and --unlock-ack-file must not be empty")
	}
	base, err := url.Parse(c.url)
	if err != nil || base.Host == "" {
		return usageError(fs, "--url %q must be an http(s)://host[:port] URL", c.url)
	}
	cfg := bridgeConfig{
		scopes: scopes, lockFile: *lockFile, signalFile: *signalFile, ackFile: *ackFile,
		policy: bridgePolicy{grace: grace, closed: *onUnreachable == "closed", statusURL: strings.TrimSuffix(c.url, "/") + "/"},
		listen: *listen, host: *host, poll: poll, retry: 50 * time.Millisecond,
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil)).With("component", "scap-bridge")
	return runBridge(ctx, c, cfg, log)
}

// runBridge is the bridge's whole life: check the scopes, open the lock
// file, serve its state, follow the service until ctx ends, release.
func runBridge(ctx context.Context, c *cli, cfg bridgeConfig, log *slog.Logger) int {
	// The bridge reads only the verdict: the clusters' reports would be
	// most of every answer (all of them, for global).
	q := url.Values{"scope": cfg.scopes, "health": {"false"}}
	// A wrong scope or token must stop the bridge at once, not leave it
	// quietly never holding anything.
	first, ferr := c.preflight(ctx, q)
	if ferr != nil && exitCode(ferr) == exitMisuse {
		fmt.Fprintf(c.stderr, "scaplock scap-bridge: %v\n", ferr)
		return exitMisuse
	}
	lf, err := openLockFile(cfg.lockFile)
	if err != nil {
		fmt.Fprintf(c.stderr, "scaplock scap-bridge: %v\n", err)
		return exitMisuse
	}
	b := &bridge{c: c, cfg: cfg, log: log, lf: lf, q: q, now: time.Now, state: newBridgeState(cfg), reports: newBridgeReporter(c, cfg, log)}
	b.syncs = newSyncWatch(c, lf, b.state, log)
	b.clearStale()
	// A host recorded unguarded by an earlier run is guarded again now.
	b.reports.send(apiv1.BridgeBody{Guarded: true, Reason: "the bridge started and guards scap's lock"})
	// The first answer (or its failure: then the bridge starts closed)
	// takes effect before anything else runs.
	b.observe(b.result(first, ferr))
	b.apply(b.now())

	stopServing := func() {}
	if cfg.listen != "" {
		if stopServing, err = b.state.serve(cfg.listen, log); err != nil {
			lf.close()
			fmt.Fprintf(c.stderr, "scaplock scap-bridge: --listen: %v\n", err)
			return exitMisuse
		}
	}
	log.Info("started", "scopes", strings.Join(cfg.scopes, ","), "lock_file", cfg.lockFile, "url", c.url,
		"unreachable_grace", cfg.policy.grace.String(), "on_unreachable", map[bool]string{true: "closed", false: "open"}[cfg.policy.closed])
	reporting := make(chan struct{})
	go func() {
		defer close(reporting)
		b.reports.run(ctx)
	}()
	b.loop(ctx)
	<-reporting
	b.syncs.wait()
	if err := lf.close(); err != nil {
		log.Error("releasing the lock file on exit", "err", err)
	} else {
		log.Info("stopped; scap's lock file is released", "cause", context.Cause(ctx))
	}
	stopServing()
	return exitOK
}

// bridge is the running agent. Only loop's goroutine touches its fields
// (state has its own lock for the HTTP listener).
type bridge struct {
	c     *cli
	cfg   bridgeConfig
	log   *slog.Logger
	lf    *lockFile
	q     url.Values
	now   func() time.Time
	state *bridgeState

	obs         observation
	releasedFor string    // the refusal a person released by unlock-all
	heldSince   time.Time // when the lock was taken
	written     scapLock  // the file's content while held
	blockedBy   *lockHolder
	staleSignal bool // an old signal file was already reported
	reports     *bridgeReporter
	unguarded   bool // a person released the lock; not yet guarding again
	syncs       *syncWatch
}

// verdictResult is one attempt to ask the service.
type verdictResult struct {
	at      time.Time
	refusal refusal
	err     error
	// windowChange is when a deployment window next starts or ends.
	windowChange *time.Time
}

// loop reacts to the service's answers and to the lock file until ctx ends.
func (b *bridge) loop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	changed := make(chan struct{}, 1)
	results := make(chan verdictResult, 1)
	watching, asking := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watching)
		b.c.watchEvents(ctx, changed)
	}()
	go func() {
		defer close(asking)
		b.ask(ctx, changed, results)
	}()
	defer func() { cancel(); <-watching; <-asking }()

	select {
	case changed <- struct{}{}: // ask at once
	default: // the stream's hello already did
	}
	tick := time.NewTicker(b.cfg.retry)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-results:
			b.observe(r)
		case <-tick.C:
		}
		if b.lf.held {
			b.honourUnlockAll(ctx)
		}
		b.apply(b.now())
		b.syncs.look(ctx, b.now())
	}
}

// ask fetches a verdict on every event and every poll interval; a slow
// or hanging service never stalls the lock handling in loop.
func (b *bridge) ask(ctx context.Context, changed <-chan struct{}, results chan<- verdictResult) {
	poll := time.NewTicker(b.cfg.poll)
	defer poll.Stop()
	windows := newWindowTimer()
	defer windows.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-poll.C:
		case <-windows.C():
		}
		r := b.result(b.c.preflight(ctx, b.q))
		if r.err == nil {
			windows.aim(r.windowChange, r.at)
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case results <- r:
		case <-ctx.Done():
			return
		}
	}
}

// result reads one preflight answer (or the failure to get one).
func (b *bridge) result(v verdict, err error) verdictResult {
	r := verdictResult{at: b.now(), err: err}
	if err == nil {
		var resp apiv1.PreflightResponse
		if r.err = json.Unmarshal(v.body, &resp); r.err == nil {
			r.refusal, r.windowChange = refusalOf(resp, b.cfg.policy.statusURL, r.at), resp.WindowChange
		}
	}
	return r
}

// observe takes in one answer (or failure to get one).
func (b *bridge) observe(r verdictResult) {
	if r.err != nil {
		msg := r.err.Error()
		if b.obs.unreachableSince.IsZero() {
			b.obs.unreachableSince = r.at
			if b.obs.heard {
				b.log.Warn("cannot ask scaplock; keeping the current state for the grace", "err", msg, "grace", b.cfg.policy.grace.String())
			} else {
				b.log.Error("scaplock has not answered since the bridge started: holding scap's lock until it does", "err", msg)
			}
		}
		b.obs.lastErr = msg
		b.state.update(func(s *bridgeStateView) { s.LastError = msg })
		return
	}
	if !b.obs.unreachableSince.IsZero() {
		b.log.Warn("scaplock answers again", "unreachable_for", r.at.Sub(b.obs.unreachableSince).Round(time.Second).String())
	}
	b.obs = observation{heard: true, refusal: r.refusal}
	if r.refusal.id == "" {
		b.releasedFor = "" // allowed: the next refusal is a new one
	}
	b.state.update(func(s *bridgeStateView) {
		s.LastVerdict, s.LastError = r.at.UTC(), ""
	})
}

// apply moves the lock file toward what decide says.
func (b *bridge) apply(now time.Time) {
	t := decide(b.obs, b.releasedFor, now, b.cfg.policy)
	defer b.guardAgain(t)
	wasUnreachable := b.state.get().State == stateUnreachable
	switch {
	case t.hold && b.lf.held:
		if b.written.Reason != t.refusal.reason {
			next := b.written
			next.Reason = t.refusal.reason
			if err := b.lf.writeLock(next); err != nil {
				b.log.Error("rewriting the reason", "err", err)
				break
			}
			b.written = next
			b.log.Info("refusal changed; reason rewritten", "reason", next.Reason)
		}
	case t.hold:
		holder, err := b.lf.tryExclusive()
		switch {
		case errors.Is(err, errBusy):
			if b.blockedBy == nil || *b.blockedBy != holder {
				b.log.Warn("waiting to lock scap's lock file: another process holds it; never taking it away",
					"holder", holder.String(), "reason", t.refusal.reason)
				b.blockedBy = &holder
			}
		case err != nil:
			b.log.Error("locking scap's lock file", "err", err)
		default:
			b.written = scapLock{Locker: "scaplock", PID: os.Getpid(), TimestampUTC: now.UTC().Format(time.RFC3339), Reason: t.refusal.reason}
			if err := b.lf.writeLock(b.written); err != nil {
				b.log.Error("writing scap's lock file", "err", err)
			}
			b.heldSince, b.blockedBy, b.staleSignal = now, nil, false
			b.log.Info("holding scap's global lock: deploys refused", "reason", t.refusal.reason)
		}
	case b.lf.held:
		if err := b.lf.release(); err != nil {
			b.log.Error("releasing scap's lock file", "err", err)
			break
		}
		if t.unreachable {
			b.log.Error("SCAPLOCK UNREACHABLE PAST THE GRACE: released scap's lock (--on-unreachable=open); deploys are NOT guarded",
				"since", b.obs.unreachableSince.UTC().Format(time.RFC3339), "err", b.obs.lastErr)
		} else {
			b.log.Info("deploys allowed: scap's lock released")
		}
	default:
		b.blockedBy = nil
	}

	state := stateIdle
	switch {
	case t.unheard && !t.released:
		state = stateUnheard
	case t.unreachable:
		state = stateUnreachable
	case t.released:
		state = stateReleasedByPerson
	case t.hold && b.lf.held:
		state = stateHolding
	case t.hold:
		state = stateWaiting
	}
	if state == stateUnreachable && !wasUnreachable && !b.lf.held && !b.cfg.policy.closed && !t.hold {
		b.log.Error("SCAPLOCK UNREACHABLE PAST THE GRACE: deploys are NOT guarded (--on-unreachable=open)",
			"since", b.obs.unreachableSince.UTC().Format(time.RFC3339), "err", b.obs.lastErr)
	}
	if state == stateUnreachable && !wasUnreachable && !b.cfg.policy.closed && t.hold {
		b.log.Error("SCAPLOCK UNREACHABLE PAST THE GRACE: keeping scap's lock: the last answer refused deploys, and the bridge never opens what it knows is closed",
			"since", b.obs.unreachableSince.UTC().Format(time.RFC3339), "err", b.obs.lastErr, "holding", b.lf.held)
	}
	if state == stateUnreachable && !wasUnreachable && b.cfg.policy.closed {
		b.log.Error("SCAPLOCK UNREACHABLE PAST THE GRACE: refusing deploys (--on-unreachable=closed)",
			"since", b.obs.unreachableSince.UTC().Format(time.RFC3339), "err", b.obs.lastErr, "holding", b.lf.held)
	}
	b.state.update(func(s *bridgeStateView) {
		s.State, s.Holding = state, b.lf.held
		s.Reason = ""
		if b.lf.held {
			s.Reason = b.written.Reason
		} else if t.hold || t.released {
			s.Reason = t.refusal.reason
		}
		s.BlockedBy = nil
		if b.blockedBy != nil && t.hold && !b.lf.held {
			s.BlockedBy = &blockedView{Exclusive: b.blockedBy.exclusive, PID: b.blockedBy.pid}
		}
		s.UnreachableSince = nil
		if !b.obs.unreachableSince.IsZero() {
			u := b.obs.unreachableSince.UTC()
			s.UnreachableSince = &u
		}
	})
}

// clearStale resets a "scaplock" lock file left by a bridge that died
// (its record lock died with it, its JSON did not), so that scap lock
// --unlock-all does not wait for an acknowledgement nobody sends.
func (b *bridge) clearStale() {
	content, err := b.lf.read()
	if err != nil || content.Locker != "scaplock" || content.PID == os.Getpid() {
		return
	}
	if _, err := b.lf.tryExclusive(); err != nil {
		return
	}
	if err := b.lf.release(); err == nil {
		b.log.Info("reset a stale scaplock entry in scap's lock file", "pid", content.PID)
	}
}
