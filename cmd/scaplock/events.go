package main

import (
	"context"
	"net/http"
	"time"

	sse "github.com/tmaxmax/go-sse"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// streamRetry is the pause before opening the event stream again after the
// service refused it (a non-200 answer is final for the sse client).
const streamRetry = 2 * time.Second

// watchEvents sends on changed (without blocking) for every message of
// GET /api/v1/events but the per-interval samples, "hello" included, so a reconnect also prompts a fresh
// look. It reconnects when the stream drops and returns when ctx ends.
func (c *cli) watchEvents(ctx context.Context, changed chan<- struct{}) {
	u, err := c.endpoint("/api/v1/events", nil)
	if err != nil {
		return
	}
	client := &sse.Client{
		HTTPClient: c.http,
		Backoff: sse.Backoff{
			InitialInterval: 250 * time.Millisecond, Multiplier: 2, Jitter: 0.25, MaxInterval: 5 * time.Second,
		},
		ResponseValidator: sse.DefaultValidator,
	}
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return
		}
		if c.authorize(req) != nil {
			return // the same error surfaces on the next call
		}
		conn := client.NewConnection(req)
		conn.SubscribeToAll(func(e sse.Event) {
			if e.Type == string(apiv1.ChangeSamples) || e.Type == string(apiv1.ChangeHealth) {
				// Values and reports: a verdict changes only with an event
				// (a hold, a window, a leader's auto hold).
				return
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		_ = conn.Connect() // returns on ctx's end or a final refusal
		select {
		case <-ctx.Done():
		case <-time.After(streamRetry):
		}
	}
}
