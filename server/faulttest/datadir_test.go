package faulttest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second scaplockd on a data dir in use exits at once naming the first
// one's pid; SIGTERM while starting always ends a scaplockd.
func TestOneInstancePerDataDir(t *testing.T) {
	bin := scaplockd(t)
	dir := t.TempDir()
	first := daemon(t, bin, dir)
	eventually(t, "the first scaplockd listens", 60*time.Second, func() bool {
		return strings.Contains(first.stderr.String(), "scaplockd listening")
	})

	began := time.Now()
	second := daemon(t, bin, dir)
	if !second.exited(15 * time.Second) {
		t.Fatalf("the second scaplockd on %s still runs after 15s:\n%s", dir, second.stderr)
	}
	t.Logf("the second scaplockd exited after %s", time.Since(began).Round(time.Millisecond))
	if second.err == nil {
		t.Fatal("the second scaplockd exited 0")
	}
	want := fmt.Sprintf("SCAPLOCK_DATA_DIR: %s is in use by another scaplockd (pid %d)", dir, first.cmd.Process.Pid)
	if !strings.Contains(second.stderr.String(), want) {
		t.Fatalf("second scaplockd said:\n%s\nwant %q", second.stderr, want)
	}
	if first.exited(0) {
		t.Fatalf("the first scaplockd died: %v\n%s", first.err, first.stderr)
	}

	// SIGTERM at once after start, and after a moment: it exits either way.
	for _, after := range []time.Duration{0, 300 * time.Millisecond} {
		p := daemon(t, bin, t.TempDir())
		time.Sleep(after)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if !p.exited(20 * time.Second) {
			t.Fatalf("scaplockd ignored SIGTERM %s into its start:\n%s", after, p.stderr)
		}
	}

	// The first one stops on SIGTERM, and the dir can then be used again.
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !first.exited(30 * time.Second) {
		t.Fatal("the first scaplockd did not stop on SIGTERM")
	}
	third := daemon(t, bin, dir)
	eventually(t, "a scaplockd on the freed dir listens", 60*time.Second, func() bool {
		return strings.Contains(third.stderr.String(), "scaplockd listening")
	})
}
