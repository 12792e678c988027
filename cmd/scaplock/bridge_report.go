package main

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// bridgeReporter tells the service, in order, when a person releases the
// bridge's lock (scap lock --unlock-all) and when the bridge guards it
// again (PUT /api/v1/bridges/{host}), so that the history names them and
// status shows the host unguarded in between. A report that cannot be
// delivered is retried every retry until it is, or is refused (4xx: it is
// then only in the bridge's log).
type bridgeReporter struct {
	c      *cli
	host   string
	scopes []apiv1.Scope
	log    *slog.Logger
	retry  time.Duration

	mu    sync.Mutex
	queue []apiv1.BridgeBody
	kick  chan struct{}
}

func newBridgeReporter(c *cli, cfg bridgeConfig, log *slog.Logger) *bridgeReporter {
	r := &bridgeReporter{c: c, host: cfg.host, log: log, retry: cfg.poll, kick: make(chan struct{}, 1)}
	for _, s := range cfg.scopes {
		r.scopes = append(r.scopes, apiv1.Scope(s))
	}
	return r
}

// send queues a report; it never blocks the bridge's loop.
func (r *bridgeReporter) send(b apiv1.BridgeBody) {
	b.Scopes = r.scopes
	b.Reason = oneReason(b.Reason)
	r.mu.Lock()
	r.queue = append(r.queue, b)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run delivers the queued reports until ctx ends.
func (r *bridgeReporter) run(ctx context.Context) {
	failing := false
	for {
		r.mu.Lock()
		var head *apiv1.BridgeBody
		if len(r.queue) > 0 {
			head = &r.queue[0]
		}
		r.mu.Unlock()
		wait := r.kick
		if head != nil {
			var resp struct {
				Recorded bool `json:"recorded"`
			}
			_, err := r.c.call(ctx, request{method: http.MethodPut, path: "/api/v1/bridges/" + url.PathEscape(r.host), body: *head}, http.StatusOK, &resp)
			switch {
			case err == nil:
				if resp.Recorded || failing {
					r.log.Info("told scaplock", "host", r.host, "guarded", head.Guarded, "recorded", resp.Recorded)
				}
				failing = false
				r.pop()
				continue
			case ctx.Err() != nil:
				return
			case exitCode(err) == exitMisuse:
				r.log.Error("scaplock refused the bridge's report; it is only in this log", "host", r.host, "guarded", head.Guarded,
					"releaser", head.Releaser, "user", head.User, "why", head.Reason, "err", err)
				failing = false
				r.pop()
				continue
			default:
				if !failing {
					r.log.Warn("cannot tell scaplock yet; retrying", "host", r.host, "guarded", head.Guarded, "err", err)
				}
				failing = true
				wait = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wait:
		case <-time.After(r.retry):
		}
	}
}

func (r *bridgeReporter) pop() {
	r.mu.Lock()
	r.queue = r.queue[1:]
	r.mu.Unlock()
}

// oneReason makes a person's reason one line the service accepts.
func oneReason(s string) string {
	return truncate(strings.Join(strings.Fields(s), " "), apiv1.ReasonMaxLen)
}

// fileOwner is who owns a file, as the system tells: its uid and, when
// the user database knows it, the user name.
func fileOwner(info fs.FileInfo) (uid *int, name string) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, ""
	}
	id := int(st.Uid)
	if u, err := user.LookupId(strconv.Itoa(id)); err == nil {
		name = u.Username
	}
	return &id, name
}
