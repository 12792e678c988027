package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaplock/scaplock/api"
)

// kill ends the child with SIGKILL, by its pid, and waits for it.
func (c *process) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// verdictCounts are what preflights for a held scope answered.
type verdictCounts struct{ refused, undecided, allowed int64 }

func (v verdictCounts) String() string {
	return fmt.Sprintf("%d refused, %d answered 503 or nothing, %d allowed", v.refused, v.undecided, v.allowed)
}

// verdictPoll sends preflights for a held scope to each of urls, one
// client each, every 20 ms, until stop.
type verdictPoll struct {
	refused, undecided, allowed atomic.Int64
	cancel                      context.CancelFunc
	wg                          sync.WaitGroup
}

func pollVerdicts(ctx context.Context, urls []string, scope string) *verdictPoll {
	p := &verdictPoll{}
	ctx, p.cancel = context.WithCancel(ctx)
	for _, u := range urls {
		c := newClient(u, "")
		p.wg.Go(func() {
			for ctx.Err() == nil {
				allowed, err := c.preflight(ctx, scope)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					p.undecided.Add(1)
				case allowed:
					p.allowed.Add(1)
				default:
					p.refused.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	return p
}

func (p *verdictPoll) stop() verdictCounts {
	p.cancel()
	p.wg.Wait()
	return verdictCounts{p.refused.Load(), p.undecided.Load(), p.allowed.Load()}
}

// writeProbeEvery is how often writesAgain sends a write, each on its own
// and with its own deadline, so that one write stuck on a dead etcd
// leader holds none of the later ones up.
const writeProbeEvery = 50 * time.Millisecond

// writesAgain sends a hold create on scope through c every writeProbeEvery from
// since on, and returns how long after since the first one was
// acknowledged: when writes were accepted again. Writes sent before since
// do not count. It gives up after a minute.
func writesAgain(ctx context.Context, c *client, scope string, since time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	first := make(chan time.Duration, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	tick := time.NewTicker(writeProbeEvery)
	defer tick.Stop()
	var last atomic.Pointer[error]
	for {
		wg.Go(func() {
			wctx, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			err := c.do(wctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: scope, Reason: "bench: writes again?"}, nil, http.StatusCreated)
			if err != nil {
				last.Store(&err)
				return
			}
			select {
			case first <- time.Since(since):
			default:
			}
		})
		select {
		case gap := <-first:
			return gap, nil
		case <-ctx.Done():
			err := ctx.Err()
			if l := last.Load(); l != nil {
				err = *l
			}
			return 0, fmt.Errorf("no write accepted within a minute: %w", err)
		case <-tick.C:
		}
	}
}

// waitReady polls /readyz until it answers 200, for at most within.
func (c *client) waitReady(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, http.StatusOK)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s: %w", c.base, within, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
