package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// srv is one real scaplockd (embedded etcd) for the whole package; tests
// keep apart by using their own scopes and identities.
var srv *server.Server

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "scaplock-cli-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		defer servertest.RemoveBuilt()
		ctx := context.Background()
		srv, err = servertest.Start(ctx, map[string]string{
			"SCAPLOCK_DATA_DIR":       dir,
			"SCAPLOCK_ANONYMOUS_READ": "false", // every read, the event stream too, must carry the token
			"SCAPLOCK_SCOPES":         strings.Join(append(testScopes, scopePool()...), ","),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer srv.Stop()
		return m.Run()
	}())
}

// result is one CLI invocation's outcome.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout: %q\nstderr: %q", r.code, r.took, r.stdout, r.stderr)
}

// scaplock runs the CLI in-process against srv with env (SCAPLOCK_URL set
// to srv unless env says otherwise).
func scaplock(ctx context.Context, env map[string]string, args ...string) result {
	full := map[string]string{"SCAPLOCK_URL": srv.URL()}
	for k, v := range env {
		full[k] = v
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, args, func(k string) string { return full[k] }, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
}

// as is the environment of a user holding a token for sub with roles.
func as(t *testing.T, sub string, roles ...string) map[string]string {
	t.Helper()
	return map[string]string{"SCAPLOCK_TOKEN": mint(t, sub, roles...)}
}

func mint(t *testing.T, sub string, roles ...string) string {
	t.Helper()
	secret, err := token.ReadSecret(srv.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.SignHS256(secret, sub, roles, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiCall is a raw call to srv, for setting up and checking from outside the CLI.
func apiCall(t *testing.T, method, path, tok string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// status reads GET /api/v1/status directly.
func status(t *testing.T) apiv1.StatusResponse {
	t.Helper()
	var st apiv1.StatusResponse
	if code := apiCall(t, http.MethodGet, "/api/v1/status", mint(t, "observer"), nil, &st); code != http.StatusOK {
		t.Fatalf("status: HTTP %d", code)
	}
	return st
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

// testScopes are the scopes the tests name; the service knows only these
// (and global, and the pool).
var testScopes = []string{
	"eqiad", "codfw", "am-eqiad", "bin-codfw", "bin-eqiad", "ec-codfw", "ec-eqiad", "fo-eqiad",
	"ka-eqiad", "lk-codfw", "lp-eqiad", "nf-eqiad", "ov-eqiad", "rc-codfw", "rc-eqiad", "rc-x",
	"sg-eqiad", "tok-a", "wg-eqiad", "wt-eqiad", "wt-other", "tk-eqiad", "br-eqiad", "cf-eqiad", "pk-eqiad",
	"adv-eqiad", "pm-eqiad",
}

const poolSize = 256

func scopePool() []string {
	p := make([]string, poolSize)
	for i := range p {
		p[i] = fmt.Sprintf("pool-%d", i)
	}
	return p
}

var poolNext atomic.Int64

// uniqueScope is a known scope no earlier test in this process used, so
// that -count=N against the one long-lived server sees no earlier run's
// history.
func uniqueScope(t *testing.T) string {
	n := poolNext.Add(1) - 1
	if n >= poolSize {
		t.Fatalf("scope pool of %d exhausted: raise poolSize", poolSize)
	}
	return fmt.Sprintf("pool-%d", n)
}

// unique names a scope or identity for one test run, so that -count=N
// against the one long-lived server sees no earlier run's history.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%x", prefix, time.Now().UnixNano()&0xffffffffff)
}
