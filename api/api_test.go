package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server"
)

type fixture struct {
	etcd   *locktest.Etcd
	srv    *httptest.Server
	store  *lock.Store
	secret []byte
	reg    *prometheus.Registry
}

func newFixture(t *testing.T, mutate func(*api.Config, *api.AuthConfig)) *fixture {
	t.Helper()
	return newFixtureWith(t, lock.Options{}, mutate)
}

// newFixtureWith opens the store with opts (parts, scopes, a clock).
func newFixtureWith(t *testing.T, opts lock.Options, mutate func(*api.Config, *api.AuthConfig)) *fixture {
	t.Helper()
	e := locktest.StartEtcd(t, "")
	store := locktest.OpenStore(t, e.Client(t), opts)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	secret := []byte(strings.Repeat("s3cr3t-", 6))
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	defaults := server.Defaults()
	ac := api.AuthConfig{SecretFile: secretFile, MaxTTL: defaults.JWTMaxTTL}
	reg := prometheus.NewRegistry()
	cfg := api.Config{Limits: defaults.APILimits(), Store: store, AnonymousRead: true, StatusURL: "http://scaplock.example/", Registry: reg}
	if mutate != nil {
		mutate(&cfg, &ac)
	}
	auth, err := api.NewAuthenticator(ac)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = auth
	srv := httptest.NewServer(api.New(cfg))
	t.Cleanup(srv.Close)
	return &fixture{etcd: e, srv: srv, store: store, secret: secret, reg: reg}
}

func (f *fixture) token(t *testing.T, sub string, roles ...string) string {
	t.Helper()
	tok, err := token.SignHS256(f.secret, sub, roles, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	status int
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (a answer) errBody(t *testing.T) api.ErrorBody {
	var e api.ErrorBody
	a.decode(t, &e)
	return e
}

func (f *fixture) do(t *testing.T, method, path, token string, body any) answer {
	t.Helper()
	var r *bytes.Reader
	switch b := body.(type) {
	case nil:
		r = bytes.NewReader(nil)
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return answer{status: resp.StatusCode, body: buf.Bytes()}
}

// nothingWritten checks that the store holds no hold and no history.
func (f *fixture) nothingWritten(t *testing.T) {
	t.Helper()
	page, err := f.store.History(context.Background(), lock.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.store.Snapshot().Holds); n != 0 || len(page.Events) != 0 {
		t.Fatalf("a rejected request wrote something: %d holds, %d events", n, len(page.Events))
	}
}

func TestLockPreflightUnlockTour(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	if a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil); a.status != 200 {
		t.Fatalf("preflight on an empty store: %d %s", a.status, a.body)
	}
	a := f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: "kubemaster1002 NIC saturated", Duration: "2h"})
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var h lock.Hold
	a.decode(t, &h)
	if h.Owner != "alice" || h.Kind != lock.KindManual || h.ExpiresAt == nil {
		t.Fatalf("created hold: %+v", h)
	}
	a = f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	var pf api.PreflightResponse
	a.decode(t, &pf)
	if a.status != http.StatusLocked || pf.Allowed || len(pf.Holds) != 1 || pf.Revision < h.Revision {
		t.Fatalf("preflight under a hold: %d %s", a.status, a.body)
	}
	for _, want := range []string{"deploys to eqiad are refused: locked by alice", "kubemaster1002 NIC saturated", "hold " + h.ID[:4], "http://scaplock.example/"} {
		if !strings.Contains(pf.Message, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, pf.Message)
		}
	}
	if strings.Contains(pf.Message, "scaplock unlock") {
		t.Errorf("the service's message carries the CLI's syntax:\n%s", pf.Message)
	}
	// The JSON carries the reason's fields, for machines.
	var raw struct {
		Reasons []map[string]any `json:"reasons"`
	}
	a.decode(t, &raw)
	if len(raw.Reasons) != 1 {
		t.Fatalf("reasons = %s", a.body)
	}
	r := raw.Reasons[0]
	for field, want := range map[string]any{
		"kind": "manual", "scope": "eqiad", "refuses": true, "hold_id": h.ID, "holder": "alice", "reason": "kubemaster1002 NIC saturated",
		"since": h.CreatedAt.Format(time.RFC3339Nano), "until": h.ExpiresAt.Format(time.RFC3339Nano), "override": false,
		"clears": map[string]any{"on": "release"},
	} {
		if !reflect.DeepEqual(r[field], want) {
			t.Errorf("reasons[0].%s = %#v, want %#v (%s)", field, r[field], want, a.body)
		}
	}
	if a := f.do(t, "GET", "/api/v1/preflight?scope=codfw", "", nil); a.status != 200 {
		t.Fatalf("codfw should be allowed: %d", a.status)
	}
	// No scope asks about every known scope, eqiad included.
	if a := f.do(t, "GET", "/api/v1/preflight", "", nil); a.status != http.StatusLocked {
		t.Fatalf("fleet-wide preflight should be refused: %d", a.status)
	}
	reason := "NIC upgraded"
	if a := f.do(t, "PATCH", "/api/v1/holds/"+h.ID, sre, api.AmendBody{Reason: &reason, Duration: "1h"}); a.status != 200 {
		t.Fatalf("amend: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/holds/"+h.ID, sre, api.ReleaseBody{Reason: "done"}); a.status != 200 {
		t.Fatalf("release: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/holds/"+h.ID, sre, api.ReleaseBody{Reason: "again"}); a.status != 404 {
		t.Fatalf("second release: %d %s", a.status, a.body)
	}
	if a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil); a.status != 200 {
		t.Fatalf("preflight after unlock: %d %s", a.status, a.body)
	}
	var page lock.HistoryPage
	f.do(t, "GET", "/api/v1/history?scope=eqiad&actor=alice", "", nil).decode(t, &page)
	if len(page.Events) != 3 || page.Events[0].Action != lock.ActionReleased {
		t.Fatalf("history: %+v", page.Events)
	}
	if a := f.do(t, "GET", "/api/v1/history?since=yesterday", "", nil); a.status != 400 || a.errBody(t).Error.Field != "since" {
		t.Fatalf("bad since: %d %s", a.status, a.body)
	}
	// Unknown routes and methods answer in the one error shape.
	if a := f.do(t, "GET", "/api/v1/nope", "", nil); a.status != 404 || a.errBody(t).Error.Code != "not_found" {
		t.Fatalf("unknown route: %d %s", a.status, a.body)
	}
	if a := f.do(t, "PUT", "/api/v1/status", "", nil); a.status != 405 || a.errBody(t).Error.Code != "method_not_allowed" {
		t.Fatalf("wrong method: %d %s", a.status, a.body)
	}
	// Request metrics are labelled by route pattern.
	n := testutil.ToFloat64(mustCounter(t, f.reg, "/api/v1/holds/{id}", "DELETE", "404"))
	if n != 1 {
		t.Fatalf("404 DELETE counted %v times", n)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, route, method, code string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "scaplock_http_requests_total" {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["method"] == method && labels["code"] == code {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.Counter.GetValue())
				return c
			}
		}
	}
	t.Fatalf("no request counter for %s %s %s", method, route, code)
	return nil
}

func signWith(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuthRejectsAndWritesNothing(t *testing.T) {
	f := newFixture(t, func(_ *api.Config, ac *api.AuthConfig) { ac.Audience = "scaplock" })
	exp := time.Now().Add(time.Hour).Unix()
	good := jwt.MapClaims{"sub": "mallory", "roles": []string{"sre", "deployer"}, "exp": exp, "aud": "scaplock"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"missing token", "", 401},
		{"garbage", "not.a.jwt", 401},
		{"expired", signWith(t, jwt.SigningMethodHS256, f.secret, with("exp", time.Now().Add(-time.Hour).Unix())), 401},
		{"no exp", signWith(t, jwt.SigningMethodHS256, f.secret, with("exp", nil)), 401},
		{"alg none", none, 401},
		{"wrong secret", signWith(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), good), 401},
		{"wrong audience", signWith(t, jwt.SigningMethodHS256, f.secret, with("aud", "other")), 401},
		{"HS512 not pinned", signWith(t, jwt.SigningMethodHS512, f.secret, good), 401},
		{"no sub", signWith(t, jwt.SigningMethodHS256, f.secret, with("sub", nil)), 401},
		{"missing role", signWith(t, jwt.SigningMethodHS256, f.secret, with("roles", []string{"deployer"})), 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "POST", "/api/v1/holds", c.token, api.HoldBody{Scope: "eqiad", Reason: "r"})
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if e := a.errBody(t); e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error body: %s", a.body)
			}
		})
	}
	// A bad token is refused even where anonymous reads are allowed.
	if a := f.do(t, "GET", "/api/v1/status", "not.a.jwt", nil); a.status != 401 {
		t.Fatalf("bad token on a read: %d", a.status)
	}
	if a := f.do(t, "POST", "/api/v1/deploys", signWith(t, jwt.SigningMethodHS256, f.secret, with("roles", []string{"sre"})), api.DeployBody{Scope: "eqiad", Reason: "r"}); a.status != 403 {
		t.Fatalf("deploy without deployer role: %d", a.status)
	}
	f.nothingWritten(t)
}

// An HS256 token signed with the RSA public key's bytes must not pass a
// verifier pinned to RS256 (algorithm confusion).
func TestAlgorithmConfusion(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pubFile := filepath.Join(t.TempDir(), "pub.pem")
	os.WriteFile(pubFile, pubPEM, 0o600)
	f := newFixture(t, func(_ *api.Config, ac *api.AuthConfig) { ac.SecretFile, ac.PublicKeyFile = "", pubFile })
	claims := jwt.MapClaims{"sub": "mallory", "roles": []string{"sre"}, "exp": time.Now().Add(time.Hour).Unix()}
	confused := signWith(t, jwt.SigningMethodHS256, pubPEM, claims)
	if a := f.do(t, "POST", "/api/v1/holds", confused, api.HoldBody{Scope: "eqiad", Reason: "r"}); a.status != 401 {
		t.Fatalf("HS256 token signed with the public key: %d %s", a.status, a.body)
	}
	f.nothingWritten(t)
	real := signWith(t, jwt.SigningMethodRS256, key, claims)
	if a := f.do(t, "POST", "/api/v1/holds", real, api.HoldBody{Scope: "eqiad", Reason: "r"}); a.status != 201 {
		t.Fatalf("a proper RS256 token: %d %s", a.status, a.body)
	}
}

func TestAnonymousReadOff(t *testing.T) {
	f := newFixture(t, func(c *api.Config, _ *api.AuthConfig) { c.AnonymousRead = false })
	if a := f.do(t, "GET", "/api/v1/status", "", nil); a.status != 401 {
		t.Fatalf("anonymous status with anonymous read off: %d", a.status)
	}
	if a := f.do(t, "GET", "/api/v1/status", f.token(t, "viewer"), nil); a.status != 200 {
		t.Fatalf("status with a token: %d", a.status)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, func(c *api.Config, _ *api.AuthConfig) { c.MaxHoldDuration = 24 * time.Hour })
	sre := f.token(t, "alice", api.RoleSRE, api.RoleDeployer)
	cases := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"unknown field", "/api/v1/holds", `{"scope":"eqiad","reason":"r","sudo":true}`, 400, "sudo"},
		{"missing reason", "/api/v1/holds", `{"scope":"eqiad"}`, 400, "reason"},
		{"empty reason", "/api/v1/holds", `{"scope":"eqiad","reason":""}`, 400, "reason"},
		{"blank reason", "/api/v1/holds", `{"scope":"eqiad","reason":"   "}`, 400, "reason"},
		{"long reason", "/api/v1/holds", `{"scope":"eqiad","reason":"` + strings.Repeat("x", 1001) + `"}`, 400, "reason"},
		{"bad scope", "/api/v1/holds", `{"scope":"EQIAD","reason":"r"}`, 400, "scope"},
		{"missing scope", "/api/v1/holds", `{"reason":"r"}`, 400, "scope"},
		{"scope wrong type", "/api/v1/holds", `{"scope":5,"reason":"r"}`, 400, "scope"},
		{"bad duration", "/api/v1/holds", `{"scope":"eqiad","reason":"r","duration":"soon"}`, 400, "duration"},
		{"negative duration", "/api/v1/holds", `{"scope":"eqiad","reason":"r","duration":"-1h"}`, 400, "duration"},
		{"duration over max", "/api/v1/holds", `{"scope":"eqiad","reason":"r","duration":"25h"}`, 400, "duration"},
		{"not json", "/api/v1/holds", `scope=eqiad`, 400, "body"},
		{"empty body", "/api/v1/holds", ``, 400, "body"},
		{"two objects", "/api/v1/holds", `{"scope":"eqiad","reason":"r"}{"scope":"codfw","reason":"r"}`, 400, "body"},
		{"array", "/api/v1/holds", `[]`, 400, "body"},
		{"too large", "/api/v1/holds", `{"scope":"eqiad","reason":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
		{"override without duration", "/api/v1/overrides", `{"scope":"eqiad","reason":"r"}`, 400, "duration"},
		{"override over 4h", "/api/v1/overrides", `{"scope":"eqiad","reason":"r","duration":"5h"}`, 400, "duration"},
		{"deploy bad ttl", "/api/v1/deploys", `{"scope":"eqiad","reason":"r","ttl":"1s"}`, 400, "ttl"},
		{"deploy bad wait", "/api/v1/deploys", `{"scope":"eqiad","reason":"r","wait":"2h"}`, 400, "wait"},
		{"deploy unknown field", "/api/v1/deploys", `{"scope":"eqiad","reason":"r","force":true}`, 400, "force"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "POST", c.path, sre, c.body)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			e := a.errBody(t)
			if e.Error.Field != c.field || (c.field != "" && !strings.Contains(e.Error.Message, c.field)) {
				t.Fatalf("error should name field %q: %+v", c.field, e.Error)
			}
		})
	}
	f.nothingWritten(t)
	if a := f.do(t, "GET", "/api/v1/preflight?scope=Bad!", "", nil); a.status != 400 {
		t.Fatalf("preflight with a bad scope: %d", a.status)
	}
}

// 50 deployers race for one scope: exactly one wins, the others are told
// who holds it, and nothing is lost or duplicated.
func TestDeployRace(t *testing.T) {
	f := newFixture(t, nil)
	const n = 50
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = f.token(t, "deployer"+string(rune('A'+i%26))+string(rune('a'+i/26)), api.RoleDeployer)
	}
	var wg sync.WaitGroup
	answers := make([]answer, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = f.do(t, "POST", "/api/v1/deploys", tokens[i], api.DeployBody{Scope: "eqiad", Reason: "sync-world"})
		}()
	}
	close(start)
	wg.Wait()
	var won []lock.Hold
	conflicts := 0
	for _, a := range answers {
		switch a.status {
		case 201:
			var h lock.Hold
			a.decode(t, &h)
			won = append(won, h)
		case 409:
			e := a.errBody(t)
			if len(e.Holds) != 1 || len(e.Reasons) != 1 || e.Reasons[0].Kind != apiv1.ReasonDeploy || e.Reasons[0].HoldID != e.Holds[0].ID ||
				!strings.Contains(e.Error.Message, "deploy in progress by "+e.Reasons[0].Holder) {
				t.Errorf("409 should name the holder: %s", a.body)
			}
			conflicts++
		default:
			t.Errorf("unexpected answer %d: %s", a.status, a.body)
		}
	}
	if len(won) != 1 || conflicts != n-1 {
		t.Fatalf("%d winners and %d conflicts, want 1 and %d", len(won), conflicts, n-1)
	}
	holds := f.store.Snapshot().Holds
	if len(holds) != 1 || holds[0].ID != won[0].ID {
		t.Fatalf("store holds %d deploys, want exactly the winner", len(holds))
	}
	page, _ := f.store.History(context.Background(), lock.HistoryQuery{})
	if len(page.Events) != 1 || page.Events[0].Hold.ID != won[0].ID {
		t.Fatalf("history has %d events, want the winner's one", len(page.Events))
	}
	// Keepalive and release are the owner's.
	if a := f.do(t, "PUT", "/api/v1/deploys/"+won[0].ID+"/keepalive", f.token(t, "someone-else", api.RoleDeployer), nil); a.status != 403 {
		t.Fatalf("keepalive by another deployer: %d", a.status)
	}
	owner := f.token(t, won[0].Owner, api.RoleDeployer)
	if a := f.do(t, "PUT", "/api/v1/deploys/"+won[0].ID+"/keepalive", owner, nil); a.status != 200 {
		t.Fatalf("keepalive: %d %s", a.status, a.body)
	}
	if a := f.do(t, "DELETE", "/api/v1/deploys/"+won[0].ID, owner, api.ReleaseBody{Reason: "finished"}); a.status != 200 {
		t.Fatalf("release: %d %s", a.status, a.body)
	}
}

func TestDeployRefusedByManualHold(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "global", Reason: "incident 2024-05-28"})
	a := f.do(t, "POST", "/api/v1/deploys", f.token(t, "bob", api.RoleDeployer), api.DeployBody{Scope: "eqiad", Reason: "sync"})
	e := a.errBody(t)
	if a.status != http.StatusLocked || !strings.Contains(e.Error.Message, "incident 2024-05-28") || len(e.Holds) != 1 {
		t.Fatalf("deploy under a global hold: %d %s", a.status, a.body)
	}
}

func TestEventsStream(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := resp.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n")
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	expect := func(prefix string) string {
		for l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("stream ended before %q", prefix)
		return ""
	}
	expect("event: hello")
	if _, err := f.store.Create(ctx, lock.HoldRequest{Scope: "codfw", Kind: lock.KindManual, Owner: "alice", Reason: "streamed"}); err != nil {
		t.Fatal(err)
	}
	expect("event: event")
	data := expect("data: ")
	if !strings.Contains(data, `"streamed"`) || !strings.Contains(data, `"created"`) {
		t.Fatalf("event data: %s", data)
	}
}

// With etcd gone the cache may be missing holds: preflight, status and
// readyz say 503 (the CLI's "could not decide") instead of answering from it.
func TestStoreUnreachableIsNotAnAnswer(t *testing.T) {
	f := newFixture(t, nil)
	if a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil); a.status != 200 {
		t.Fatalf("preflight with etcd up: %d", a.status)
	}
	stream, err := http.Get(f.srv.URL + "/api/v1/events")
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream with etcd up: %v %v", stream, err)
	}
	defer stream.Body.Close()
	var hold, override, deploy lock.Hold
	for _, c := range []struct {
		path, token string
		body        any
		out         *lock.Hold
	}{
		{"/api/v1/holds", f.token(t, "alice", api.RoleSRE), api.HoldBody{Scope: "eqiad", Reason: "before the outage"}, &hold},
		{"/api/v1/overrides", f.token(t, "alice", api.RoleSRE), api.HoldBody{Scope: "eqiad", Reason: "before the outage", Duration: "10m"}, &override},
		{"/api/v1/deploys", f.token(t, "bob", api.RoleDeployer), api.DeployBody{Scope: "esams", Reason: "before the outage"}, &deploy},
	} {
		a := f.do(t, "POST", c.path, c.token, c.body)
		if a.status != http.StatusCreated || json.Unmarshal(a.body, c.out) != nil {
			t.Fatalf("POST %s: %d %s", c.path, a.status, a.body)
		}
	}
	streamEnded := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stream.Body)
		close(streamEnded)
	}()
	f.etcd.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := f.do(t, "GET", "/api/v1/preflight?scope=codfw", "", nil)
		if a.status == http.StatusServiceUnavailable {
			if e := a.errBody(t); e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "etcd") {
				t.Fatalf("503 body: %s", a.body)
			}
			break
		}
		if a.status != 200 || time.Now().After(deadline) {
			t.Fatalf("preflight with etcd down: %d %s", a.status, a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// What the replica last confirmed refuses stays refused: 423, never
	// a 503 that --fail-open could open.
	a := f.do(t, "GET", "/api/v1/preflight?scope=eqiad", "", nil)
	var refused apiv1.PreflightResponse
	a.decode(t, &refused)
	if a.status != http.StatusLocked || refused.LastConfirmed == nil || !strings.Contains(refused.Message, "locked by alice (last confirmed ") ||
		!strings.Contains(refused.Message, " ago; etcd is not answering)") {
		t.Fatalf("preflight of a held scope with etcd down: %d %s", a.status, a.body)
	}
	a = f.do(t, "POST", "/api/v1/deploys", f.token(t, "bob", api.RoleDeployer), api.DeployBody{Scope: "eqiad", Reason: "during the outage"})
	if e := a.errBody(t); a.status != http.StatusLocked || e.Error.Code != "refused" || !strings.Contains(e.Error.Message, " ago; etcd is not answering)") {
		t.Fatalf("a deploy to a held scope with etcd down: %d %s", a.status, a.body)
	}
	select {
	case <-streamEnded: // readers reconnect and meet the 503
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream stayed open while the store could not be confirmed")
	}
	// A typo stays a typo while etcd is down: 400 (the CLI's exit 3, which
	// --fail-open never opens), not 503.
	if a := f.do(t, "GET", "/api/v1/preflight?scope=Eqiad", "", nil); a.status != http.StatusBadRequest {
		t.Errorf("preflight of a misspelt scope with etcd down: %d %s", a.status, a.body)
	}
	for _, path := range []string{"/api/v1/status", "/readyz", "/api/v1/events"} {
		if a := f.do(t, "GET", path, "", nil); a.status != http.StatusServiceUnavailable {
			t.Errorf("%s with etcd down: %d", path, a.status)
		}
	}
	if n := counterValue(t, f.reg, "scaplock_preflight_total", "outcome", "undecided"); n < 1 {
		t.Errorf("preflight{outcome=undecided} = %v after 503s", n)
	}
	if n := counterValue(t, f.reg, "scaplock_readyz_failures_total", "reason", "store") + counterValue(t, f.reg, "scaplock_readyz_failures_total", "reason", "stale"); n < 1 {
		t.Errorf("readyz failures = %v after a 503 readyz", n)
	}
	// No write can hang or pass for an internal error: every write route
	// answers 503 within the bound.
	sre, dep := f.token(t, "alice", api.RoleSRE), f.token(t, "bob", api.RoleDeployer)
	writes := []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: "etcd is down"}},
		{"PATCH", "/api/v1/holds/" + hold.ID, sre, api.AmendBody{Duration: "1h"}},
		{"DELETE", "/api/v1/holds/" + hold.ID, sre, api.ReleaseBody{Reason: "etcd is down"}},
		{"POST", "/api/v1/overrides", sre, api.HoldBody{Scope: "codfw", Reason: "etcd is down", Duration: "10m"}},
		{"DELETE", "/api/v1/overrides/" + override.ID, sre, api.ReleaseBody{Reason: "etcd is down"}},
		{"POST", "/api/v1/deploys", dep, api.DeployBody{Scope: "codfw", Reason: "etcd is down"}},
		{"PUT", "/api/v1/deploys/" + deploy.ID + "/keepalive", dep, nil},
		{"DELETE", "/api/v1/deploys/" + deploy.ID, dep, api.ReleaseBody{Reason: "etcd is down"}},
		{"GET", "/api/v1/history", sre, nil},
	}
	var wg sync.WaitGroup
	for _, w := range writes {
		wg.Go(func() {
			a := f.do(t, w.method, w.path, w.token, w.body)
			if a.status != http.StatusServiceUnavailable {
				t.Errorf("%s %s with etcd down: %d %s", w.method, w.path, a.status, a.body)
				return
			}
			if code := a.errBody(t).Error.Code; code != "unavailable" && code != "outcome_unknown" {
				t.Errorf("%s %s with etcd down: code %q", w.method, w.path, code)
			}
		})
	}
	wg.Wait()
}

// The report's query parameters are checked and named when bad; with no
// deploy recorded the report is empty, not an error.
func TestReportQuery(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct{ query, field string }{
		{"since=30", "since"}, {"since=-2d", "since"}, {"period=week", "period"}, {"headroom=0s", "headroom"},
	} {
		a := f.do(t, "GET", "/api/v1/report?"+c.query, "", nil)
		if a.status != 400 || a.errBody(t).Error.Field != c.field {
			t.Errorf("%s: %d %s, want 400 naming %s", c.query, a.status, a.body, c.field)
		}
	}
	var r apiv1.ImpactReport
	a := f.do(t, "GET", "/api/v1/report?since=14d&period=24h&headroom=30s", "", nil)
	if a.status != 200 {
		t.Fatalf("report: %d %s", a.status, a.body)
	}
	a.decode(t, &r)
	if len(r.Clusters) != 0 || time.Duration(r.Period) != 24*time.Hour || time.Duration(r.Headroom) != 30*time.Second || r.Until.Sub(r.Since) != 14*24*time.Hour {
		t.Fatalf("empty report %+v", r)
	}
}

// The newest page is encoded once per revision and limit, and never
// outlives its revision: a change shows in the next request.
func TestNewestHistoryPageFollowsEveryChange(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	for i := range 6 {
		a := f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: fmt.Sprintf("change %d", i), Duration: "1h"})
		if a.status != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, a.status, a.body)
		}
		var h lock.Hold
		a.decode(t, &h)
		for _, limit := range []int{50, 50, 1, 7, 3, 2, 50} { // more limits than are kept
			var page lock.HistoryPage
			f.do(t, "GET", fmt.Sprintf("/api/v1/history?limit=%d", limit), "", nil).decode(t, &page)
			if len(page.Events) != min(limit, i+1) || page.Events[0].Hold == nil || page.Events[0].Hold.ID != h.ID || page.Revision < h.Revision {
				t.Fatalf("after change %d, limit %d: %d events, newest %+v at revision %d (hold at %d)", i, limit, len(page.Events), page.Events[0], page.Revision, h.Revision)
			}
		}
	}
	// The filtered pages are not the newest page's.
	var page lock.HistoryPage
	f.do(t, "GET", "/api/v1/history?limit=50&actor=nobody", "", nil).decode(t, &page)
	if len(page.Events) != 0 {
		t.Fatalf("a filter got the newest page: %+v", page.Events)
	}
}
