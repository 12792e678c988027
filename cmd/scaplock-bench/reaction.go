package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
)

const reactionRepetitions = 3

var reactionWindows = gateWindows{
	interval: 500 * time.Millisecond, tripAfter: 3, clearAfter: 4,
	timeout: 450 * time.Millisecond, warn: 150 * time.Millisecond, crit: 250 * time.Millisecond,
}

// slowReadyz is above the crit limit and below the timeout: a slow, not a
// dead, apiserver.
const slowReadyz = 350 * time.Millisecond

// gateReaction measures, against a real scaplockd whose gate watches one
// scripted TLS apiserver, the time from the apiserver turning slow until
// preflight refuses, and from its recovery until preflight allows again.
func gateReaction(ctx context.Context, dir string) []Row {
	const figure = "gate reaction"
	a, clusters, err := oneAPIServer(dir, reactionWindows)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer a.Close()
	d, err := startDaemon(ctx, map[string]string{"SCAPLOCK_CLUSTERS_FILE": clusters})
	if err != nil {
		return []Row{failed(figure+": start scaplockd", err)}
	}
	defer d.stop()
	c := newClient(d.URL(), "")
	if err := waitHealthy(ctx, c, "eqiad", 20*time.Second); err != nil {
		return []Row{failed(figure, err)}
	}

	var trips, clears []time.Duration
	for i := range reactionRepetitions {
		a.SetLatency(slowReadyz)
		trip, err := until(ctx, c, false, 20*time.Second)
		if err != nil {
			return []Row{failed(figure, fmt.Errorf("repetition %d, waiting for a refusal: %w", i+1, err))}
		}
		a.SetLatency(0)
		clear, err := until(ctx, c, true, 20*time.Second)
		if err != nil {
			return []Row{failed(figure, fmt.Errorf("repetition %d, waiting for recovery: %w", i+1, err))}
		}
		trips, clears = append(trips, trip), append(clears, clear)
		progress("  repetition %d: refused after %s, allowed again after %s", i+1, fmtDur(trip), fmtDur(clear))
	}
	w := reactionWindows
	tripTarget := time.Duration(w.tripAfter)*w.interval + w.interval + time.Second
	clearTarget := time.Duration(w.clearAfter)*w.interval + w.interval + time.Second
	setting := fmt.Sprintf("interval %s, trip_after %d, clear_after %d, min_hold 0; readyz %s vs crit %s", w.interval, w.tripAfter, w.clearAfter, slowReadyz, w.crit)
	return []Row{
		info("gate reaction setup", setting),
		check("apiserver turns slow → preflight refuses, median / max",
			fmt.Sprintf("%s / %s (n=%d)", fmtDur(median(trips)), fmtDur(slices.Max(trips)), len(trips)),
			fmt.Sprintf("≤ %s (window %s + interval + 1s)", tripTarget, time.Duration(w.tripAfter)*w.interval),
			slices.Max(trips) <= tripTarget),
		check("apiserver recovers → preflight allows, median / max",
			fmt.Sprintf("%s / %s (n=%d)", fmtDur(median(clears)), fmtDur(slices.Max(clears)), len(clears)),
			fmt.Sprintf("≤ %s (window %s + interval + 1s)", clearTarget, time.Duration(w.clearAfter)*w.interval),
			slices.Max(clears) <= clearTarget),
	}
}

// until polls preflight for eqiad every 10 ms until its answer is allowed
// and returns how long that took.
func until(ctx context.Context, c *client, allowed bool, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		got, err := c.preflight(ctx, "eqiad")
		if err != nil {
			return 0, err
		}
		if got == allowed {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("preflight not allowed=%v within %s", allowed, limit)
}

// waitHealthy waits until the gate leads and has judged cluster ok, so a
// measurement starts from a healthy, evaluated cluster.
func waitHealthy(ctx context.Context, c *client, cluster string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var st api.StatusResponse
		if err := c.do(ctx, "GET", "/api/v1/status", nil, &st, 200); err != nil {
			return err
		}
		if h, ok := st.Health[cluster]; ok && st.Gate.Leader != "" && h.Status == apiv1.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the gate did not lead and judge " + cluster + " ok within " + limit.String())
}
