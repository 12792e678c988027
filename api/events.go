package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// heartbeat keeps idle proxies from closing the stream.
const heartbeat = 15 * time.Second

// freshEvery is how often an open stream checks that the store is still
// confirmed; a stream that stays open while the store is not would keep
// its readers on a verdict the service no longer has.
const freshEvery = time.Second

// streamSendBuffer is an event stream's kernel send buffer: a reader that
// stops reading costs this much, not the megabytes Linux would grow it to,
// and its writes block (then time out) soon.
const streamSendBuffer = 64 << 10

// streamEndGrace is how long the end of a stream may take to write.
const streamEndGrace = 250 * time.Millisecond

type connKey struct{}

// ConnContext is the http.Server hook that lets event streams size their
// connection's send buffer.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// events streams every change as Server-Sent Events: "hello" first with
// the current revision, then "event", "health" and "leader" messages. While
// the store cannot be confirmed it answers 503, and it ends open streams.
// Every write has a deadline of StreamStallTimeout: a reader that stops
// reading is disconnected, not kept with its buffers. Past MaxStreams open
// streams it answers 503; shutting down ends every stream at once.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	// The hello's revision is an answer too: never older than one given.
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	if !a.streams.enter() {
		a.fail(w, fmt.Errorf("%d event streams are open, the most this service serves (SCAPLOCK_MAX_STREAMS): %w", a.cfg.MaxStreams, errTooManyStreams))
		return
	}
	defer a.streams.leave()
	if tc, ok := r.Context().Value(connKey{}).(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(streamSendBuffer)
	}
	rc := http.NewResponseController(w)
	// A stream has no body to read: the server's read timeout must not end it.
	_ = rc.SetReadDeadline(time.Time{})
	// Whatever ends the stream (shutdown included, even in the middle of a
	// write), the last flush, which ends the chunked body cleanly for a
	// reader that reads, must not wait long on one that does not.
	var mu sync.Mutex
	ended := false
	end := func() {
		mu.Lock()
		defer mu.Unlock()
		ended = true
		_ = rc.SetWriteDeadline(time.Now().Add(streamEndGrace))
	}
	defer context.AfterFunc(r.Context(), end)()
	defer end()
	stall := a.cfg.StreamStallTimeout
	// arm gives the next write StreamStallTimeout, unless the stream ended.
	arm := func() error {
		mu.Lock()
		defer mu.Unlock()
		if ended {
			return context.Cause(r.Context())
		}
		return rc.SetWriteDeadline(time.Now().Add(stall))
	}
	changes, cancel := a.store.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(id int64, event string, data []byte) error {
		if err := arm(); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, event, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	rev := a.store.Revision()
	if arm() != nil {
		return
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n"); err != nil {
		return
	}
	hello, err := json.Marshal(map[string]int64{"revision": rev})
	if err != nil || send(rev, "hello", hello) != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	fresh := time.NewTicker(freshEvery)
	defer fresh.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-fresh.C:
			if a.store.Fresh() != nil {
				return // the client reconnects, meets the 503 and says so
			}
		case c, ok := <-changes:
			if !ok {
				return // dropped for lagging or shutting down; the client reconnects
			}
			data, err := c.JSON()
			if err != nil || send(c.Revision, string(c.Type), data) != nil {
				return
			}
		case <-tick.C:
			if arm() != nil {
				return
			}
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
