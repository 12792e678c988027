package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/server/servertest"
)

// Asked-for help is output (stdout, exit 0); help after a mistake is an
// error (stderr, exit 3); -h after "--" belongs to run's command.
func TestHelpGoesToStdout(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"lock", "--help"}, {"--url", "http://x", "preflight", "-h"}, {"help"}, {"help", "run"}} {
		r := scaplock(ctx, nil, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "usage: scaplock") || r.stderr != "" {
			t.Errorf("%q: %s", args, r)
		}
	}
	if r := scaplock(ctx, nil); r.code != exitMisuse || !strings.Contains(r.stderr, "usage: scaplock") || r.stdout != "" {
		t.Errorf("no command: %s", r)
	}
	if r := scaplock(ctx, nil, "lock", "--bogus"); r.code != exitMisuse || r.stdout != "" || !strings.Contains(r.stderr, "bogus") {
		t.Errorf("bad flag: %s", r)
	}
	if !helpRequested([]string{"run", "--scope", "x", "--help"}) || helpRequested([]string{"run", "--scope", "x", "--", "make", "--help"}) {
		t.Error(`helpRequested does not stop at "--"`)
	}
}

func TestVersion(t *testing.T) {
	r := scaplock(context.Background(), nil, "--version")
	if r.code != exitOK || !regexp.MustCompile(`^scaplock \S+ \(revision \S+, go1\.\S+\)\n$`).MatchString(r.stdout) {
		t.Fatalf("--version: %s", r)
	}
}

// The bash completion, run by a real bash, completes commands and each
// command's own flags.
func TestCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not found")
	}
	r := scaplock(context.Background(), nil, "completion", "bash")
	if r.code != exitOK {
		t.Fatalf("completion bash: %s", r)
	}
	script := filepath.Join(t.TempDir(), "scaplock.bash")
	os.WriteFile(script, []byte(r.stdout), 0o600)
	complete := func(words ...string) string {
		t.Helper()
		// COMP_WORDS as bash sets them, the last word being completed.
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + script + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + `; _scaplock; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"scaplock", "pre"}, "preflight"},
		{[]string{"scaplock", "--url", "http://x", "unl"}, "unlock"},
		{[]string{"scaplock", "preflight", "--fail"}, "--fail-open"},
		{[]string{"scaplock", "lock", "--rea"}, "--reason"},
		{[]string{"scaplock", "lock", "--re"}, "--reason --retry-for"},
		{[]string{"scaplock", "token", "--private"}, "--private-key-file"},
		{[]string{"scaplock", "--vers"}, "--version"},
	} {
		if got := complete(c.words...); got != c.want {
			t.Errorf("completing %q: %q, want %q", c.words, got, c.want)
		}
	}
	z := scaplock(context.Background(), nil, "completion", "zsh")
	if z.code != exitOK || !strings.HasPrefix(z.stdout, "#compdef scaplock\n") || !strings.Contains(z.stdout, "bashcompinit") {
		t.Errorf("completion zsh: %s", z)
	}
	if r := scaplock(context.Background(), nil, "completion", "fish"); r.code != exitMisuse {
		t.Errorf("completion fish: %s", r)
	}
}

// The configuration file gives the URL and the token file; SCAPLOCK_*
// variables and flags win over it; a key it does not know is an error
// naming the file and line.
func TestConfigFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(mint(t, "cfg-alice", "sre")+"\n"), 0o600)
	home := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(home, ".config", "scaplock"), 0o700)
	cfg := filepath.Join(home, ".config", "scaplock", "config.yaml")
	os.WriteFile(cfg, []byte("# scaplock CLI\nurl: "+srv.URL()+"   # the service\ntoken_file: \""+tokenFile+"\"\n"), 0o600)
	env := map[string]string{"HOME": home, "SCAPLOCK_URL": ""}

	r := scaplock(ctx, env, "lock", "--scope", "cf-eqiad", "--reason", "from the config file")
	if r.code != exitOK {
		t.Fatalf("lock with the config file's url and token: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	if r := scaplock(ctx, env, "unlock", id, "--reason", "done"); r.code != exitOK {
		t.Fatalf("unlock: %s", r)
	}
	// The environment wins over the file: a dead URL there is used.
	env["SCAPLOCK_URL"] = "http://127.0.0.1:1"
	if r := scaplock(ctx, env, "status"); r.code != exitUnsure {
		t.Errorf("SCAPLOCK_URL did not win over the config file: %s", r)
	}
	delete(env, "SCAPLOCK_URL")
	env["SCAPLOCK_URL"] = ""
	if r := scaplock(ctx, env, "--url", "http://127.0.0.1:1", "status"); r.code != exitUnsure {
		t.Errorf("--url did not win over the config file: %s", r)
	}
	// XDG_CONFIG_HOME and SCAPLOCK_CONFIG move it.
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(other, []byte("url: "+srv.URL()+"\ntoken: oops\n"), 0o600)
	env["SCAPLOCK_CONFIG"] = other
	if r := scaplock(ctx, env, "status"); r.code != exitMisuse || !strings.Contains(r.stderr, other+`:2: unknown key "token"`) {
		t.Errorf("unknown key: %s", r)
	}
	env["SCAPLOCK_CONFIG"] = filepath.Join(dir, "missing.yaml")
	if r := scaplock(ctx, env, "status"); r.code != exitMisuse || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("a missing SCAPLOCK_CONFIG is not an error: %s", r)
	}
}

// A token signed with an Ed25519 private key is accepted by a scaplockd
// that holds only the public key.
func TestTokenFromPrivateKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyFile := filepath.Join(dir, "jwt-private.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubFile := filepath.Join(dir, "jwt-public.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)

	s, err := servertest.Start(ctx, map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_JWT_PUBLIC_KEY_FILE": pubFile, "SCAPLOCK_JWT_ISSUER": "scaplock-issuer",
		"SCAPLOCK_SCOPES": "pk-eqiad",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	r := scaplock(ctx, nil, "token", "--private-key-file", keyFile, "--issuer", "scaplock-issuer", "--sub", "pk-alice", "--roles", "sre", "--ttl", "10m")
	if r.code != exitOK {
		t.Fatalf("token: %s", r)
	}
	tok := strings.TrimSpace(r.stdout)
	env := map[string]string{"SCAPLOCK_URL": s.URL(), "SCAPLOCK_TOKEN": tok}
	if r := scaplock(ctx, env, "lock", "--scope", "pk-eqiad", "--reason", "signed with EdDSA"); r.code != exitOK {
		t.Fatalf("lock with the EdDSA token: %s", r)
	}
	// Without the issuer the service checks, the same key is refused.
	r = scaplock(ctx, nil, "token", "--private-key-file", keyFile, "--sub", "pk-alice", "--roles", "sre")
	env["SCAPLOCK_TOKEN"] = strings.TrimSpace(r.stdout)
	if r := scaplock(ctx, env, "lock", "--scope", "pk-eqiad", "--reason", "no issuer"); r.code != exitMisuse {
		t.Errorf("a token without the issuer: %s", r)
	}
	if r := scaplock(ctx, nil, "token", "--private-key-file", pubFile, "--sub", "x", "--roles", "sre"); r.code == exitOK {
		t.Errorf("signed with a public key file: %s", r)
	}
	if r := scaplock(ctx, nil, "token", "--sub", "x", "--roles", "sre"); r.code != exitMisuse {
		t.Errorf("neither key nor secret: %s", r)
	}
}
