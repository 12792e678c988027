package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The bridge's states, as /state and the scaplock_bridge_state metric show them.
const (
	stateIdle             = "idle"               // deploys allowed, lock not held
	stateHolding          = "holding"            // refused, scap's lock held with the reason
	stateWaiting          = "waiting"            // refused, but another process holds the lock file
	stateReleasedByPerson = "released-by-person" // refused, but a person ran scap lock --unlock-all
	stateUnreachable      = "unreachable"        // the service could not be asked past the grace
	stateUnheard          = "unheard"            // the service has not answered since the start: closed
)

var bridgeStates = []string{stateIdle, stateHolding, stateWaiting, stateReleasedByPerson, stateUnreachable, stateUnheard}

// bridgeStateView is GET /state.
type bridgeStateView struct {
	State            string       `json:"state"`
	Holding          bool         `json:"holding"`
	Scopes           []string     `json:"scopes"`
	LockFile         string       `json:"lock_file"`
	Reason           string       `json:"reason,omitempty"`
	BlockedBy        *blockedView `json:"blocked_by,omitempty"`
	ReleasedBy       *releaseView `json:"released_by,omitempty"`
	LastVerdict      time.Time    `json:"last_verdict,omitzero"`
	UnreachableSince *time.Time   `json:"unreachable_since,omitempty"`
	LastError        string       `json:"last_error,omitempty"`
	Syncs            syncStats    `json:"syncs"`
}

type blockedView struct {
	Exclusive bool `json:"exclusive"` // a person's lock; false: syncs running
	PID       int  `json:"pid"`
}

type releaseView struct {
	Releaser string    `json:"releaser"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// bridgeState is the bridge's state shared with its HTTP listener.
type bridgeState struct {
	mu   sync.Mutex
	view bridgeStateView
}

func newBridgeState(cfg bridgeConfig) *bridgeState {
	return &bridgeState{view: bridgeStateView{State: stateIdle, Scopes: cfg.scopes, LockFile: cfg.lockFile}}
}

func (s *bridgeState) update(f func(*bridgeStateView)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.view)
}

func (s *bridgeState) get() bridgeStateView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view
}

// serve answers /state and /metrics on addr; stop shuts it down and joins.
func (s *bridgeState) serve(addr string, log *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		printJSON(w, s.get())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(s.get().metrics()))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("state listener", "err", err)
		}
	}()
	log.Info("state listener", "addr", "http://"+l.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// metrics is the Prometheus text exposition of v. Written by hand: four
// gauges do not justify linking the Prometheus client into the CLI.
func (v bridgeStateView) metrics() string {
	var b strings.Builder
	b.WriteString("# HELP scaplock_bridge_state The scap bridge's state: 1 for the current one.\n# TYPE scaplock_bridge_state gauge\n")
	for _, st := range bridgeStates {
		fmt.Fprintf(&b, "scaplock_bridge_state{state=%q} %d\n", st, boolInt(v.State == st))
	}
	b.WriteString("# HELP scaplock_bridge_lock_held 1 while the bridge holds scap's global lock file exclusively.\n# TYPE scaplock_bridge_lock_held gauge\n")
	fmt.Fprintf(&b, "scaplock_bridge_lock_held %d\n", boolInt(v.Holding))
	b.WriteString("# HELP scaplock_bridge_lock_blocked 1 while another process's lock keeps the bridge out: exclusive is a person's scap lock, shared are running syncs.\n# TYPE scaplock_bridge_lock_blocked gauge\n")
	fmt.Fprintf(&b, "scaplock_bridge_lock_blocked{by=\"exclusive\"} %d\n", boolInt(v.BlockedBy != nil && v.BlockedBy.Exclusive))
	fmt.Fprintf(&b, "scaplock_bridge_lock_blocked{by=\"shared\"} %d\n", boolInt(v.BlockedBy != nil && !v.BlockedBy.Exclusive))
	b.WriteString("# HELP scaplock_bridge_last_verdict_timestamp_seconds When scaplock last answered the bridge (0: never).\n# TYPE scaplock_bridge_last_verdict_timestamp_seconds gauge\n")
	last := 0.0
	if !v.LastVerdict.IsZero() {
		last = float64(v.LastVerdict.UnixNano()) / 1e9
	}
	fmt.Fprintf(&b, "scaplock_bridge_last_verdict_timestamp_seconds %.3f\n", last)
	b.WriteString(v.Syncs.metrics())
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
