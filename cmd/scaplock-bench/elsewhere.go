package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	elsewhereHolds       = 10000
	elsewhereScopes      = 100
	elsewhereSubscribers = 50
	elsewhereChanges     = 20 // per round
)

// elsewhereFigures are what a change on eqiad costs on one daemon,
// accumulated over rounds.
type elsewhereFigures struct {
	preflight loadResult // verdictClients keep-alive clients
	status    []time.Duration
	fan       []time.Duration // a hold created on eqiad until every subscriber has its event

	preflightRate     float64
	statusP50         time.Duration
	statusBytes       int
	fanoutP50, fanout time.Duration // p50, p99
}

// done computes the figures from what the rounds gathered.
func (f elsewhereFigures) done() elsewhereFigures {
	f.preflightRate = f.preflight.rate()
	f.statusP50 = median(f.status)
	f.fanoutP50, f.fanout = median(f.fan), percentile(f.fan, 99)
	return f
}

// holdsElsewhere measures a change in one scope with no live holds
// elsewhere and with elsewhereHolds live holds on elsewhereScopes other
// scopes, on two scaplockd (each its own process with its embedded etcd),
// in alternating rounds: preflight's throughput, the status's latency, and
// the event stream's fan-out to elsewhereSubscribers readers.
func holdsElsewhere(ctx context.Context, dir string) []Row {
	const figure = "holds elsewhere"
	scopes := []string{"eqiad"}
	for i := range elsewhereScopes {
		scopes = append(scopes, fmt.Sprintf("other-%03d", i+1))
	}
	secret := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("e", 40)), 0o600); err != nil {
		return []Row{failed(figure, err)}
	}
	token, err := servertest.Token(secret, "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	// Two daemons, one without and one with the holds elsewhere, measured
	// in alternating slices: whatever else the machine does weighs on both.
	var cs [2]*client
	for i, name := range []string{"none", "many"} {
		d, err := startChild(ctx, "scaplockd", map[string]string{
			"SCAPLOCK_DATA_DIR": filepath.Join(dir, name), "SCAPLOCK_SCOPES": strings.Join(scopes, ","), "SCAPLOCK_JWT_SECRET_FILE": secret,
		})
		if err != nil {
			return []Row{failed(figure, err)}
		}
		defer d.stop()
		cs[i] = newClient(d.url, token)
	}
	progress("  creating %d holds on %d other scopes", elsewhereHolds, elsewhereScopes)
	if err := createElsewhere(ctx, cs[1], scopes[1:]); err != nil {
		return []Row{failed(figure, err)}
	}
	var fs [2]elsewhereFigures
	for round := range 2 {
		for i, c := range cs {
			progress("  round %d, %s holds elsewhere", round+1, []string{"no", fmt.Sprint(elsewhereHolds)}[i])
			if err := measureElsewhere(ctx, c, &fs[i]); err != nil {
				return []Row{failed(figure, err)}
			}
		}
	}
	none, many := fs[0].done(), fs[1].done()
	ratio := many.preflightRate / none.preflightRate
	row := func(f elsewhereFigures) string {
		return fmt.Sprintf("preflight %.0f req/s; status p50 %s (%.0f KB); fan-out p50 %s, p99 %s", f.preflightRate, fmtDur(f.statusP50), float64(f.statusBytes)/1024, fmtDur(f.fanoutP50), fmtDur(f.fanout))
	}
	fan := float64(many.fanoutP50) / float64(none.fanoutP50)
	return []Row{
		info("baseline: a change on eqiad with no live holds elsewhere (101 scopes, own process, embedded etcd; alternating rounds with the next)", row(none)),
		info(fmt.Sprintf("the same with %d live holds on %d other scopes", elsewhereHolds, elsewhereScopes), row(many)),
		check(fmt.Sprintf("preflight on eqiad with %d holds elsewhere vs none, %d keep-alive clients", elsewhereHolds, verdictClients), fmt.Sprintf("%.2f×", ratio), "≥ 0.83× (within 1.2×)", ratio >= 0.83),
		check(fmt.Sprintf("event-stream fan-out of a change on eqiad to %d readers, p50, %d holds elsewhere vs none", elsewhereSubscribers, elsewhereHolds),
			fmt.Sprintf("%.2f× (%s vs %s)", fan, fmtDur(many.fanoutP50), fmtDur(none.fanoutP50)), "≤ 1.2×", fan <= 1.2),
		info("GET /api/v1/status?health=false with holds elsewhere vs none, p50 (its answer lists every live hold: it grows with them by contract)",
			fmt.Sprintf("%.2f× (%s vs %s; %.0f KB vs %.0f KB)", float64(many.statusP50)/float64(none.statusP50), fmtDur(many.statusP50), fmtDur(none.statusP50), float64(many.statusBytes)/1024, float64(none.statusBytes)/1024)),
	}
}

// createElsewhere creates elsewhereHolds manual holds spread over scopes,
// with 8 concurrent writers.
func createElsewhere(ctx context.Context, c *client, scopes []string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= elsewhereHolds {
					return
				}
				if err := c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: scopes[int(i)%len(scopes)], Reason: "bench: a leaked hold", Duration: "2h"}, nil, http.StatusCreated); err != nil {
					errs <- fmt.Errorf("hold %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// measureElsewhere adds one round on c to f: preflight on eqiad, the
// status, and the fan-out of hold changes on eqiad.
func measureElsewhere(ctx context.Context, c *client, f *elsewhereFigures) error {
	url := c.base + "/api/v1/preflight?scope=eqiad"
	loadFor(ctx, url, 500*time.Millisecond, nil)
	for range 2 {
		if err := f.preflight.add(ctx, url); err != nil {
			return err
		}
	}
	answered := 0
	var lastErr error
	for range 10 {
		start := time.Now()
		body, err := fetch(ctx, c, "/api/v1/status?health=false")
		if err != nil {
			lastErr = err // a 503 on a starved machine: the figure is the answers' latency
			continue
		}
		f.status = append(f.status, time.Since(start))
		f.statusBytes = len(body)
		answered++
	}
	if answered < 5 {
		return fmt.Errorf("only %d of 10 status answers: %w", answered, lastErr)
	}
	fan, err := fanout(ctx, c)
	if err != nil {
		return err
	}
	f.fan = append(f.fan, fan...)
	return nil
}

// fanout opens elsewhereSubscribers streams, then creates and releases a
// hold on eqiad elsewhereChanges times, and returns for each creation how
// long until the last subscriber read its event.
func fanout(ctx context.Context, c *client) ([]time.Duration, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each subscriber reports when it reads a "created" event for eqiad.
	seen := make(chan time.Time, elsewhereSubscribers*elsewhereChanges*2)
	var ready sync.WaitGroup
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range elsewhereSubscribers {
		ready.Add(1)
		s := streamClient(c.base)
		wg.Go(func() {
			sc, body, err := openEvents(sctx, s)
			ready.Done()
			if err != nil {
				return
			}
			defer body.Close()
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "data: ") && strings.Contains(l, `"action":"created"`) && strings.Contains(l, `"scope":"eqiad"`) {
					seen <- time.Now()
				}
			}
		})
	}
	ready.Wait()
	time.Sleep(500 * time.Millisecond) // past every stream's hello
	var out []time.Duration
	for i := range elsewhereChanges {
		start := time.Now()
		var h struct{ ID string }
		if err := c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: "eqiad", Reason: fmt.Sprintf("bench: fan-out %d", i)}, &h, http.StatusCreated); err != nil {
			return nil, err
		}
		var last time.Time
		for range elsewhereSubscribers {
			select {
			case t := <-seen:
				last = t
			case <-time.After(10 * time.Second):
				return nil, fmt.Errorf("change %d: not every subscriber read it within 10s", i)
			}
		}
		out = append(out, last.Sub(start))
		if err := c.do(ctx, http.MethodDelete, "/api/v1/holds/"+h.ID, api.ReleaseBody{Reason: "bench"}, nil, http.StatusOK); err != nil {
			return nil, err
		}
	}
	return out, nil
}
