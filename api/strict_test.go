package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/web"
)

// Every strictness rule on request bodies, through the HTTP API: a 400
// that names the field, and nothing written.
func TestStrictBodies(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	for _, tc := range []struct {
		name, body, field, msg string
	}{
		{"upper-case field name", `{"SCOPE":"eqiad","reason":"r"}`, "SCOPE", "case-sensitive"},
		{"mixed-case field name", `{"scope":"eqiad","Reason":"r"}`, "Reason", `did you mean "reason"`},
		{"a field twice", `{"scope":"eqiad","reason":"r","scope":"global"}`, "scope", "twice"},
		{"an empty field name", `{"":""}`, "body", "unknown field"},
		{"an unprintable field name", "{\"\\u0007\":1}", "body", "unknown field"},
		{"invalid UTF-8", "{\"scope\":\"eqiad\",\"reason\":\"caf\xe9\"}", "body", "UTF-8"},
		{"NUL escaped", `{"scope":"eqiad","reason":"a\u0000b"}`, "reason", "control characters"},
		{"ESC escaped", `{"scope":"eqiad","reason":"\u001b[31mred"}`, "reason", "control characters"},
		{"newline escaped", `{"scope":"eqiad","reason":"two\nlines"}`, "reason", "control characters"},
		{"C1 control raw", "{\"scope\":\"eqiad\",\"reason\":\"next\u0085line\"}", "reason", "control characters"},
		{"DEL raw", "{\"scope\":\"eqiad\",\"reason\":\"del\x7f\"}", "reason", "control characters"},
		{"lone high surrogate", `{"scope":"eqiad","reason":"\ud800x"}`, "reason", "surrogate"},
		{"lone low surrogate", `{"scope":"eqiad","reason":"\udc00"}`, "reason", "surrogate"},
		{"not an object", `["scope"]`, "body", "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(t, http.MethodPost, "/api/v1/holds", sre, tc.body)
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", a.status, a.body)
			}
			e := a.errBody(t)
			if e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("field %q message %q, want field %q and %q", e.Error.Field, e.Error.Message, tc.field, tc.msg)
			}
			f.nothingWritten(t)
		})
	}
	// A surrogate pair is a character, not an error.
	if a := f.do(t, http.MethodPost, "/api/v1/holds", sre, `{"scope":"eqiad","reason":"ok \ud83d\ude80"}`); a.status != http.StatusCreated {
		t.Fatalf("a valid surrogate pair: %d %s", a.status, a.body)
	}
}

// rawToken signs claims as given, so tests can send what `scaplock token` never would.
func (f *fixture) rawToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(f.secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Tokens scaplockd refuses (401), each for one rule, and ones it takes.
func TestStrictTokens(t *testing.T) {
	f := newFixture(t, func(_ *api.Config, ac *api.AuthConfig) { ac.MaxTTL = 24 * time.Hour })
	now := time.Now()
	base := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "roles": []string{"sre"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		mut(c)
		return c
	}
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		msg    string
	}{
		{"exp as a string", base(func(c jwt.MapClaims) { c["exp"] = `"` + json.Number("9999999999").String() + `"` }), "exp"},
		{"exp 100 years ahead", base(func(c jwt.MapClaims) { c["exp"] = now.AddDate(100, 0, 0).Unix() }), "SCAPLOCK_JWT_MAX_TTL"},
		{"no iat, exp past the max ttl", base(func(c jwt.MapClaims) { delete(c, "iat"); c["exp"] = now.Add(48 * time.Hour).Unix() }), "SCAPLOCK_JWT_MAX_TTL"},
		{"iat in the future", base(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix(); c["exp"] = now.Add(2 * time.Hour).Unix() }), "used before issued"},
		{"no exp", base(func(c jwt.MapClaims) { delete(c, "exp") }), "exp"},
		// No leeway on exp: the 30s skew allowance covers nbf and iat only.
		{"exp 1s ago", base(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }), "token is expired"},
		{"blank sub", base(func(c jwt.MapClaims) { c["sub"] = "   " }), "blank"},
		{"no sub", base(func(c jwt.MapClaims) { delete(c, "sub") }), "blank"},
		{"a 50 KB sub", base(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", 50<<10) }), "more than 128"},
		{"terminal escapes in sub", base(func(c jwt.MapClaims) { c["sub"] = "mallory\x1b[2J\r" }), "not printable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := tc.claims
			if s, ok := claims["exp"].(string); ok { // a string exp, raw
				claims["exp"] = json.RawMessage(s)
			}
			a := f.do(t, http.MethodPost, "/api/v1/holds", f.rawToken(t, claims), `{"scope":"eqiad","reason":"r"}`)
			if a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), tc.msg) {
				t.Fatalf("status %d %s, want 401 mentioning %q", a.status, a.body, tc.msg)
			}
			f.nothingWritten(t)
		})
	}
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
	}{
		{"a day exactly", base(func(c jwt.MapClaims) { c["exp"] = now.Add(24 * time.Hour).Unix() })},
		{"iat within the leeway", base(func(c jwt.MapClaims) { c["iat"] = now.Add(10 * time.Second).Unix() })},
		{"a sub with spaces and accents", base(func(c jwt.MapClaims) { c["sub"] = "José Ñúñez" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := f.do(t, http.MethodGet, "/api/v1/holds", f.rawToken(t, tc.claims), nil); a.status != http.StatusOK {
				t.Fatalf("status %d %s, want 200", a.status, a.body)
			}
		})
	}
}

// Query strings and paths: bad input is 400 naming the parameter, or 404.
func TestStrictQueriesAndPaths(t *testing.T) {
	f := newFixture(t, func(c *api.Config, _ *api.AuthConfig) { c.Page = web.Handler() })
	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/api/v1/history?hold=%01", 400, "hold"},
		{"/api/v1/history?hold=a/b", 400, "hold"},
		{"/api/v1/history?actor=%1b%5b2J", 400, "actor"},
		{"/api/v1/history?actor=" + strings.Repeat("a", 200), 400, "actor"},
		{"/api/v1/history?action=exploded", 400, "action"},
		{"/api/v1/history?scope=eqiad&scope=codfw", 400, "scope"},
		{"/api/v1/history?colour=red", 400, "colour"},
		{"/api/v1/history?cursor=00000000000000000001-x", 400, "cursor"},
		{"/api/v1/history?actor=nobody", 200, ""},
		{"/api/v1/holds/%01", 400, "id"},
		{"/api/v1/holds/" + strings.Repeat("x", 200), 400, "id"},
		{"/api/v1/holds/0123456789abcdef", 404, ""},
		{"/static/%ff", 404, ""},
		{"/static/..%2fweb.go", 404, ""},
		{"/static/app.js", 200, ""},
	} {
		t.Run(tc.path[:min(len(tc.path), 40)], func(t *testing.T) {
			a := f.do(t, http.MethodGet, tc.path, "", nil)
			if a.status != tc.status {
				t.Fatalf("status %d %.200s, want %d", a.status, a.body, tc.status)
			}
			if tc.field != "" {
				if e := a.errBody(t); e.Error.Field != tc.field {
					t.Fatalf("field %q (%s), want %q", e.Error.Field, e.Error.Message, tc.field)
				}
			}
		})
	}
}
