package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Every scap sync holds scap's lock file shared (fcntl.lockf LOCK_SH) for
// its whole run. The bridge looks at who holds it, and when a holder
// goes, records the sync: a synced event in the history (under the
// bridge's own token, which needs the deployer role) and the
// scaplock_scap_sync* metrics on its --listen /metrics. An unmodified
// scap is measured this way, the durations the incident report quotes.

// syncLookEvery is how often the bridge reads the lock's holders: a sync
// takes minutes, so a second's error on its duration is nothing.
const syncLookEvery = time.Second

// syncQueue bounds the syncs waiting to be recorded while the service is
// slow; past it they are counted in the metrics only.
const syncQueue = 64

// syncBuckets are scaplock_scap_sync_duration_seconds's, up to 30 minutes.
var syncBuckets = []float64{30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800}

// syncWatch follows the shared locks on scap's lock file. look is called
// from the bridge's loop only; the sender goroutine it starts ends with
// the loop's ctx and wait joins it.
type syncWatch struct {
	c     *cli
	lf    *lockFile
	host  string
	log   *slog.Logger
	state *bridgeState

	lastLook time.Time
	running  map[int]runningSync // by pid
	send     chan apiv1.SyncBody
	wg       sync.WaitGroup
	started  bool
	// holders reads the pids holding the file shared; /proc/locks on Linux.
	holders func() ([]int, error)
}

type runningSync struct {
	since         time.Time
	user, command string
}

// syncStats are the bridge's sync metrics, kept in its state view.
type syncStats struct {
	Total   int       `json:"total"`
	Sum     float64   `json:"duration_seconds_sum"`
	Buckets []int     `json:"-"` // cumulative counts per syncBuckets
	Last    time.Time `json:"last,omitzero"`
}

func newSyncWatch(c *cli, lf *lockFile, state *bridgeState, log *slog.Logger) *syncWatch {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	w := &syncWatch{c: c, lf: lf, host: host, log: log, state: state, running: map[int]runningSync{}, send: make(chan apiv1.SyncBody, syncQueue)}
	w.holders = func() ([]int, error) { return sharedHolders(lf.f, "/proc/locks") }
	return w
}

// look notes the syncs that began or ended since the last look.
func (w *syncWatch) look(ctx context.Context, now time.Time) {
	if now.Sub(w.lastLook) < syncLookEvery {
		return
	}
	w.lastLook = now
	pids, err := w.holders()
	if err != nil {
		w.log.Debug("cannot tell scap's syncs", "err", err)
		return
	}
	for _, pid := range pids {
		if _, ok := w.running[pid]; !ok && pid != os.Getpid() {
			user, command := processOf(pid)
			w.running[pid] = runningSync{since: now, user: user, command: command}
			w.log.Info("scap sync started", "pid", pid, "user", user)
		}
	}
	for pid, r := range w.running {
		if slices.Contains(pids, pid) {
			continue
		}
		delete(w.running, pid)
		w.finished(ctx, pid, r, now)
	}
}

// finished counts a sync and queues it to be recorded.
func (w *syncWatch) finished(ctx context.Context, pid int, r runningSync, now time.Time) {
	took := now.Sub(r.since).Seconds()
	w.log.Info("scap sync finished", "pid", pid, "user", r.user, "duration_s", took)
	w.state.update(func(s *bridgeStateView) { s.Syncs.observe(took, now) })
	body := apiv1.SyncBody{ID: newSyncID(), Host: w.host, Pid: pid, User: r.user, Command: r.command, EndedAt: now.UTC(), DurationS: took}
	if !w.started {
		w.started = true
		w.wg.Go(func() { w.record(ctx) })
	}
	select {
	case w.send <- body:
	default:
		w.log.Warn("scap sync not recorded: too many waiting for the service", "pid", pid)
	}
}

// record posts queued syncs until ctx ends. A token without the deployer
// role stops the recording (said once); the metrics still count.
func (w *syncWatch) record(ctx context.Context) {
	for {
		var b apiv1.SyncBody
		select {
		case <-ctx.Done():
			return
		case b = <-w.send:
		}
		_, err := w.c.call(ctx, request{method: http.MethodPost, path: "/api/v1/syncs", body: b, idemKey: b.ID}, http.StatusCreated, nil)
		var ae *apiError
		switch {
		case err == nil:
		case errors.As(err, &ae) && (ae.status == http.StatusForbidden || ae.status == http.StatusUnauthorized):
			w.log.Warn("scap syncs are not recorded in the history: the bridge's token lacks the deployer role", "err", err.Error())
			return
		default:
			w.log.Warn("scap sync not recorded", "pid", b.Pid, "err", err.Error())
		}
	}
}

// wait joins the recorder; its ctx must have ended.
func (w *syncWatch) wait() { w.wg.Wait() }

func (s *syncStats) observe(seconds float64, now time.Time) {
	if s.Buckets == nil {
		s.Buckets = make([]int, len(syncBuckets))
	}
	s.Total++
	s.Sum += seconds
	s.Last = now.UTC()
	for i, le := range syncBuckets {
		if seconds <= le {
			s.Buckets[i]++
		}
	}
}

// metrics is the sync counter and histogram in the text format.
func (s syncStats) metrics() string {
	var b strings.Builder
	b.WriteString("# HELP scaplock_scap_syncs_total scap syncs the bridge saw end (a shared lock on scap's lock file that came and went).\n# TYPE scaplock_scap_syncs_total counter\n")
	fmt.Fprintf(&b, "scaplock_scap_syncs_total %d\n", s.Total)
	b.WriteString("# HELP scaplock_scap_sync_duration_seconds How long scap syncs held scap's lock file shared.\n# TYPE scaplock_scap_sync_duration_seconds histogram\n")
	for i, le := range syncBuckets {
		n := 0
		if s.Buckets != nil {
			n = s.Buckets[i]
		}
		fmt.Fprintf(&b, "scaplock_scap_sync_duration_seconds_bucket{le=\"%g\"} %d\n", le, n)
	}
	fmt.Fprintf(&b, "scaplock_scap_sync_duration_seconds_bucket{le=\"+Inf\"} %d\n", s.Total)
	fmt.Fprintf(&b, "scaplock_scap_sync_duration_seconds_sum %g\n", s.Sum)
	fmt.Fprintf(&b, "scaplock_scap_sync_duration_seconds_count %d\n", s.Total)
	return b.String()
}

// sharedHolders are the pids holding a POSIX read lock on f, from the
// kernel's lock table (locksPath, /proc/locks). Waiters ("->") hold
// nothing yet and are left out.
func sharedHolders(f *os.File, locksPath string) ([]int, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, errors.New("no inode for the lock file")
	}
	dev := uint64(st.Dev)
	want := fmt.Sprintf("%02x:%02x:%d", (dev>>8)&0xfff|(dev>>32)&^0xfff, dev&0xff|(dev>>12)&^0xff, st.Ino)
	lf, err := os.Open(locksPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	return parseLocks(lf, want)
}

// parseLocks picks from /proc/locks the pids of held POSIX READ locks on
// the file named dev:ino ("fd:01:1234"), e.g. from
// "1: POSIX  ADVISORY  READ 4242 fd:01:1234 0 EOF".
func parseLocks(r io.Reader, file string) ([]int, error) {
	var pids []int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] == "->" || f[1] != "POSIX" || f[3] != "READ" || f[5] != file {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids, sc.Err()
}

// processOf is a pid's user and command line, "" where /proc does not say.
func processOf(pid int) (userName, command string) {
	dir := "/proc/" + strconv.Itoa(pid)
	if fi, err := os.Stat(dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			userName = strconv.Itoa(int(st.Uid))
			if u, err := user.LookupId(userName); err == nil {
				userName = u.Username
			}
		}
	}
	if raw, err := os.ReadFile(dir + "/cmdline"); err == nil {
		command = strings.Map(func(r rune) rune {
			if !unicode.IsPrint(r) {
				return ' '
			}
			return r
		}, strings.TrimRight(string(raw), "\x00"))
		command = truncate(strings.ToValidUTF8(command, "?"), 200)
	}
	return userName, command
}

func newSyncID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sync-" + hex.EncodeToString(b[:])
}
