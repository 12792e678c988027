package main

import (
	"context"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/lock"
)

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"alice":               "alice",
		"José Ñúñez":          "José Ñúñez",
		"mallory\x1b[2J\r":    `mallory\x1b[2J\r`,
		"two\nlines":          `two\nlines`,
		"bad \xff utf8":       `bad \xff utf8`,
		"nul\x00":             `nul\x00`,
		"c1 \u0085":           `c1 \u0085`,
		`quotes "stay" as is`: `quotes "stay" as is`,
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := safeLines("line one\nline \x1b two"); got != "line one\nline \\x1b two" {
		t.Errorf("safeLines kept or broke lines: %q", got)
	}
}

// Strings the service supplies never reach the terminal raw: a hold whose
// owner carries terminal escapes (written to etcd by something other than
// this API, which refuses such a sub) prints escaped in every view.
func TestServerStringsAreEscaped(t *testing.T) {
	ctx := context.Background()
	owner := "mallory\x1b[2J\x1b]0;pwned\x07\r"
	h, err := srv.Store().Create(ctx, lock.HoldRequest{Scope: "global", Kind: lock.KindManual, Owner: owner, Reason: "escape test"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Store().Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "cleanup", Reason: "done", Kinds: []lock.Kind{lock.KindManual}})
	reader := as(t, "esc-reader")
	for _, args := range [][]string{
		{"status"},
		{"history", "--hold", h.ID},
		{"preflight", "--scope", "global"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := scaplock(ctx, reader, args...)
			out := r.stdout + r.stderr
			if strings.ContainsAny(out, "\x1b\x07\r") {
				t.Fatalf("raw control bytes reached the terminal: %q", out)
			}
			if !strings.Contains(out, `mallory\x1b[2J`) {
				t.Fatalf("the owner is not shown escaped: %q", out)
			}
		})
	}
}
