package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// countingProxy forwards every request to srv and counts them.
func countingProxy(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	target, _ := url.Parse(srv.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int64
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p.URL, &n
}

// A token file that cannot be read is the caller's mistake, for every
// command: exit 3 (run: 123) at once with one line naming the file, and
// no request is sent (lock, unlock and run used to retry for 30s).
func TestTokenFileMistakesFailAtOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "alice.token")
	empty := filepath.Join(dir, "empty.token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "dir.token")
	os.Mkdir(unreadable, 0o700)
	proxy, requests := countingProxy(t)

	commands := [][]string{
		{"status"}, {"history"}, {"report"}, {"preflight", "--scope", "eqiad"}, {"preflight", "--scope", "eqiad", "--fail-open"},
		{"lock", "--scope", "eqiad", "--reason", "r", "--for", "1d"},
		{"unlock", "0123456789abcdef", "--reason", "r"}, {"unlock", "abcd", "--reason", "r"},
		{"amend", "0123456789abcdef", "--for", "2d"},
		{"override", "--scope", "eqiad", "--reason", "r", "--for", "1h"},
		{"run", "--scope", "eqiad", "--", "true"},
	}
	files := []struct {
		name string
		env  map[string]string
		args []string
		line string
	}{
		{"missing --token-file", nil, []string{"--token-file", missing}, "scaplock: --token-file " + missing + ": no such file or directory\n"},
		{"empty SCAPLOCK_TOKEN_FILE", map[string]string{"SCAPLOCK_TOKEN_FILE": empty}, nil, "scaplock: SCAPLOCK_TOKEN_FILE=" + empty + ": the file is empty\n"},
		{"a directory as --token-file", nil, []string{"--token-file", unreadable}, "scaplock: --token-file " + unreadable + ": is a directory\n"},
	}
	for _, f := range files {
		for _, args := range commands {
			t.Run(f.name+"/"+strings.Join(args, " "), func(t *testing.T) {
				env := map[string]string{"SCAPLOCK_URL": proxy}
				for k, v := range f.env {
					env[k] = v
				}
				before := requests.Load()
				r := scaplock(ctx, env, append(append([]string{}, f.args...), args...)...)
				want := exitMisuse
				if args[0] == "run" {
					want = exitRunMisuse
				}
				wantCode(t, r, want)
				line := f.line
				if args[len(args)-1] == "--fail-open" {
					line += "scaplock: not opened by --fail-open: this is a mistake in the call, not an outage\n"
				}
				if r.stderr != line || r.stdout != "" {
					t.Errorf("want exactly %q on stderr: %s", line, r)
				}
				if n := requests.Load() - before; n != 0 {
					t.Errorf("%d requests sent with an unreadable token file", n)
				}
			})
		}
	}
}

// 401 and 403 are the caller's mistake: one request, no retry, exit 3
// (run: 123).
func TestUnauthorizedAndForbiddenAreNotRetried(t *testing.T) {
	ctx := context.Background()
	proxy, requests := countingProxy(t)
	scope := uniqueScope(t)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		line string
	}{
		{"lock with a bad token (401)", map[string]string{"SCAPLOCK_TOKEN": "garbage"},
			[]string{"lock", "--scope", scope, "--reason", "r"}, exitMisuse, "scaplock: unauthorized: token rejected: token is malformed: token contains an invalid number of segments\n"},
		{"run with a bad token (401)", map[string]string{"SCAPLOCK_TOKEN": "garbage"},
			[]string{"run", "--scope", scope, "--", "true"}, exitRunMisuse, "scaplock: unauthorized: token rejected: token is malformed: token contains an invalid number of segments\n"},
		{"lock without role sre (403)", as(t, "mk-dep", "deployer"),
			[]string{"lock", "--scope", scope, "--reason", "r"}, exitMisuse, "scaplock: mk-dep lacks role sre: forbidden\n"},
		{"run without role deployer (403)", as(t, "mk-sre", "sre"),
			[]string{"run", "--scope", scope, "--", "true"}, exitRunMisuse, "scaplock: mk-sre lacks role deployer: forbidden\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["SCAPLOCK_URL"] = proxy
			before := requests.Load()
			r := scaplock(ctx, tc.env, tc.args...)
			wantCode(t, r, tc.code)
			if r.stderr != tc.line {
				t.Errorf("want exactly %q on stderr: %s", tc.line, r)
			}
			if n := requests.Load() - before; n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
		})
	}
}

// run's own outcomes have codes of their own (121-127); its command's
// status passes through, with one line naming it when the command fails.
func TestRunExitCodesKeepApartFromTheCommands(t *testing.T) {
	ctx := context.Background()
	deployer := as(t, "rx-dep", "deployer")
	sre := as(t, "rx-sre", "sre")
	locked := uniqueScope(t)
	r := scaplock(ctx, sre, "lock", "--scope", locked, "--reason", "run exit codes")
	wantCode(t, r, exitOK)
	defer scaplock(ctx, sre, "unlock", strings.TrimSpace(r.stdout), "--reason", "cleanup")
	notExecutable := filepath.Join(t.TempDir(), "deploy.sh")
	os.WriteFile(notExecutable, []byte("#!/bin/sh\nexit 0\n"), 0o600)

	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string // exact, or a regexp when it starts with ^
	}{
		{"true", deployer, []string{"--", "true"}, 0, ""},
		{"false", deployer, []string{"--", "false"}, 1, "scaplock: false exited with status 1\n"},
		{"exit 2", deployer, []string{"--", "sh", "-c", "exit 2"}, 2, "scaplock: sh exited with status 2\n"},
		{"exit 3", deployer, []string{"--", "sh", "-c", "exit 3"}, 3, "scaplock: sh exited with status 3\n"},
		{"exit 123 from the command", deployer, []string{"--", "sh", "-c", "exit 123"}, 123, "scaplock: sh exited with status 123\n"},
		{"killed by a signal", deployer, []string{"--", "sh", "-c", "kill -TERM $$"}, 143, "scaplock: sh killed by signal TERM\n"},
		{"not found", deployer, []string{"--", "/nonexistent/deploy"}, exitNotFound, "scaplock: cannot start /nonexistent/deploy: fork/exec /nonexistent/deploy: no such file or directory\n"},
		{"not executable", deployer, []string{"--", notExecutable}, exitCannotExecute, "scaplock: cannot start " + notExecutable + ": fork/exec " + notExecutable + ": permission denied\n"},
		{"refused (423)", deployer, []string{"--scope", locked, "--", "true"}, exitRunRefused, `^scaplock: deploys to ` + locked + ` are refused: locked by rx-sre`},
		{"could not decide", map[string]string{"SCAPLOCK_URL": closedURL(t)}, []string{"--retry-for", "0", "--", "true"}, exitRunUnsure, `^scaplock: cannot reach http://127\.0\.0\.1:\d+/api/v1/deploys: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\n$`},
		{"unknown scope", deployer, []string{"--scope", "eqaid", "--", "true"}, exitRunMisuse, `^scaplock: .*unknown scope "eqaid" \(known: global, `},
		{"bad flag", deployer, []string{"--ttl", "soon", "--", "true"}, exitRunMisuse, "scaplock run: --ttl: \"soon\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock run --help\n"},
		{"no command", deployer, nil, exitRunMisuse, "scaplock run: no command given: scaplock run --scope S -- CMD [ARGS...]\nsee scaplock run --help\n"},
		{"help", nil, []string{"--help"}, exitOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"run"}
			if len(tc.args) == 0 || tc.args[0] != "--scope" {
				args = append(args, "--scope", uniqueScope(t))
			}
			r := scaplock(ctx, tc.env, append(args, tc.args...)...)
			wantCode(t, r, tc.code)
			if strings.HasPrefix(tc.stderr, "^") {
				if !regexp.MustCompile(tc.stderr).MatchString(r.stderr) {
					t.Errorf("stderr does not match %s: %s", tc.stderr, r)
				}
			} else if tc.name != "help" && r.stderr != tc.stderr {
				t.Errorf("want exactly %q on stderr: %s", tc.stderr, r)
			}
		})
	}
}

// Every duration flag takes whole days, and a bad one is one line naming
// the flag, exit 3.
func TestDurationsInDays(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "dd-sre", "sre")
	scope := uniqueScope(t)
	r := scaplock(ctx, sre, "lock", "--scope", scope, "--reason", "a week", "--for", "7d")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	defer scaplock(ctx, sre, "unlock", id, "--reason", "cleanup")
	lifetime := func() time.Duration {
		for _, h := range holdsOn(t, scope) {
			if h.ID == id && h.ExpiresAt != nil {
				return h.ExpiresAt.Sub(h.CreatedAt).Round(time.Minute)
			}
		}
		t.Fatalf("hold %s has no expiry", id)
		return 0
	}
	if got := lifetime(); got != 7*24*time.Hour {
		t.Errorf("lock --for 7d: the hold lives %s", got)
	}
	r = scaplock(ctx, sre, "amend", id, "--for", "2d")
	wantCode(t, r, exitOK)
	if got := lifetime(); got < 2*24*time.Hour || got > 2*24*time.Hour+time.Hour {
		t.Errorf("amend --for 2d: the hold lives %s after its creation", got)
	}
	r = scaplock(ctx, nil, "token", "--secret-file", srv.SecretFile, "--sub", "dd-alice", "--roles", "sre", "--ttl", "7d")
	wantCode(t, r, exitOK)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimSpace(r.stdout), ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Iat, Exp int64 }
	json.Unmarshal(payload, &claims)
	if claims.Exp-claims.Iat != 7*24*3600 {
		t.Errorf("token --ttl 7d: exp-iat = %ds", claims.Exp-claims.Iat)
	}
	wantCode(t, scaplock(ctx, as(t, "dd-dep", "deployer"), "history", "--scope", scope, "--since", "1d"), exitOK)

	bad := []struct {
		args []string
		line string
	}{
		{[]string{"lock", "--scope", scope, "--reason", "r", "--for", "30d"}, "scaplock: duration: 30d is longer than the maximum 7d\n"},
		{[]string{"lock", "--scope", scope, "--reason", "r", "--for", "30x"}, "scaplock lock: --for: \"30x\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock lock --help\n"},
		{[]string{"lock", "--scope", scope, "--reason", "r", "--for", "1.5d"}, "scaplock lock: --for: \"1.5d\" is not a whole number of days (30d)\nsee scaplock lock --help\n"},
		{[]string{"token", "--secret-file", srv.SecretFile, "--sub", "a", "--roles", "sre", "--ttl", "90d"}, "scaplock token: --ttl 90d is longer than 30d, the most the service accepts (SCAPLOCK_JWT_MAX_TTL; --max-ttl if it is set higher)\nsee scaplock token --help\n"},
		{[]string{"token", "--secret-file", srv.SecretFile, "--sub", "a", "--roles", "sre", "--ttl", "soon"}, "scaplock token: --ttl: \"soon\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock token --help\n"},
		{[]string{"amend", "abcd", "--for", "-1d"}, "scaplock amend: --for: \"-1d\" is not a whole number of days (30d)\nsee scaplock amend --help\n"},
		{[]string{"override", "--scope", scope, "--reason", "r", "--for", "4 hours"}, "scaplock override: --for: \"4 hours\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock override --help\n"},
		{[]string{"preflight", "--wait", "soon"}, "scaplock preflight: --wait: \"soon\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock preflight --help\n"},
		{[]string{"report", "--since", "30 days"}, "scaplock report: --since: \"30 days\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock report --help\n"},
		{[]string{"history", "--since", "yesterday"}, "scaplock history: --since: \"yesterday\" is neither an RFC 3339 time (2024-05-28T12:49:12Z) nor a duration ago (2h, 30d)\nsee scaplock history --help\n"},
		{[]string{"--timeout", "2", "status"}, "scaplock: --timeout: \"2\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock --help\n"},
		{[]string{"status", "--retry-for", "x"}, "scaplock status: --retry-for: \"x\" is not a duration (90s, 2h, 1h30m or whole days: 30d)\nsee scaplock status --help\n"},
		{[]string{"scap-bridge", "--poll-interval", "often"}, "scaplock scap-bridge: --poll-interval: \"often\" is not a positive duration\nsee scaplock scap-bridge --help\n"},
	}
	for _, tc := range bad {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := scaplock(ctx, sre, tc.args...)
			wantCode(t, r, exitMisuse)
			if r.stderr != tc.line || r.stdout != "" {
				t.Errorf("want exactly %q on stderr: %s", tc.line, r)
			}
		})
	}
}

// A flag mistake is one line naming the flag as the docs write it, and
// where to read more; never the whole usage.
func TestFlagMistakesAreOneLine(t *testing.T) {
	cases := []struct {
		args []string
		line string
	}{
		{[]string{"--verbose", "status"}, "scaplock: unknown flag --verbose\nsee scaplock --help\n"},
		{[]string{"preflight", "--scopes", "eqiad"}, "scaplock preflight: unknown flag --scopes\nsee scaplock preflight --help\n"},
		{[]string{"lock", "--reason", "r", "--scope"}, "scaplock lock: --scope needs a value\nsee scaplock lock --help\n"},
		{[]string{"status", "--json=maybe"}, "scaplock status: --json takes no value, or true or false, not \"maybe\"\nsee scaplock status --help\n"},
		{[]string{"deploy"}, "scaplock: unknown command \"deploy\"\nsee scaplock --help\n"},
		{[]string{"lock", "--scope", "eqiad"}, "scaplock lock: --reason is required\nsee scaplock lock --help\n"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := scaplock(context.Background(), nil, tc.args...)
			wantCode(t, r, exitMisuse)
			if r.stderr != tc.line || r.stdout != "" {
				t.Errorf("want exactly %q on stderr: %s", tc.line, r)
			}
		})
	}
}

// Every usage text writes flags as the docs do: --name, never -name.
func TestUsageShowsDoubleDashFlags(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	for _, args := range append([][]string{{"--help"}}, commandHelps()...) {
		r := scaplock(context.Background(), nil, args...)
		wantCode(t, r, exitOK)
		if m := singleDash.FindString(r.stdout); m != "" {
			t.Errorf("%q shows a single-dash flag %q:\n%s", args, m, r.stdout)
		}
		if !strings.Contains(r.stdout, "  --url URL") && !strings.Contains(r.stdout, "--url URL") {
			t.Errorf("%q does not list --url:\n%s", args, r.stdout)
		}
	}
	r := scaplock(context.Background(), nil, "help", "lock")
	for _, want := range []string{"  --for D\n        expire after this long", "  --scope SCOPE\n", "  --timeout D\n        how long to wait for each answer from the service (default 2s)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lock lacks %q:\n%s", want, r.stdout)
		}
	}
}

func commandHelps() [][]string {
	var out [][]string
	for name := range commands {
		out = append(out, []string{"help", name})
	}
	return out
}

// --json prints the service's answer as it came, on every command that
// shows something; exit codes stay those of the command.
func TestJSONIsTheServicesAnswer(t *testing.T) {
	ctx := context.Background()
	sre, deployer := as(t, "js-sre", "sre"), as(t, "js-dep", "deployer")
	scope := uniqueScope(t)
	r := scaplock(ctx, sre, "lock", "--scope", scope, "--reason", "json", "--json")
	wantCode(t, r, exitOK)
	var h apiv1.Hold
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil || h.Scope != apiv1.Scope(scope) || h.Reason != "json" {
		t.Fatalf("lock --json: %v %+v: %s", err, h, r)
	}

	// A refused preflight still exits 1 with its answer on stdout.
	r = scaplock(ctx, deployer, "preflight", "--scope", scope, "--json")
	wantCode(t, r, exitRefused)
	var pre apiv1.PreflightResponse
	if err := json.Unmarshal([]byte(r.stdout), &pre); err != nil || pre.Allowed || !strings.Contains(pre.Message, "locked by js-sre") {
		t.Errorf("preflight --json: %v %+v: %s", err, pre, r)
	}
	// history follows the cursor of a bounded scan, so its answer may be
	// several of the service's pages joined: the service's shape, one line.
	r = scaplock(ctx, deployer, "history", "--scope", scope, "--json")
	wantCode(t, r, exitOK)
	var page apiv1.HistoryPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("history --json: %v: %s", err, r)
	}
	if len(page.Events) != 1 || page.Events[0].Action != apiv1.ActionCreated || page.Events[0].Hold == nil || page.Events[0].Hold.ID != h.ID {
		t.Errorf("history --json: want the one creation of %s: %+v", h.ID, page.Events)
	}
	for _, args := range [][]string{{"status", "--json"}, {"report", "--json"}} {
		r = scaplock(ctx, deployer, args...)
		wantCode(t, r, exitOK)
		if strings.Count(r.stdout, "\n") != 1 || !json.Valid([]byte(r.stdout)) {
			t.Errorf("%q: want one line of JSON: %s", args, r)
		}
	}
	r = scaplock(ctx, sre, "unlock", h.ID, "--reason", "json", "--json")
	wantCode(t, r, exitOK)
	var released apiv1.Hold
	if err := json.Unmarshal([]byte(r.stdout), &released); err != nil || released.ID != h.ID {
		t.Errorf("unlock --json: %v: %s", err, r)
	}
}

// --json passes the service's bytes through: key order, spacing and
// fields the CLI does not know survive.
func TestJSONPassesTheBytesThrough(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/api/v1/status":    {http.StatusOK, `{"verdicts": [], "future_field": {"b": 1, "a": 2}, "revision": 7}` + "\n"},
		"/api/v1/preflight": {http.StatusLocked, `{"allowed": false, "message": "scaplock: refused", "reasons": [{"kind": "manual"}]}` + "\n"},
		"/api/v1/history":   {http.StatusOK, `{"events": [], "revision": 9, "future": true}` + "\n"},
		"/api/v1/report":    {http.StatusOK, `{"clusters": [], "since": "2026-01-01T00:00:00Z", "future": [1, 2]}`},
	}
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer service.Close()
	for _, tc := range []struct {
		cmd  string
		path string
		code int
	}{
		{"status", "/api/v1/status", exitOK},
		{"preflight", "/api/v1/preflight", exitRefused},
		{"history", "/api/v1/history", exitOK},
		{"report", "/api/v1/report", exitOK},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			r := scaplock(context.Background(), map[string]string{"SCAPLOCK_URL": service.URL}, tc.cmd, "--json")
			wantCode(t, r, tc.code)
			want := strings.TrimSuffix(answers[tc.path].body, "\n") + "\n" // one line, ended
			if r.stdout != want {
				t.Errorf("stdout %q, want the service's %q", r.stdout, want)
			}
		})
	}
}

// What a command was asked for goes to stdout, diagnostics to stderr:
// unlock's and amend's confirmations are output.
func TestConfirmationsGoToStdout(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "co-sre", "sre")
	scope := uniqueScope(t)
	r := scaplock(ctx, sre, "lock", "--scope", scope, "--reason", "confirm")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	r = scaplock(ctx, sre, "amend", id, "--reason", "confirmed")
	wantCode(t, r, exitOK)
	if !strings.HasPrefix(r.stdout, "amended hold "+id+" on "+scope+": \"confirmed\", expires never") || r.stderr != "" {
		t.Errorf("amend: %s", r)
	}
	r = scaplock(ctx, sre, "unlock", id, "--reason", "done")
	wantCode(t, r, exitOK)
	if want := "released manual hold " + id + " on " + scope + " (owner co-sre)\n"; r.stdout != want || r.stderr != "" {
		t.Errorf("unlock: want %q on stdout only: %s", want, r)
	}
}

// token blames the flag it was given, not the service's variable.
func TestTokenSecretFileMistake(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "jwt.secret")
	r := scaplock(context.Background(), nil, "token", "--secret-file", missing, "--sub", "a", "--roles", "sre")
	wantCode(t, r, exitMisuse)
	if want := "scaplock: --secret-file: open " + missing + ": no such file or directory\n"; r.stderr != want || r.stdout != "" {
		t.Errorf("want exactly %q on stderr: %s", want, r)
	}
}
