package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring; "" means stdout must be empty
		stderr string // substring; "" means stderr must be empty
	}{
		{"no command", nil, exitMisuse, "", "usage: scaplock"},
		{"unknown command", []string{"deploy"}, exitMisuse, "", `unknown command "deploy"`},
		{"help", []string{"help"}, exitOK, "preflight    exit 0 if deploys are allowed, 1 if refused, 2 if it cannot tell, 3 on a mistake", ""},
		{"help run", []string{"help", "run"}, exitOK, "There is no --fail-open: a lock that may be skipped", ""},
		{"help unknown", []string{"help", "nope"}, exitMisuse, "", `unknown command "nope"`},
		{"-h", []string{"-h"}, exitOK, "usage: scaplock", ""},
		{"command -h", []string{"lock", "-h"}, exitOK, "usage: scaplock lock --scope S --reason R [--for D]", ""},
		{"unknown global flag", []string{"--verbose", "status"}, exitMisuse, "", "scaplock: unknown flag --verbose\nsee scaplock --help\n"},
		{"unknown flag", []string{"preflight", "--scopes", "eqiad"}, exitMisuse, "", "scaplock preflight: unknown flag --scopes\n"},
		{"bad duration", []string{"preflight", "--wait", "soon"}, exitMisuse, "", `scaplock preflight: --wait: "soon" is not a duration`},
		{"lock without reason", []string{"lock", "--scope", "eqiad"}, exitMisuse, "", "scaplock lock: --reason is required"},
		{"lock without scope", []string{"lock", "--reason", "x"}, exitMisuse, "", "--scope is required"},
		{"lock with argument", []string{"lock", "--scope", "eqiad", "--reason", "x", "extra"}, exitMisuse, "", `unexpected argument "extra"`},
		{"unlock without id", []string{"unlock", "--reason", "x"}, exitMisuse, "", "exactly one hold ID"},
		{"unlock without reason", []string{"unlock", "abcd"}, exitMisuse, "", "--reason is required"},
		{"override without for", []string{"override", "--scope", "eqiad", "--reason", "x"}, exitMisuse, "", "--for is required"},
		{"override cancel with scope", []string{"override", "--cancel", "ab", "--scope", "eqiad", "--reason", "x"}, exitMisuse, "", "--cancel takes only --reason"},
		{"run without command", []string{"run", "--scope", "eqiad"}, exitRunMisuse, "", "no command given"},
		{"run without scope", []string{"run", "--", "true"}, exitRunMisuse, "", "--scope is required"},
		{"history bad since", []string{"history", "--since", "yesterday"}, exitMisuse, "", `--since: "yesterday" is neither`},
		{"history bad limit", []string{"history", "--limit", "0"}, exitMisuse, "", "--limit must be positive"},
		{"bad url", []string{"--url", "localhost:8080", "status"}, exitMisuse, "", `--url "localhost:8080" must be an http(s)://host[:port] URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scaplock(context.Background(), nil, tc.args...)
			wantCode(t, r, tc.code)
			check := func(what, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("%s: want %q in %q", what, want, got)
				}
			}
			check("stdout", r.stdout, tc.stdout)
			check("stderr", r.stderr, tc.stderr)
		})
	}
}

func TestGlobalFlagsAndEnvironment(t *testing.T) {
	ctx := context.Background()
	tok := mint(t, "gl-reader")
	// Environment.
	wantCode(t, scaplock(ctx, map[string]string{"SCAPLOCK_TOKEN": tok}, "status"), exitOK)
	// Flags before and after the command beat the environment.
	bad := map[string]string{"SCAPLOCK_URL": closedURL(t), "SCAPLOCK_TOKEN": "garbage"}
	wantCode(t, scaplock(ctx, bad, "--url", srv.URL(), "--token", tok, "status"), exitOK)
	wantCode(t, scaplock(ctx, bad, "status", "--url", srv.URL(), "--token", tok), exitOK)
	// A bad token from the environment is refused: 401 is misuse, exit 3.
	wantCode(t, scaplock(ctx, map[string]string{"SCAPLOCK_TOKEN": "garbage"}, "status"), exitMisuse)
}

func TestParseAllowsFlagsAfterArguments(t *testing.T) {
	cases := []struct {
		args   []string
		pos    []string
		reason string
	}{
		{[]string{"abcd", "--reason", "r"}, []string{"abcd"}, "r"},
		{[]string{"--reason", "r", "abcd"}, []string{"abcd"}, "r"},
		{[]string{"a", "--reason", "r", "b"}, []string{"a", "b"}, "r"},
		{[]string{"--reason", "r", "--", "--not-a-flag"}, []string{"--not-a-flag"}, "r"},
		{[]string{}, nil, ""},
	}
	for _, tc := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		reason := fs.String("reason", "", "")
		pos, stop, _ := parse(fs, tc.args)
		if stop || strings.Join(pos, "|") != strings.Join(tc.pos, "|") || *reason != tc.reason {
			t.Errorf("parse(%q) = %q, reason %q, stop %t; want %q, %q", tc.args, pos, *reason, stop, tc.pos, tc.reason)
		}
	}
}
