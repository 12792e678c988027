package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// heartbeat keeps idle proxies from closing the stream.
const heartbeat = 15 * time.Second

// freshEvery is how often an open stream checks that the store is still
// confirmed; a stream that stays open while the store is not would keep
// its readers on a verdict the service no longer has.
const freshEvery = time.Second

// events streams every change as Server-Sent Events: "hello" first with
// the current revision, then "event", "health" and "leader" messages. While
// the store cannot be confirmed it answers 503, and it ends open streams.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	if err := a.store.Fresh(); err != nil {
		a.fail(w, err)
		return
	}
	rc := http.NewResponseController(w)
	changes, cancel := a.store.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(id int64, event string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, event, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	rev := a.store.Revision()
	if _, err := fmt.Fprint(w, "retry: 2000\n"); err != nil {
		return
	}
	if send(rev, "hello", map[string]int64{"revision": rev}) != nil {
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
			if send(c.Revision, string(c.Type), c) != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
