package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// call sends a JSON request to a scaplockd process and returns the status
// and the body (or the transport error).
func call(p *daemonProcess, method, path string, body any) (int, string, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(raw))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := (&http.Client{Timeout: 90 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// Clients that stall are answered or let go within the configured bounds,
// on a real scaplockd process over raw sockets.
func TestStuckClientsAreLetGo(t *testing.T) {
	// It starts its own scaplockd and etcd and mostly waits: it runs beside the others.
	t.Parallel()
	p := startDaemonProcess(t, "SCAPLOCK_READ_TIMEOUT=1s", "SCAPLOCK_STREAM_STALL_TIMEOUT=1s", "SCAPLOCK_MAX_STREAMS=2")

	t.Run("a declared body never sent gets 408 and nothing is written", func(t *testing.T) {
		c := rawRequest(t, p.addr, "POST /api/v1/holds HTTP/1.1\r\nHost: scaplock\r\nAuthorization: Bearer "+p.token+
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"scope\":", 0)
		began := time.Now()
		out, _ := answer(c, 20*time.Second)
		if !strings.HasPrefix(out, "HTTP/1.1 408") || !strings.Contains(out, `"timeout"`) {
			t.Fatalf("want 408 timeout, got %q", out)
		}
		t.Logf("answered in %s (SCAPLOCK_READ_TIMEOUT=1s)", time.Since(began).Round(time.Millisecond))
		code, body, err := call(p, http.MethodGet, "/api/v1/holds", nil)
		if err != nil || code != 200 || strings.Contains(body, `"id"`) {
			t.Fatalf("holds after the stalled POST: %d %s %v", code, body, err)
		}
	})

	t.Run("headers never finished: the connection is closed", func(t *testing.T) {
		c := rawRequest(t, p.addr, "GET /healthz HTTP/1.1\r\nHost: scaplock\r\n", 0)
		if out, closed := answer(c, 20*time.Second); !closed {
			t.Fatalf("still open after 20s with SCAPLOCK_READ_TIMEOUT=1s (read %q)", out)
		}
	})

	t.Run("headers past 64 KiB get 431", func(t *testing.T) {
		c := rawRequest(t, p.addr, "GET /healthz HTTP/1.1\r\nHost: scaplock\r\nX-Big: "+strings.Repeat("a", 70<<10)+"\r\n\r\n", 0)
		if out, _ := answer(c, 20*time.Second); !strings.HasPrefix(out, "HTTP/1.1 431") {
			t.Fatalf("want 431, got %.80q", out)
		}
	})

	t.Run("a stream that is never read is disconnected", func(t *testing.T) {
		c := rawRequest(t, p.addr, "GET /api/v1/events HTTP/1.1\r\nHost: scaplock\r\nAuthorization: Bearer "+p.token+"\r\n\r\n", 4096)
		eventually(t, "the stream is open", 10*time.Second, func() bool { return p.metric(t, "scaplock_event_streams") == 1 })
		// Events with long reasons fill the socket buffers; then a write waits its 1s and fails.
		reason := strings.Repeat("a stream reader that never reads ", 30)
		for i := 0; i < 500 && p.metric(t, "scaplock_event_streams") > 0; i++ {
			code, body, err := call(p, http.MethodPost, "/api/v1/holds", apiv1.HoldBody{Scope: "global", Reason: reason})
			if err != nil || code != http.StatusCreated {
				t.Fatalf("create: %d %s %v", code, body, err)
			}
			var h apiv1.Hold
			_ = json.Unmarshal([]byte(body), &h)
			if code, body, err := call(p, http.MethodDelete, "/api/v1/holds/"+h.ID, apiv1.ReleaseBody{Reason: "done"}); err != nil || code != 200 {
				t.Fatalf("release: %d %s %v", code, body, err)
			}
		}
		eventually(t, "the server drops the stream", 10*time.Second, func() bool { return p.metric(t, "scaplock_event_streams") == 0 })
		if _, closed := answer(c, 20*time.Second); !closed {
			t.Fatal("the server forgot the stream but kept its connection open")
		}
	})

	t.Run("streams past SCAPLOCK_MAX_STREAMS get 503", func(t *testing.T) {
		var open []io.Closer
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		for range 2 {
			resp, err := http.Get(p.url + "/api/v1/events")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("stream within the cap: %v %v", resp, err)
			}
			open = append(open, resp.Body)
		}
		resp, err := http.Get(p.url + "/api/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "too_many_streams") {
			t.Fatalf("third stream: %d %s", resp.StatusCode, body)
		}
		if n := p.metric(t, "scaplock_event_streams_rejected_total"); n != 1 {
			t.Fatalf("scaplock_event_streams_rejected_total = %v, want 1", n)
		}
	})
}

// SIGTERM ends every stream at once, stalled ones and ones that never
// read included, lets go of a request waiting for its body, and exits 0.
func TestSIGTERMWithStuckClients(t *testing.T) {
	p := startDaemonProcess(t)
	for range 5 {
		rawRequest(t, p.addr, "GET /api/v1/events HTTP/1.1\r\nHost: scaplock\r\n\r\n", 4096)
	}
	eventually(t, "five streams open", 10*time.Second, func() bool { return p.metric(t, "scaplock_event_streams") == 5 })
	reason := strings.Repeat("fill the buffers of readers that never read ", 20)
	for range 60 {
		code, body, err := call(p, http.MethodPost, "/api/v1/holds", apiv1.HoldBody{Scope: "global", Reason: reason})
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create: %d %s %v", code, body, err)
		}
	}
	stalledBody := rawRequest(t, p.addr, "POST /api/v1/holds HTTP/1.1\r\nHost: scaplock\r\nAuthorization: Bearer "+p.token+
		"\r\nContent-Length: 1000\r\n\r\n{", 0)
	silent := rawRequest(t, p.addr, "", 0)
	// The POST's headers are read (and its handler waits for the body) once
	// a request sent after it on another connection is answered.
	if code, _, err := call(p, http.MethodGet, "/api/v1/holds", nil); err != nil || code != 200 {
		t.Fatalf("list holds: %d %v", code, err)
	}
	code, took := p.sigterm(t, 15*time.Second)
	t.Logf("exited %d %s after SIGTERM", code, took.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, p.logs())
	}
	if took > 5*time.Second {
		t.Errorf("took %s to exit, want about 2s at most", took)
	}
	if out, _ := answer(stalledBody, 5*time.Second); !strings.HasPrefix(out, "HTTP/1.1 503") || !strings.Contains(out, "shutting down") {
		t.Errorf("the POST waiting for its body was answered %q, want 503 shutting down", out)
	}
	if _, closed := answer(silent, 5*time.Second); !closed {
		t.Error("a connection that never sent a request is still open")
	}
}

// SIGTERM drains: writes under way finish (every 201 is a hold in etcd,
// no write answers "context canceled"), and a queued deploy is answered
// 503 "shutting down", not 409.
func TestSIGTERMDrainsWrites(t *testing.T) {
	p := startDaemonProcess(t)
	if code, body, err := call(p, http.MethodPost, "/api/v1/deploys", apiv1.DeployBody{Scope: "global", Reason: "first deploy", TTL: "1h"}); err != nil || code != http.StatusCreated {
		t.Fatalf("first deploy: %d %s %v", code, body, err)
	}
	queued := make(chan string, 1)
	go func() {
		code, body, err := call(p, http.MethodPost, "/api/v1/deploys", apiv1.DeployBody{Scope: "global", Reason: "queued deploy", Wait: "60s"})
		queued <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	eventually(t, "the second deploy queues", 10*time.Second, func() bool { return p.metric(t, "scaplock_deploy_queue_length") == 1 })

	type outcome struct {
		code int
		body string
	}
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				code, body, err := call(p, http.MethodPost, "/api/v1/holds", apiv1.HoldBody{Scope: "global", Reason: fmt.Sprintf("drain %d/%d", w, i)})
				if err != nil {
					return // the server stopped listening
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{code, body})
				mu.Unlock()
			}
		})
	}
	eventually(t, "writes under way", 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(outcomes) >= 30 })
	code, took := p.sigterm(t, 20*time.Second)
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.logs())
	}
	t.Logf("drained in %s", took.Round(time.Millisecond))
	if q := <-queued; !strings.HasPrefix(q, "503 ") || !strings.Contains(q, "shutting down") {
		t.Errorf("the queued deploy got %s, want 503 shutting down", q)
	}

	var created []string
	for _, o := range outcomes {
		switch {
		case o.code == http.StatusCreated:
			var h apiv1.Hold
			_ = json.Unmarshal([]byte(o.body), &h)
			created = append(created, h.ID)
		case o.code == http.StatusServiceUnavailable && strings.Contains(o.body, "shutting down"):
		default:
			t.Errorf("a write during shutdown was answered %d %s", o.code, o.body)
		}
	}
	e := locktest.StartEtcd(t, p.dataDir)
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	for _, id := range created {
		if _, err := s.Get(id); err != nil {
			t.Errorf("hold %s was answered 201 but is not in etcd: %v", id, err)
		}
	}
	t.Logf("%d holds created during the run, all in etcd", len(created))
}
