package server_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api/token"
	"github.com/scaplock/scaplock/server"
)

// Every problem is reported, one line each naming the variable, in a fixed
// order: values envconfig cannot decode, unknown names, then the checks.
func TestConfigReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"four bad variables, four lines", map[string]string{
			"SCAPLOCK_LISTEN": ":99999", "SCAPLOCK_MAX_HOLD_DURATION": "7x", "SCAPLOCK_LOG_LEVEL": "loud", "SCAPLOCK_LSTEN": ":8080",
		}, []string{
			`SCAPLOCK_MAX_HOLD_DURATION: time: unknown unit "x" in duration "7x"`,
			`SCAPLOCK_LSTEN: not a scaplockd setting; did you mean SCAPLOCK_LISTEN?`,
			`SCAPLOCK_LISTEN: ":99999": port 99999 is out of range 0-65535`,
			`SCAPLOCK_LOG_LEVEL: "loud" is not debug, info, warn or error`,
		}},
		{"two undecodable values", map[string]string{"SCAPLOCK_HISTORY_MAX_EVENTS": "lots", "SCAPLOCK_ANONYMOUS_READ": "maybe"}, []string{
			`SCAPLOCK_ANONYMOUS_READ: strconv.ParseBool: parsing "maybe": invalid syntax`,
			`SCAPLOCK_HISTORY_MAX_EVENTS: strconv.ParseInt: parsing "lots": invalid syntax`,
		}},
		{"misspelt names", map[string]string{"SCAPLOCK_SCOPE": "eqiad", "SCAPLOCK_URLL": "http://x", "SCAPLOCK_WHATEVER_ELSE": "1"}, []string{
			`SCAPLOCK_SCOPE: not a scaplockd setting; did you mean SCAPLOCK_SCOPES?`,
			`SCAPLOCK_URLL: not a scaplockd setting; did you mean SCAPLOCK_URL (read by the scaplock CLI, not by scaplockd)?`,
			`SCAPLOCK_WHATEVER_ELSE: not a scaplockd setting (README.md lists them)`,
		}},
		{"listen addresses", map[string]string{"SCAPLOCK_LISTEN": "8080"}, []string{
			`SCAPLOCK_LISTEN: "8080" is not host:port (e.g. :8080 or 127.0.0.1:8080)`,
		}},
		{"listen port name", map[string]string{"SCAPLOCK_LISTEN": "127.0.0.1:htp"}, []string{
			`SCAPLOCK_LISTEN: "127.0.0.1:htp": port "htp" is neither a number nor a service name`,
		}},
		{"listen host", map[string]string{"SCAPLOCK_LISTEN": "local_host:8080"}, []string{
			`SCAPLOCK_LISTEN: "local_host:8080": "local_host" is neither an IP address nor a host name`,
		}},
		{"URLs and their ports", map[string]string{"SCAPLOCK_PUBLIC_URL": "https://scaplock.example:70000/", "SCAPLOCK_ETCD_ENDPOINTS": "etcd1:2379,http://etcd2:99999", "SCAPLOCK_JWT_PUBLIC_KEY_FILE": ""}, []string{
			`SCAPLOCK_ETCD_ENDPOINTS: "etcd1:2379" is not an absolute http|https://host[:port] URL`,
			`SCAPLOCK_ETCD_ENDPOINTS: "http://etcd2:99999": port 99999 is out of range 0-65535`,
			`SCAPLOCK_JWT_SECRET_FILE: with an external etcd a JWT key must be configured (or SCAPLOCK_JWT_PUBLIC_KEY_FILE)`,
			`SCAPLOCK_PUBLIC_URL: "https://scaplock.example:70000/": port 70000 is out of range 0-65535`,
		}},
		{"peer URLs", map[string]string{
			"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=http://127.0.0.1:99999", "SCAPLOCK_REPLICA_NAME": "a", "SCAPLOCK_JWT_SECRET_FILE": secretFile(t),
			"SCAPLOCK_ETCD_CLIENT_URL": "http://127.0.0.1:65536",
		}, []string{
			`SCAPLOCK_ETCD_CLIENT_URL: "http://127.0.0.1:65536" is not an http://<loopback address>:port URL (the embedded etcd's clients are on this host)`,
			`SCAPLOCK_ETCD_INITIAL_CLUSTER: member a: port 99999 is out of range 0-65535`,
		}},
		{"every bad scope", map[string]string{"SCAPLOCK_SCOPES": "Eqiad,codfw!"}, []string{
			`SCAPLOCK_SCOPES: "Eqiad": `,
			`SCAPLOCK_SCOPES: "codfw!": `,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["SCAPLOCK_DATA_DIR"] = t.TempDir()
			_, err := server.LoadConfig(context.Background(), c.env)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: %q\nwant %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// The names the CLI and the bridge read pass silently: env files and
// shells are shared between them and scaplockd.
func TestSuiteVariablesPass(t *testing.T) {
	env := map[string]string{"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_URL": "http://127.0.0.1:8080", "SCAPLOCK_TOKEN_FILE": "/nonexistent",
		"SCAPLOCK_BRIDGE_LISTEN": "127.0.0.1:9731", "SCAPLOCK_LISTEN": "127.0.0.1:http"}
	if _, err := server.LoadConfig(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

// Every SCAPLOCK_* name the CLI, the packaging or the Makefile mentions is
// one scaplockd reads or one it knows another part of the suite reads; a
// new CLI variable missing here would be refused by scaplockd.
func TestSuiteVariablesAreRead(t *testing.T) {
	known := append(server.Variables(), server.SuiteVariables()...)
	name := regexp.MustCompile(`SCAPLOCK_[A-Z0-9_]*[A-Z0-9]`)
	seen := map[string]bool{}
	var files []string
	for _, glob := range []string{"../cmd/scaplock/*.go", "../cmd/scaplock-bench/*.go", "../contrib/*/*", "../contrib/*/*/*", "../Makefile", "../Dockerfile", "../*/*_test.go", "../*/*/*_test.go", "../web/*.go"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "envnames_test.go") || strings.HasSuffix(f, "scaplockd/main_test.go") {
			continue // the misspellings under test
		}
		body, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		for _, n := range name.FindAllString(string(body), -1) {
			seen[n] = true
			if !slices.Contains(known, n) && !strings.HasSuffix(f, "_test.go") && n != "SCAPLOCK_BRIDGE" {
				t.Errorf("%s names %s, which scaplockd would refuse as unknown: add it to suiteVariables (server/envnames.go)", f, n)
			}
		}
	}
	for _, n := range server.SuiteVariables() {
		if !seen[n] {
			t.Errorf("suiteVariables lists %s, which nothing in the suite mentions any more", n)
		}
	}
}

func secretFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(strings.Repeat("s3cr3t-", 6)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The defaults come from the configuration alone: the token lifetime's is
// the one `scaplock token` mints with, and a set value wins over it.
func TestDefaults(t *testing.T) {
	d := server.Defaults()
	l := d.APILimits()
	if l.MaxHoldDuration != 168*time.Hour || l.MaxOverrideDuration != 4*time.Hour || l.RequestTimeout != 10*time.Second ||
		l.StreamStallTimeout != 30*time.Second || l.MaxStreams != 1000 || d.JWTMaxTTL != token.DefaultMaxTTL {
		t.Fatalf("defaults: %+v, JWT max TTL %s", l, d.JWTMaxTTL)
	}
	cfg, err := server.LoadConfig(context.Background(), map[string]string{"SCAPLOCK_JWT_MAX_TTL": "1h", "SCAPLOCK_MAX_STREAMS": "5"})
	if err != nil || cfg.JWTMaxTTL != time.Hour || cfg.APILimits().MaxStreams != 5 {
		t.Fatalf("set values: %v, %s, %d", err, cfg.JWTMaxTTL, cfg.APILimits().MaxStreams)
	}
}
