package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// daemon is an in-process scaplockd on loopback with a temporary data dir.
type daemon struct {
	*server.Server
	dir   string
	token string // roles sre and deployer
}

// startDaemon starts server.Start with env on top of a loopback listener, a
// fresh data dir (embedded etcd unless env names endpoints) and a quiet log.
func startDaemon(ctx context.Context, env map[string]string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "scaplock-bench-")
	if err != nil {
		return nil, err
	}
	full := map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_SCOPES": "eqiad,codfw"}
	for k, v := range env {
		full[k] = v
	}
	srv, err := servertest.Start(ctx, full)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d := &daemon{Server: srv, dir: dir}
	if d.token, err = servertest.Token(srv.SecretFile, "bench", api.RoleSRE, api.RoleDeployer); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) stop() {
	if err := d.Stop(); err != nil {
		progress("stopping scaplockd: %v", err)
	}
	os.RemoveAll(d.dir)
}

// client talks to one scaplockd's API.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &client{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// do sends a JSON request and decodes a JSON answer into out (if not nil);
// it fails unless the status is want.
func (c *client) do(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &statusError{Code: resp.StatusCode, text: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// statusError is an answer with another status than the one wanted.
type statusError struct {
	Code int
	text string
}

func (e *statusError) Error() string { return e.text }

// holdCycle creates a manual hold on scope and releases it.
func (c *client) holdCycle(ctx context.Context, scope string) error {
	var h struct{ ID string }
	if err := c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: scope, Reason: "bench hold"}, &h, http.StatusCreated); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/api/v1/holds/"+h.ID, api.ReleaseBody{Reason: "bench release"}, nil, http.StatusOK)
}

// preflight reports whether deploys to scope are allowed now.
func (c *client) preflight(ctx context.Context, scope string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/preflight?scope="+scope, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusLocked:
		return false, nil
	}
	return false, fmt.Errorf("preflight: %s", resp.Status)
}
