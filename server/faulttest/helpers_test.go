package faulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// requestTimeout is the replicas' SCAPLOCK_REQUEST_TIMEOUT, short so that
// the suite is quick; every answer must come within it plus slack.
const requestTimeout = 3 * time.Second

// answerSlack is what an answer may take beyond requestTimeout on a
// loaded 2-core machine.
const answerSlack = 2 * time.Second

type fixture struct {
	cluster  *locktest.Cluster
	secret   string
	replicas []*server.Server
	sre      string // token with roles sre and deployer
}

// newFixture starts a 3-member etcd cluster and n replicas on it, each
// with every endpoint.
func newFixture(t *testing.T, n int) *fixture {
	return newFixtureWith(t, n, func(c *locktest.Cluster, _ int) []string { return c.Endpoints() })
}

// newFixtureWith is newFixture with replica i given endpoints(cluster, i).
func newFixtureWith(t *testing.T, n int, endpoints func(c *locktest.Cluster, i int) []string) *fixture {
	t.Helper()
	f := &fixture{cluster: locktest.StartClusterT(t, 3)}
	f.secret = filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(f.secret, []byte(strings.Repeat("fault-suite-", 4)), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f.replicas = append(f.replicas, f.startReplica(t, fmt.Sprintf("r%d", i), endpoints(f.cluster, i)))
	}
	var err error
	if f.sre, err = servertest.Token(f.secret, "fault-sre", api.RoleSRE, api.RoleDeployer); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) startReplica(t *testing.T, name string, endpoints []string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := f.replicaEnv(name, endpoints)
	env["SCAPLOCK_DATA_DIR"] = t.TempDir()
	s, err := servertest.Start(ctx, env)
	if err != nil {
		t.Fatalf("start replica %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// replicaEnv is a replica's configuration but for its data dir.
func (f *fixture) replicaEnv(name string, endpoints []string) map[string]string {
	return map[string]string{
		"SCAPLOCK_ETCD_ENDPOINTS": strings.Join(endpoints, ","), "SCAPLOCK_JWT_SECRET_FILE": f.secret,
		"SCAPLOCK_REPLICA_NAME": name, "SCAPLOCK_REQUEST_TIMEOUT": requestTimeout.String(),
		"SCAPLOCK_SCOPES": "eqiad,load,dep,kept,during,dl,lin,linkill,lost,lostdep,unkeyed,kill,killdep,pause",
	}
}

// reply is one HTTP answer; status 0 means no answer.
type reply struct {
	status int
	body   []byte
	took   time.Duration
	err    error
}

func (r reply) String() string {
	return fmt.Sprintf("HTTP %d after %s: %s %v", r.status, r.took.Round(time.Millisecond), bytes.TrimSpace(r.body), r.err)
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

var httpClient = &http.Client{Timeout: requestTimeout + 2*answerSlack}

// call sends one request; key, when set, is the Idempotency-Key.
func call(base, method, path, token, key string, body any) reply {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set(api.IdempotencyHeader, key)
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, took: time.Since(start)}
}

func newKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// acrossReplicas sends a write with one Idempotency-Key to urls[first],
// and after no answer or a 503 again to the next replica in turn, as the
// CLI retries, until another answer or within has passed. It returns the
// last answer and the ones it did not take.
func acrossReplicas(urls []string, first int, method, path, token string, body any, within time.Duration) (reply, []reply) {
	key := newKey()
	deadline := time.Now().Add(within)
	var skipped []reply
	for i := first; ; i++ {
		r := call(urls[i%len(urls)], method, path, token, key, body)
		if (r.err == nil && r.status != http.StatusServiceUnavailable) || time.Now().After(deadline) {
			return r, skipped
		}
		skipped = append(skipped, r)
		time.Sleep(50 * time.Millisecond)
	}
}

// history reads every event that q (a history query string) selects,
// page by page, from base.
func history(t *testing.T, base, q string) []lock.Event {
	t.Helper()
	var all []lock.Event
	for cursor := ""; ; {
		path := "/api/v1/history?limit=" + strconv.Itoa(lock.MaxHistoryLimit) + "&" + q
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := call(base, "GET", path, "", "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("history %s: %s", q, r)
		}
		var page lock.HistoryPage
		r.decode(t, &page)
		all = append(all, page.Events...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

// status waits until base answers /api/v1/status (its cache confirmed
// against etcd) and returns the answer.
func status(t *testing.T, base string, within time.Duration) api.StatusResponse {
	t.Helper()
	var r reply
	eventually(t, base+" answers /api/v1/status", within, func() bool {
		r = call(base, "GET", "/api/v1/status", "", "", nil)
		return r.status == http.StatusOK
	})
	var st api.StatusResponse
	r.decode(t, &st)
	return st
}
