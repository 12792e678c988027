package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scaplock/scaplock/server/servertest"
)

// buildBinary builds the scaplock command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	return servertest.Build(t, servertest.Scaplock)
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	env := append(os.Environ(), "SCAPLOCK_URL="+srv.URL(), "SCAPLOCK_TOKEN="+mint(t, "bin-dep", "deployer"))

	t.Run("run passes exit 3 and releases", func(t *testing.T) {
		cmd := exec.Command(bin, "run", "--scope", "bin-eqiad", "--", "sh", "-c", "echo from-cmd; exit 3")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("want exit 3, got %v; stderr %q", err, stderr.String())
		}
		if stdout.String() != "from-cmd\n" {
			t.Errorf("stdout %q", stdout.String())
		}
		if hs := holdsOn(t, "bin-eqiad"); len(hs) != 0 {
			t.Errorf("deploy hold not released: %+v", hs)
		}
	})

	t.Run("SIGTERM is forwarded, the hold released, exit 143", func(t *testing.T) {
		started := filepath.Join(t.TempDir(), "started")
		cmd := exec.Command(bin, "run", "--scope", "bin-codfw", "--", "sh", "-c",
			`trap 'echo got TERM; kill $! 2>/dev/null; exit 0' TERM; touch `+started+`; sleep 20 & wait`)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat(started); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("command did not start; stderr %q", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if hs := holdsOn(t, "bin-codfw"); len(hs) != 1 {
			t.Fatalf("want the deploy hold while it runs, got %+v", hs)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("scaplock run did not exit after SIGTERM")
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 143 {
			t.Fatalf("want exit 143, got %v; stderr %q", err, stderr.String())
		}
		if stdout.String() != "got TERM\n" || !strings.Contains(stderr.String(), "terminated: passing it to sh") {
			t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
		}
		if hs := holdsOn(t, "bin-codfw"); len(hs) != 0 {
			t.Errorf("deploy hold not released: %+v", hs)
		}
	})

	t.Run("preflight against a closed port exits 2 quickly", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "preflight", "--url", closedURL(t))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || time.Since(start) > 10*time.Second {
			t.Fatalf("want exit 2 well before the 10s context, got %v after %s: %s", err, time.Since(start), out)
		}
	})
}
