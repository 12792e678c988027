package lock

import (
	"errors"
	"testing"
)

func TestKnownScopes(t *testing.T) {
	k, err := NewKnownScopes("eqiad", "codfw", "eqiad", "global")
	if err != nil {
		t.Fatal(err)
	}
	if got := k.List(); len(got) != 3 || got[0] != Global || got[1] != "eqiad" || got[2] != "codfw" {
		t.Fatalf("List: %v, want global, eqiad, codfw", got)
	}
	cases := []struct {
		in, err string
	}{
		{"global", ""},
		{"eqiad", ""},
		{"codfw", ""},
		{"eqaid", `scope: unknown scope "eqaid" (known: global, eqiad, codfw)`},
		{"", "scope: is required"},
		{"EQIAD", `scope: "EQIAD" is not a scope`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := k.Parse(tc.in)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.err != "" && (err == nil || !errors.Is(err, ErrInvalid) || len(err.Error()) < len(tc.err) || err.Error()[:len(tc.err)] != tc.err):
				t.Fatalf("error %v, want prefix %q matching ErrInvalid", err, tc.err)
			}
		})
	}
	var fe *FieldError
	if _, err := k.Parse("eqaid"); !errors.As(err, &fe) || fe.Field != "scope" {
		t.Errorf("want a FieldError on scope, got %v", err)
	}
	if _, err := NewKnownScopes("Bad Scope"); err == nil {
		t.Error("an invalid configured scope must be an error")
	}
	// The zero value accepts every well-formed scope (stores without a list).
	var any KnownScopes
	if _, err := any.Parse("whatever"); err != nil {
		t.Errorf("zero KnownScopes: %v", err)
	}
	if _, err := any.Parse("Not Valid"); err == nil {
		t.Error("zero KnownScopes must still reject malformed scopes")
	}
}
