package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With a token in the environment, nothing the CLI prints contains it:
// help texts, usage errors, error answers and --json output.
func TestTokenNeverPrinted(t *testing.T) {
	ctx := context.Background()
	tok := mint(t, "tk-sre", "sre", "deployer")
	env := map[string]string{"SCAPLOCK_TOKEN": tok}
	r := scaplock(ctx, env, "lock", "--scope", "tk-eqiad", "--reason", "token hygiene")
	wantCode(t, r, exitOK)
	defer scaplock(ctx, env, "unlock", strings.TrimSpace(r.stdout), "--reason", "cleanup")

	runs := [][]string{
		{"help"}, {"--help"}, {"-h"}, {},
		{"--bogus"}, {"nope"}, {"preflight", "--scopes", "x"}, {"lock", "--scope", "tk-eqiad"},
		{"status", "--json"}, {"status"}, {"preflight", "--scope", "tk-eqiad", "--json"},
		{"preflight", "--scope", "eqaid", "--json"}, {"history", "--scope", "tk-eqiad", "--json"},
		{"--url", closedURL(t), "preflight", "--json"},
		// The token given as a flag is not echoed either.
		{"--token", tok, "status", "--bogus"},
	}
	for name := range commands {
		runs = append(runs, []string{"help", name}, []string{name, "-h"}, []string{name, "--no-such-flag"})
	}
	for _, args := range runs {
		r := scaplock(ctx, env, args...)
		if strings.Contains(r.stdout, tok) || strings.Contains(r.stderr, tok) {
			t.Errorf("scaplock %q printed the token: %s", args, r)
		}
		// A secret's default is not even hinted at.
		if strings.Contains(r.stderr+r.stdout, `(default "ey`) {
			t.Errorf("scaplock %q printed a token default: %s", args, r)
		}
	}
	// The flag list still documents --token and --token-file.
	r = scaplock(ctx, env, "help", "preflight")
	if !strings.Contains(r.stdout, "-token-file") {
		t.Errorf("help preflight does not list --token-file:\n%s", r.stdout)
	}
}

func TestTokenFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte(mint(t, "tk-file", "deployer")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide")
	if err := os.WriteFile(wide, []byte(mint(t, "tk-file", "deployer")), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(wide, 0o644) // umask may have narrowed it
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)

	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		want    int
		stderr  string
		noWarns bool
	}{
		{"--token-file", nil, []string{"--token-file", good}, exitOK, "", true},
		{"SCAPLOCK_TOKEN_FILE", map[string]string{"SCAPLOCK_TOKEN_FILE": good}, nil, exitOK, "", true},
		{"--token-file beats SCAPLOCK_TOKEN", map[string]string{"SCAPLOCK_TOKEN": "garbage"}, []string{"--token-file", good}, exitOK, "", true},
		{"--token beats --token-file", nil, []string{"--token-file", empty, "--token", "garbage"}, exitMisuse, "unauthorized", true},
		{"mode wider than 0600 warns", nil, []string{"--token-file", wide}, exitOK, "WARNING: --token-file " + wide + " is readable by others (mode 0644)", false},
		{"missing file is misuse", nil, []string{"--token-file", filepath.Join(dir, "nope")}, exitMisuse, "scaplock: --token-file " + filepath.Join(dir, "nope") + ": no such file or directory\n", true},
		{"empty file is misuse", map[string]string{"SCAPLOCK_TOKEN_FILE": empty}, nil, exitMisuse, "scaplock: SCAPLOCK_TOKEN_FILE=" + empty + ": the file is empty\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "preflight", "--scope", "eqiad")
			r := scaplock(ctx, tc.env, args...)
			wantCode(t, r, tc.want)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q: %s", tc.stderr, r)
			}
			if tc.noWarns && strings.Contains(r.stderr, "WARNING") {
				t.Errorf("unexpected warning: %s", r)
			}
		})
	}
}

// A long-running command (scap-bridge) picks up a rotated token file.
func TestTokenFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("first\n"), 0o600)
	cr := &credentials{envFile: path}
	var warnings []string
	warn := func(w string) { warnings = append(warnings, w) }
	if tok, err := cr.bearer(warn); err != nil || tok != "first" {
		t.Fatalf("first read: %q %v", tok, err)
	}
	os.WriteFile(path, []byte("second-and-longer\n"), 0o600)
	if tok, err := cr.bearer(warn); err != nil || tok != "second-and-longer" {
		t.Fatalf("after rotation: %q %v", tok, err)
	}
	os.Chmod(path, 0o640)
	os.WriteFile(path, []byte("third\n"), 0o640)
	cr.bearer(warn)
	cr.bearer(warn)
	os.WriteFile(path, []byte("fourth-token\n"), 0o640)
	if tok, _ := cr.bearer(warn); tok != "fourth-token" || len(warnings) != 1 {
		t.Errorf("token %q, warnings %q: want the new token and one warning", tok, warnings)
	}
	os.Remove(path)
	if _, err := cr.bearer(warn); exitCode(err) != exitMisuse {
		t.Errorf("a vanished token file: %v, want misuse", err)
	}
}
