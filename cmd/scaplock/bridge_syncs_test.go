package main

import (
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// TestBridgeRecordsSyncs: two real syncs (fake_scap.py taking a shared
// fcntl.lockf, as scap does) run at once; when they end the bridge records
// each as a synced event under its own token, with its pid, user and host,
// and counts them in its metrics.
func TestBridgeRecordsSyncs(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	b := startBridge(t, s.URL(), s.reader, p, "--scope", "codfw")
	b.waitState(t, stateIdle, bridgeReacts)

	started := time.Now()
	syncs := []*scapProc{
		startScap(t, p, "sync", "--timeout", "5", "--hold", "2"),
		startScap(t, p, "sync", "--timeout", "5", "--hold", "3"),
	}
	var pids []int
	for _, sp := range syncs {
		sp.waitOutput(t, "acquired the global lock", bridgeReacts)
		if code := sp.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("sync exit %d: %s", code, sp.out.String())
		}
		pids = append(pids, sp.cmd.Process.Pid)
	}
	wall := time.Since(started).Seconds()

	var page apiv1.HistoryPage
	eventually(t, "two synced events", bridgeReacts, func() bool {
		s.call(t, http.MethodGet, "/api/v1/history?action=synced", nil, &page)
		return len(page.Events) == 2
	})
	host, _ := os.Hostname()
	me, _ := user.Current()
	for _, e := range page.Events {
		if !slices.Contains(pids, e.Pid) || e.Host != host || e.Actor != "br-bridge" || e.Scope != apiv1.Global {
			t.Errorf("event %+v: want one of pids %v on %s by br-bridge in global", e, pids, host)
		}
		// Held for 2 or 3 s, seen at most syncLookEvery late at either end.
		if e.DurationS == nil || *e.DurationS < 2-syncLookEvery.Seconds() || *e.DurationS > wall {
			t.Errorf("duration_s %v, want within %v..%v", e.DurationS, 2-syncLookEvery.Seconds(), wall)
		}
		if me != nil && !strings.Contains(e.Reason, "by "+me.Username) || !strings.Contains(e.Reason, "fake_scap.py sync") {
			t.Errorf("reason %q should say whose sync and which command", e.Reason)
		}
	}
	m := b.metrics(t)
	if !strings.Contains(m, "scaplock_scap_syncs_total 2\n") || !strings.Contains(m, `scaplock_scap_sync_duration_seconds_bucket{le="30"} 2`) {
		t.Errorf("bridge metrics do not count two short syncs:\n%s", m)
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(m)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestParseLocks(t *testing.T) {
	const table = `1: POSIX  ADVISORY  READ 4242 fd:01:1234 0 EOF
1: -> POSIX  ADVISORY  WRITE 77 fd:01:1234 0 EOF
2: POSIX  ADVISORY  READ 4243 fd:01:1234 0 EOF
3: POSIX  ADVISORY  WRITE 99 fd:01:1234 0 EOF
4: POSIX  ADVISORY  READ 5000 fd:01:9999 0 EOF
5: FLOCK  ADVISORY  READ 6000 fd:01:1234 0 EOF
6: POSIX  ADVISORY  READ 4242 fd:01:1234 0 EOF
`
	tests := []struct {
		file string
		want []int
	}{
		{"fd:01:1234", []int{4242, 4243}}, // waiters, writers, flocks and repeats left out
		{"fd:01:9999", []int{5000}},
		{"08:01:1234", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseLocks(strings.NewReader(table), tt.file)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("parseLocks = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
