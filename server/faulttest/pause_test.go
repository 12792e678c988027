package faulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

// Preflights are fired at the frozen replica from stormClients goroutines,
// for stormFor after it resumes, then until one sent after the write was
// acknowledged is refused, for stormMax in all at most.
const (
	stormClients = 4
	stormFor     = time.Second
	stormMax     = 10 * time.Second
)

const pauseScope = "pause"

// pauseRound is when the frozen replica is resumed.
type pauseRound struct {
	name string
	// concurrent: resumed while the write is in flight; otherwise once
	// the write is acknowledged, and resumeAfter later.
	concurrent  bool
	resumeAfter time.Duration
}

// A replica process frozen with SIGSTOP, as a long GC pause or a VM
// freeze would freeze it, just after it answered a preflight, while a hold
// is created through the other replica: the write is acknowledged without
// waiting for the frozen replica (no replica waits for another), and the
// resumed replica never allows a deploy to a preflight sent after that
// acknowledgement, though its cache was frozen before the write. Three
// rounds: resumed as soon as the write is acknowledged; resumed 1.25 s
// later, with preflights sent to it while it is frozen; resumed while the
// write is in flight.
func TestPausedReplicaNeverAnswersStale(t *testing.T) {
	f := newFixture(t, 0)
	bin := scaplockd(t)
	a := f.replicaProcess(t, bin, "pause-a", t.TempDir())
	b := f.replicaProcess(t, bin, "pause-b", t.TempDir())
	// Cleanups run last first: b is resumed before it is killed.
	t.Cleanup(func() { _ = syscall.Kill(b.cmd.Process.Pid, syscall.SIGCONT) })
	p := &pausing{f: f, a: a.url(t, 30*time.Second), b: b.url(t, 30*time.Second), frozen: b}

	for _, r := range []pauseRound{
		{name: "resumed once the write is acknowledged"},
		{name: "resumed 1.25 s after the write, preflights sent while frozen", resumeAfter: 1250 * time.Millisecond},
		{name: "resumed while the write is in flight", concurrent: true},
	} {
		p.round(t, r)
		if t.Failed() {
			break
		}
	}
}

// pausing is the test's two replica processes: writes go to a, preflights
// to b, which is frozen.
type pausing struct {
	f      *fixture
	a, b   string
	frozen *proc
}

// round freezes b, creates a hold through a, resumes b as r says and
// checks every preflight b answered; it releases the hold and waits for b
// to allow deploys again, never refusing once the release is
// acknowledged.
func (p *pausing) round(t *testing.T, r pauseRound) {
	t.Helper()
	for _, base := range []string{p.a, p.b} {
		eventually(t, base+" allows deploys to "+pauseScope, 15*time.Second, func() bool {
			return call(base, "GET", "/api/v1/preflight?scope="+pauseScope, "", "", nil).status == http.StatusOK
		})
	}
	pid := p.frozen.cmd.Process.Pid

	p.frozen.pause(t)
	paused := time.Now()
	var acked atomic.Pointer[time.Time]
	written := make(chan reply, 1)
	go func() {
		w := call(p.a, "POST", "/api/v1/holds", p.f.sre, newKey(), api.HoldBody{Scope: pauseScope, Reason: r.name})
		if w.status == http.StatusCreated {
			now := time.Now()
			acked.Store(&now)
		}
		written <- w
	}()

	var w reply
	var s *storm
	stillWaiting := false
	if r.concurrent {
		select {
		case w = <-written:
		default:
			stillWaiting = true
		}
		p.frozen.resume(t)
		s = startStorm(p.b, &acked)
		if stillWaiting {
			w = <-written
		}
	} else {
		w = <-written
		// Preflights sent now wait in the frozen replica's backlog.
		s = startStorm(p.b, &acked)
		time.Sleep(r.resumeAfter)
		p.frozen.resume(t)
	}
	resumed := time.Now()
	samples := s.finish()

	if w.status != http.StatusCreated {
		t.Fatalf("%s: the hold through the other replica while pid %d was frozen: %s", r.name, pid, w)
	}
	if w.took > requestTimeout+answerSlack {
		t.Errorf("%s: the hold was acknowledged after %s, beyond the request timeout %s and slack %s", r.name, w.took, requestTimeout, answerSlack)
	}
	var h lock.Hold
	w.decode(t, &h)
	c := p.check(t, r, samples, *acked.Load(), h.Revision, paused, resumed)
	t.Logf("%s: pid %d frozen for %s; hold %s acknowledged at revision %d after %s (still in flight at the resume: %v); "+
		"preflights to the frozen replica sent after the acknowledgement: %d refused, %d undecided, first refusal %s after the resume; sent before it: %v",
		r.name, pid, resumed.Sub(paused).Round(time.Millisecond), h.ID, h.Revision, w.took.Round(time.Millisecond), stillWaiting,
		c.after[http.StatusLocked], c.after[http.StatusServiceUnavailable], c.firstRefusal.Round(time.Millisecond), c.before)

	rel := call(p.a, "DELETE", "/api/v1/holds/"+h.ID, p.f.sre, newKey(), api.ReleaseBody{Reason: "end of " + r.name})
	if rel.status != http.StatusOK {
		t.Fatalf("%s: release %s: %s", r.name, h.ID, rel)
	}
	// The resumed replica never refuses after the release was
	// acknowledged.
	eventually(t, "the resumed replica allows deploys to "+pauseScope+" after the release", 15*time.Second, func() bool {
		pf := call(p.b, "GET", "/api/v1/preflight?scope="+pauseScope, "", "", nil)
		if pf.status == http.StatusLocked {
			t.Errorf("%s: STALE: pid %d refused after the release of %s was acknowledged: %s", r.name, pid, h.ID, pf)
		}
		return pf.status == http.StatusOK
	})
}

// stormCounts are the statuses of a round's preflights, by whether they
// were sent before or after the write was acknowledged.
type stormCounts struct {
	before, after map[int]int
	// firstRefusal is how long after the resume the first refusal to a
	// preflight sent after the acknowledgement arrived.
	firstRefusal time.Duration
}

// check fails the test for every preflight sent after the write at rev
// was acknowledged (at ack) that allowed deploys or was not answered 423
// or 503, and when none was refused.
func (p *pausing) check(t *testing.T, r pauseRound, samples []preflightSample, ack time.Time, rev int64, paused, resumed time.Time) stormCounts {
	t.Helper()
	c := stormCounts{before: map[int]int{}, after: map[int]int{}, firstRefusal: -1}
	since := func(at time.Time) time.Duration { return at.Sub(paused).Round(time.Millisecond) }
	for _, s := range samples {
		if s.sent.Before(ack) {
			c.before[s.r.status]++
			if s.r.status != http.StatusOK && s.r.status != http.StatusLocked && s.r.status != http.StatusServiceUnavailable {
				t.Errorf("%s: preflight sent %s after the freeze: %s", r.name, since(s.sent), s.r)
			}
			continue
		}
		c.after[s.r.status]++
		answered := s.sent.Add(s.r.took)
		switch s.r.status {
		case http.StatusLocked:
			if d := answered.Sub(resumed); c.firstRefusal < 0 || d < c.firstRefusal {
				c.firstRefusal = d
			}
		case http.StatusServiceUnavailable:
		case http.StatusOK:
			t.Errorf("%s: STALE: pid %d allowed deploys at revision %d to a preflight sent %s after the freeze, %s after the hold at revision %d was acknowledged "+
				"(acknowledged %s, resumed %s, answered %s after the freeze): %s",
				r.name, p.frozen.cmd.Process.Pid, s.rev, since(s.sent), s.sent.Sub(ack).Round(time.Millisecond), rev,
				since(ack), since(resumed), since(answered), s.r)
		default:
			t.Errorf("%s: preflight sent %s after the freeze: %s", r.name, since(s.sent), s.r)
		}
	}
	if c.after[http.StatusLocked] == 0 {
		t.Errorf("%s: the resumed replica refused no preflight within %s: %v", r.name, stormMax, c.after)
	}
	return c
}

// preflightSample is one preflight sent to the frozen replica.
type preflightSample struct {
	sent time.Time
	r    reply
	rev  int64 // the revision the answer reflects
}

// storm sends preflights for pauseScope to one replica from stormClients
// goroutines until finish.
type storm struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []preflightSample
	// refused: a preflight sent after the acknowledgement was refused.
	refused atomic.Bool
}

// startStorm starts the preflights; acked holds the time the write was
// acknowledged once it was.
func startStorm(base string, acked *atomic.Pointer[time.Time]) *storm {
	s := &storm{stop: make(chan struct{})}
	for range stormClients {
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				sent := time.Now()
				r := call(base, "GET", "/api/v1/preflight?scope="+pauseScope, "", "", nil)
				sample := preflightSample{sent: sent, r: r}
				var pf api.PreflightResponse
				if json.Unmarshal(r.body, &pf) == nil {
					sample.rev = pf.Revision
				}
				if at := acked.Load(); at != nil && sent.After(*at) && r.status == http.StatusLocked {
					s.refused.Store(true)
				}
				s.mu.Lock()
				s.samples = append(s.samples, sample)
				s.mu.Unlock()
			}
		})
	}
	return s
}

// finish lets the preflights go on for stormFor, then until one sent
// after the acknowledgement was refused or stormMax has passed, stops and
// joins them and returns what they were told.
func (s *storm) finish() []preflightSample {
	time.Sleep(stormFor)
	for deadline := time.Now().Add(stormMax - stormFor); !s.refused.Load() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	close(s.stop)
	s.wg.Wait()
	return s.samples
}

// pause freezes p with SIGSTOP and waits until every thread of it is
// stopped.
func (p *proc) pause(t *testing.T) {
	t.Helper()
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP pid %d: %v", pid, err)
	}
	for deadline := time.Now().Add(5 * time.Second); !stopped(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not stopped 5s after SIGSTOP", pid)
		}
	}
}

// resume lets p run again with SIGCONT.
func (p *proc) resume(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT pid %d: %v", p.cmd.Process.Pid, err)
	}
}

// stopped reports whether every thread of pid is in the stopped state.
func stopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, path := range tasks {
		stat, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		// "pid (comm) state ...": comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return false
		}
	}
	return true
}
