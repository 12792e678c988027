package api

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

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
