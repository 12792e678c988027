package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scaplock/scaplock/api/token"
	"github.com/scaplock/scaplock/lock"
)

// FuzzHoldBody: whatever the body, the decoder either names a bad field or
// returns a hold that is valid in every respect.
func FuzzHoldBody(f *testing.F) {
	for _, seed := range []string{
		`{"scope":"eqiad","reason":"r"}`,
		`{"scope":"global","reason":"maintenance","duration":"2h"}`,
		`{"scope":"eqiad","reason":"r","duration":"-5m"}`,
		`{"scope":"eqiad","reason":"r","extra":1}`,
		`{"scope":"","reason":""}`,
		`{"scope":"a-b-c","reason":"\u00e9t\u00e9","duration":"1h30m"}`,
		`{"scope":"eqiad","reason":"r"} trailing`,
		`{"scope":null,"reason":null,"duration":null}`,
		`[1,2,3]`,
		`"just a string"`,
		``,
		`{"scope":"eqiad","reason":"r","duration":"9999999h"}`,
		`{"":""}`,
		`{"SCOPE":"eqiad","reason":"r"}`,
		`{"scope":"eqiad","reason":"\ud800"}`,
		`{"scope":"eqiad","reason":"a\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	const max = 7 * 24 * time.Hour
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseHoldBody(body, max, false)
		if err != nil {
			var fe *lock.FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if _, err := lock.ParseScope(string(in.scope)); err != nil {
			t.Fatalf("accepted bad scope %q", in.scope)
		}
		if err := lock.ValidateReason(in.reason); err != nil || !utf8.ValidString(in.reason) {
			t.Fatalf("accepted bad reason %q", in.reason)
		}
		if in.duration < 0 || in.duration > max {
			t.Fatalf("accepted duration %s", in.duration)
		}
	})
}

// FuzzTokenClaims: whatever claims a correctly signed token carries, the
// authenticator refuses it as unauthorized, or accepts a printable,
// bounded, non-blank sub on a token that lives at most MaxTTL.
func FuzzTokenClaims(f *testing.F) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		`{"sub":"alice","roles":["sre"],"iat":1795608000,"exp":1795611600}`,
		`{"sub":"alice","exp":"1795611600"}`,
		`{"sub":"alice","exp":4951281600}`,
		`{"sub":"alice","iat":1795700000,"exp":1795711600}`,
		`{"sub":"","exp":1795611600}`,
		`{"sub":"   ","exp":1795611600}`,
		`{"sub":"a\u001b[2J","exp":1795611600}`,
		`{"sub":"alice","exp":1795611600.5,"nbf":"0"}`,
		`{"sub":["alice"],"exp":1795611600}`,
		`[]`,
		`{"exp":null}`,
	} {
		f.Add([]byte(seed))
	}
	secret := []byte(strings.Repeat("k", 40))
	a := &Authenticator{method: "HS256", key: secret, maxTTL: 24 * time.Hour}
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, claims []byte) {
		signing := head + "." + base64.RawURLEncoding.EncodeToString(claims)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(signing))
		raw := signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		p, err := a.verify(raw, now)
		if err != nil {
			if !errors.Is(err, errUnauthorized) {
				t.Fatalf("refusal that is not a 401: %v", err)
			}
			return
		}
		if err := token.ValidateSubject(p.Subject); err != nil {
			t.Fatalf("accepted sub %q: %v", p.Subject, err)
		}
		var c struct {
			Exp json.Number `json:"exp"`
			Iat json.Number `json:"iat"`
		}
		if err := json.Unmarshal(claims, &c); err != nil {
			t.Fatalf("accepted claims encoding/json cannot read: %v", err)
		}
		exp, err := c.Exp.Float64()
		if err != nil || bytes.Contains(claims, []byte(`"exp":"`)) {
			t.Fatalf("accepted exp %q", c.Exp)
		}
		if time.Unix(int64(exp), 0).Sub(now) > 24*time.Hour+time.Minute && c.Iat == "" {
			t.Fatalf("accepted a token living past the max ttl: exp %s", c.Exp)
		}
	})
}

// FuzzHistoryQuery: whatever the query string, the parser names the bad
// parameter or returns filters the store can use as keys safely.
func FuzzHistoryQuery(f *testing.F) {
	for _, seed := range []string{
		"limit=50",
		"actor=nobody",
		"hold=0123456789abcdef&since=2026-11-25T12:00:00Z",
		"scope=eqiad&kind=manual&action=created",
		"hold=%01",
		"actor=%1b%5b2J",
		"scope=eqiad&scope=codfw",
		"cursor=7427690656364072042-ev1",
		"limit=-1",
		"until=yesterday",
		"%ff=1",
		"action=exploded",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r, err := http.NewRequest(http.MethodGet, "http://scaplock/api/v1/history", nil)
		if err != nil {
			t.Fatal(err) // a constant URL: never
		}
		r.URL.RawQuery = query
		q, err := parseHistoryQuery(r)
		if err != nil {
			var fe *lock.FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" || !utf8.ValidString(fe.Field) {
				t.Fatalf("error without a printable field: %v", err)
			}
			return
		}
		if q.HoldID != "" && lock.ValidateID(q.HoldID) != nil {
			t.Fatalf("accepted hold %q", q.HoldID)
		}
		if q.Actor != "" && token.ValidateSubject(q.Actor) != nil {
			t.Fatalf("accepted actor %q", q.Actor)
		}
		if q.Scope != "" {
			if _, err := lock.ParseScope(string(q.Scope)); err != nil {
				t.Fatalf("accepted scope %q", q.Scope)
			}
		}
		if q.Limit < 0 {
			t.Fatalf("accepted limit %d", q.Limit)
		}
	})
}
