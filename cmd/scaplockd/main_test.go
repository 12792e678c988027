package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/server/servertest"
)

// binary builds scaplockd once, with the version injected the way the
// Makefile does.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := servertest.BuildOnce(servertest.Scaplockd, "-ldflags", "-X main.version=v1.2.3-test")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.RemoveBuilt()
	os.Exit(code)
}

// exitOf runs bin with only env (no inherited SCAPLOCK_*), and returns its
// exit code and output.
func exitOf(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("scaplockd %v did not exit within 60s; stderr: %s", args, e.String())
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := exitOf(t, nil, "--version")
	if code != 0 || !regexp.MustCompile(`^scaplockd v1\.2\.3-test \(revision \S+, go1\.\S+\)\n$`).MatchString(out) {
		t.Fatalf("--version: exit %d, %q", code, out)
	}
	if code, out, _ := exitOf(t, nil, "--help"); code != 0 || !strings.Contains(out, "check-config") {
		t.Fatalf("--help: exit %d, stdout %q", code, out)
	}
}

// check-config and start-up report the same problems the same way: plain
// text naming the variable or field, exit 2, and nothing started (the data
// dir is never created, so etcd never ran).
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://kubemaster1001.eqiad.wmnet:6443\n")
	badField := write("bad.yaml", "clusters:\n  - name: eqiad\n    apiservers:\n      - url: kubemaster1001:6443\n")
	badCA := write("badca.yaml", "clusters:\n  - name: eqiad\n    tls:\n      ca_file: "+filepath.Join(dir, "missing-ca.pem")+"\n    apiservers:\n      - url: https://kubemaster1001.eqiad.wmnet:6443\n")
	indent := write("indent.yaml", "clusters:\n  - name: eqiad\n   apiservers:\n      - url: https://kubemaster1001.eqiad.wmnet:6443\n")
	data := filepath.Join(dir, "data")
	base := []string{"SCAPLOCK_DATA_DIR=" + data, "SCAPLOCK_LISTEN=127.0.0.1:0"}

	if code, out, errOut := exitOf(t, append(base, "SCAPLOCK_CLUSTERS_FILE="+good), "check-config"); code != 0 || !strings.Contains(out, "configuration ok") || errOut != "" {
		t.Fatalf("good config: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// As a validate_cmd: a candidate env file, and a candidate clusters
	// file checked against the installed env file.
	envFile := write("scaplockd.env", "# installed\nSCAPLOCK_DATA_DIR="+data+"\nSCAPLOCK_LISTEN=\"127.0.0.1:0\"\n\nSCAPLOCK_CLUSTERS_FILE="+good+"\n")
	if code, out, errOut := exitOf(t, nil, "check-config", "--env-file", envFile); code != 0 || !strings.Contains(out, "1 clusters from "+good) {
		t.Fatalf("check-config --env-file: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := exitOf(t, []string{"SCAPLOCK_CLUSTERS_FILE=" + badField}, "check-config", "--env-file", envFile); code != 2 || !strings.Contains(errOut, badField) {
		t.Fatalf("a candidate clusters file under the installed env file: exit %d, %q", code, errOut)
	}
	badEnv := write("bad.env", "SCAPLOCK_LISTEN=8080\n")
	if code, _, errOut := exitOf(t, nil, "check-config", "--env-file", badEnv); code != 2 || !strings.Contains(errOut, "SCAPLOCK_LISTEN") {
		t.Fatalf("a bad env file: exit %d, %q", code, errOut)
	}

	cases := []struct {
		name string
		env  []string
		want []string
	}{
		{"bad variable", []string{"SCAPLOCK_LISTEN=8080"}, []string{"SCAPLOCK_LISTEN: \"8080\" is not host:port"}},
		{"two bad variables, both reported", []string{"SCAPLOCK_GATE_MODE=sometimes", "SCAPLOCK_LOG_LEVEL=loud"}, []string{"SCAPLOCK_GATE_MODE:", "SCAPLOCK_LOG_LEVEL:"}},
		{"clusters file field", []string{"SCAPLOCK_CLUSTERS_FILE=" + badField}, []string{"SCAPLOCK_CLUSTERS_FILE: " + badField + ": ", "clusters[0].apiservers[0].url: \"kubemaster1001:6443\""}},
		{"file the clusters file names", []string{"SCAPLOCK_CLUSTERS_FILE=" + badCA}, []string{"SCAPLOCK_CLUSTERS_FILE: " + badCA + ": cluster eqiad:", "missing-ca.pem"}},
		{"clusters file indentation names its line", []string{"SCAPLOCK_CLUSTERS_FILE=" + indent}, []string{"scaplockd: invalid configuration: SCAPLOCK_CLUSTERS_FILE: " + indent + ": invalid clusters file: line 3, column 4: did not find expected '-' indicator\n"}},
		{"jwt key", []string{"SCAPLOCK_JWT_PUBLIC_KEY_FILE=" + good}, []string{"SCAPLOCK_JWT_PUBLIC_KEY_FILE:"}},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"check-config"}, nil} {
			t.Run(c.name+" "+strings.Join(args, ""), func(t *testing.T) {
				code, out, errOut := exitOf(t, append(append([]string{}, base...), c.env...), args...)
				if code != 2 {
					t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
				}
				for _, w := range c.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr lacks %q:\n%s", w, errOut)
					}
				}
				for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
					if !strings.HasPrefix(line, "scaplockd: invalid configuration: SCAPLOCK_") {
						t.Errorf("not a plain-text line naming the variable: %q", line)
					}
				}
				if out != "" {
					t.Errorf("stdout %q", out)
				}
				if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the data dir exists after a config error: something started (%v)", err)
				}
			})
		}
	}
}

// issue 19: four mistakes gave one line, a misspelt name passed as
// "configuration ok", and SCAPLOCK_LISTEN=:99999 passed check-config, then
// failed the start with exit 1 (restarted by systemd every 5s) after
// creating the data dir. Now every problem is one line, exit 2 (the unit's
// RestartPreventExitStatus), and the data dir is never created.
func TestBadConfigTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"SCAPLOCK_DATA_DIR=" + data, "SCAPLOCK_LISTEN=:99999", "SCAPLOCK_LSTEN=:8080", "SCAPLOCK_SCOPE=eqiad", "SCAPLOCK_LOG_LEVEL=loud"}
	want := "scaplockd: invalid configuration: SCAPLOCK_LSTEN: not a scaplockd setting; did you mean SCAPLOCK_LISTEN?\n" +
		"scaplockd: invalid configuration: SCAPLOCK_SCOPE: not a scaplockd setting; did you mean SCAPLOCK_SCOPES?\n" +
		"scaplockd: invalid configuration: SCAPLOCK_LISTEN: \":99999\": port 99999 is out of range 0-65535\n" +
		"scaplockd: invalid configuration: SCAPLOCK_LOG_LEVEL: \"loud\" is not debug, info, warn or error\n"
	envFile := filepath.Join(dir, "scaplockd.env")
	if err := os.WriteFile(envFile, []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"start", env, nil},
		{"check-config", env, []string{"check-config"}},
		{"check-config --env-file", nil, []string{"check-config", "--env-file", envFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := exitOf(t, c.env, c.args...)
			if code != 2 || errOut != want || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and stderr:\n%s", code, out, errOut, want)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data dir exists after a config error (%v)", err)
			}
		})
	}
}

// The demo prints its banner once it is bound, and Ctrl-C (SIGINT) or
// SIGTERM removes its temporary data dir.
func TestDemoBannerAndCleanup(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(binary(t), "--demo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp, "SCAPLOCK_LISTEN=127.0.0.1:0", "SCAPLOCK_SHUTDOWN_TIMEOUT=5s"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	open := regexp.MustCompile(`open\s+(http://127\.0\.0\.1:\d+)/`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := open.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var url string
	select {
	case url = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("no banner within 60s")
	}
	// No wait, no retry: the port in the banner is already served.
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("banner printed before %s answered: %v %v", url, resp, err)
	}
	resp.Body.Close()
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "scaplock-demo-*")); len(dirs) != 1 {
		t.Fatalf("demo data dirs while running: %v", dirs)
	}
	// The image's HEALTHCHECK: the same binary asks its own /readyz.
	listen := "SCAPLOCK_LISTEN=" + strings.TrimPrefix(url, "http://")
	if code, out, errOut := exitOf(t, []string{listen}, "healthcheck"); code != 0 || !strings.Contains(out, `"ready"`) {
		t.Fatalf("healthcheck of a running scaplockd: exit %d, %q %q", code, out, errOut)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit after SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo still running 30s after SIGINT")
	}
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "scaplock-demo-*")); len(dirs) != 0 {
		t.Fatalf("demo left its data behind: %v", dirs)
	}
	if code, _, errOut := exitOf(t, []string{listen}, "healthcheck"); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("healthcheck of a stopped scaplockd: exit %d, %q", code, errOut)
	}
}
