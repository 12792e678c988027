package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestTokenMintedIsAcceptedWithItsIdentityAndRoles(t *testing.T) {
	ctx := context.Background()
	r := scaplock(ctx, nil, "token", "--secret-file", srv.SecretFile, "--sub", "tok-alice", "--roles", "sre,deployer", "--ttl", "10m")
	wantCode(t, r, exitOK)
	tok := strings.TrimSpace(r.stdout)
	if strings.Count(tok, ".") != 2 || strings.Contains(tok, "\n") {
		t.Fatalf("stdout is not one JWT: %q", r.stdout)
	}

	// sre: a manual hold, owned by the token's sub.
	env := map[string]string{"SCAPLOCK_TOKEN": tok}
	r = scaplock(ctx, env, "lock", "--scope", "tok-a", "--reason", "token test")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	var found bool
	for _, h := range status(t).Holds {
		if h.ID == id {
			found = true
			if h.Owner != "tok-alice" {
				t.Errorf("hold owner %q, want tok-alice", h.Owner)
			}
		}
	}
	if !found {
		t.Fatalf("hold %s not in status", id)
	}
	wantCode(t, scaplock(ctx, env, "unlock", id, "--reason", "done"), exitOK)

	// deployer: the same token may run a deploy.
	wantCode(t, scaplock(ctx, env, "run", "--scope", "tok-a", "--", "true"), exitOK)

	// A deployer-only token is refused an SRE action: 403 is exit 3.
	r = scaplock(ctx, nil, "token", "--secret-file", srv.SecretFile, "--sub", "tok-bob", "--roles", "deployer")
	wantCode(t, r, exitOK)
	r = scaplock(ctx, map[string]string{"SCAPLOCK_TOKEN": strings.TrimSpace(r.stdout)}, "lock", "--scope", "tok-a", "--reason", "x")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "scaplock: tok-bob lacks role sre") {
		t.Errorf("stderr %q does not explain the missing role", r.stderr)
	}

	// No token at all: 401 is exit 3.
	r = scaplock(ctx, nil, "status")
	wantCode(t, r, exitMisuse)
	if !strings.HasPrefix(r.stderr, "scaplock: unauthorized") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestTokenRejectsBadInvocations(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short.secret")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown role", []string{"--secret-file", srv.SecretFile, "--sub", "a", "--roles", "sre,root"}, exitMisuse, `"root" is not one of deployer, sre, admin`},
		{"no roles", []string{"--secret-file", srv.SecretFile, "--sub", "a", "--roles", " , "}, exitMisuse, "at least one role"},
		{"no sub", []string{"--secret-file", srv.SecretFile, "--roles", "sre"}, exitMisuse, "--sub is required"},
		{"no secret file", []string{"--sub", "a", "--roles", "sre"}, exitMisuse, "give one of --secret-file (HS256) or --private-key-file"},
		{"negative ttl", []string{"--secret-file", srv.SecretFile, "--sub", "a", "--roles", "sre", "--ttl", "-1h"}, exitMisuse, "--ttl must be positive"},
		{"secret too short", []string{"--secret-file", short, "--sub", "a", "--roles", "sre"}, exitMisuse, "need at least 32"},
		{"missing secret", []string{"--secret-file", short + ".nope", "--sub", "a", "--roles", "sre"}, exitMisuse, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scaplock(context.Background(), nil, append([]string{"token"}, tc.args...)...)
			wantCode(t, r, tc.code)
			if r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want stderr containing %q and no stdout, got %s", tc.want, r)
			}
		})
	}
}

func TestParseRoles(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"sre", []string{apiv1.RoleSRE}, false},
		{" sre , deployer,sre ", []string{"sre", "deployer"}, false},
		{"admin", []string{"admin"}, false},
		{"", nil, true},
		{"SRE", nil, true},
		{"sre,,ops", nil, true},
	}
	for _, tc := range cases {
		got, err := parseRoles(tc.in)
		if (err != nil) != tc.err || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("parseRoles(%q) = %v, %v; want %v, err %t", tc.in, got, err, tc.want, tc.err)
		}
	}
}
