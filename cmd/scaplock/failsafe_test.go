package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/servertest"
)

// lastConfirmed is the note of a refusal etcd could not confirm.
var lastConfirmed = regexp.MustCompile(`refused: locked by fs-sre \(last confirmed \d+s ago; etcd is not answering\)`)

// With etcd's quorum gone (two of three Debian etcd members killed), a
// scope whose hold the replica had confirmed a moment before stays
// refused (423, exit 1, --fail-open too), naming how old that knowledge
// is; only a scope the last confirmed state allows is "could not decide"
// (503, exit 2), which --fail-open may open.
func TestQuorumLossKeepsKnownRefusals(t *testing.T) {
	cluster := locktest.StartClusterT(t, 3)
	s, tok, sre := startOnCluster(t, cluster, "eqiad,codfw")
	ctx := context.Background()
	env := map[string]string{"SCAPLOCK_URL": s.URL(), "SCAPLOCK_TOKEN": tok}
	r := scaplock(ctx, map[string]string{"SCAPLOCK_URL": s.URL(), "SCAPLOCK_TOKEN": sre},
		"lock", "--scope", "eqiad", "--reason", "T19: known refusal")
	wantCode(t, r, exitOK)
	wantCode(t, scaplock(ctx, env, "preflight", "--scope", "eqiad"), exitRefused)
	wantCode(t, scaplock(ctx, env, "preflight", "--scope", "codfw"), exitOK)

	cluster.Kill(1)
	cluster.Kill(2)
	// The replica answers 503 for codfw once it can no longer confirm.
	eventually(t, "503 for an unheld scope after the quorum is gone", 30*time.Second, func() bool {
		code, _ := rawPreflight(t, s.URL(), tok, "codfw")
		return code == http.StatusServiceUnavailable
	})

	code, body := rawPreflight(t, s.URL(), tok, "eqiad")
	if code != http.StatusLocked || body.LastConfirmed == nil || !lastConfirmed.MatchString(body.Message) {
		t.Fatalf("eqiad without quorum: HTTP %d %+v, want 423 with the last confirmed state", code, body)
	}
	if body.Allowed || len(body.Holds) != 1 || body.Holds[0].Reason != "T19: known refusal" {
		t.Errorf("the refusal must name the hold: %+v", body)
	}

	cases := []struct {
		name   string
		args   []string
		want   int
		stderr []string
	}{
		{"a known refusal", []string{"preflight", "--scope", "eqiad"}, exitRefused,
			[]string{"etcd is not answering", `"T19: known refusal"`}},
		{"--fail-open keeps a known refusal", []string{"preflight", "--scope", "eqiad", "--fail-open"}, exitRefused,
			[]string{"etcd is not answering", "scaplock: not opened by --fail-open: etcd is not answering, but what the service last confirmed refuses"}},
		{"global is refused by the eqiad hold", []string{"preflight", "--scope", "global", "--fail-open"}, exitRefused,
			[]string{"scaplock: deploys to global are refused: locked by fs-sre (last confirmed"}},
		{"an unheld scope cannot be decided", []string{"preflight", "--scope", "codfw"}, exitUnsure,
			[]string{"scaplock: could not decide: store unavailable: etcd not confirmed for ", "; the cache may be missing holds (HTTP 503)"}},
		{"--fail-open opens only that", []string{"preflight", "--scope", "codfw", "--fail-open"}, exitOK,
			[]string{"scaplock: WARNING: could not decide: store unavailable: etcd not confirmed for ", "scaplock: WARNING: --fail-open: allowing the deploy unguarded"}},
		{"run is refused at once and runs nothing", []string{"run", "--scope", "eqiad", "--", "sh", "-c", "echo ran"}, exitRunRefused,
			[]string{"etcd is not answering"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scaplock(ctx, env, append([]string{"--timeout", "10s"}, tc.args...)...)
			wantCode(t, r, tc.want)
			t.Logf("scaplock %s: exit %d\n%s", strings.Join(tc.args, " "), r.code, r.stderr)
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q: %s", want, r)
				}
			}
			if (tc.want == exitRefused || tc.want == exitRunRefused) && !lastConfirmed.MatchString(r.stderr) {
				t.Errorf("stderr does not say how old the refusal is: %s", r)
			}
			if strings.Contains(r.stdout, "ran") {
				t.Errorf("the command ran: %s", r)
			}
		})
	}
}

// startOnCluster starts scaplockd on cluster's etcd, knowing scopes; it
// returns the server and a deployer's and an SRE's token.
func startOnCluster(t *testing.T, cluster *locktest.Cluster, scopes string) (*server.Server, string, string) {
	t.Helper()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("f", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	var s *server.Server
	eventually(t, "scaplockd starts on Debian's etcd", 30*time.Second, func() bool {
		var err error
		s, err = servertest.Start(context.Background(), map[string]string{
			"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS": strings.Join(cluster.Endpoints(), ","),
			"SCAPLOCK_JWT_SECRET_FILE": secretFile, "SCAPLOCK_SCOPES": scopes,
		})
		return err == nil
	})
	t.Cleanup(func() { s.Stop() })
	tok, err := servertest.Token(secretFile, "fs-dep", "deployer")
	if err != nil {
		t.Fatal(err)
	}
	sre, err := servertest.Token(secretFile, "fs-sre", "sre")
	if err != nil {
		t.Fatal(err)
	}
	return s, tok, sre
}

// rawPreflight asks GET /api/v1/preflight for one scope.
func rawPreflight(t *testing.T, url, tok, scope string) (int, apiv1.PreflightResponse) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/preflight?scope="+scope, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body apiv1.PreflightResponse
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// A bridge that has never heard the service starts closed: it holds
// scap's lock with a reason saying so, whatever the grace, until the
// service answers once.
func TestBridgeStartsClosedUntilHeard(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("b", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := servertest.Token(secretFile, "br-bridge", "deployer")
	if err != nil {
		t.Fatal(err)
	}
	url := closedURL(t)
	p := newScapPaths(t)
	// A zero grace: the old rule would have opened at once.
	b := startBridge(t, url, tok, p, "--unreachable-grace", "0s", "--on-unreachable", "open")
	v := b.waitState(t, stateUnheard, bridgeReacts)
	if !v.Holding {
		t.Fatalf("an unheard bridge must hold scap's lock: %+v", v)
	}
	code, out := scap(t, p, "sync", "--timeout", "1")
	want := `reason is "scaplock has not been heard yet since the bridge started (`
	if code != 1 || !strings.Contains(out, "global lock is locked by scaplock (pid ") || !strings.Contains(out, want) ||
		!strings.Contains(out, `connection refused); deploys refused by the bridge until it answers; status: `+url+`/"`) {
		t.Fatalf("a sync before the bridge heard scaplock: exit %d %s", code, out)
	}
	t.Logf("fake scap sync: exit %d\n%s", code, out)
	if log := b.log.String(); !strings.Contains(log, `level=ERROR msg="scaplock has not answered since the bridge started: holding scap's lock until it does"`) {
		t.Errorf("the log does not say why it holds:\n%s", log)
	}

	// The service comes up at that address: heard, allowed, released.
	startBridgeServer(t, "SCAPLOCK_LISTEN", strings.TrimPrefix(url, "http://"), "SCAPLOCK_JWT_SECRET_FILE", secretFile)
	v = b.waitState(t, stateIdle, 15*time.Second)
	if v.Holding {
		t.Errorf("heard and allowed, still holding: %+v", v)
	}
	if code, out := scap(t, p, "sync", "--timeout", "5"); code != 0 {
		t.Errorf("after the bridge heard scaplock a sync must go ahead: exit %d %s", code, out)
	}
}

// A person's scap lock --unlock-all (a real second process) is told to
// scaplock: a bridge_unlocked event names the host and the person, status
// shows the host unguarded until the bridge takes the lock again (then a
// bridge_guarded event), and a bridge restarted on the host clears it.
func TestBridgeTellsScaplockWhenAPersonBreaksItsLock(t *testing.T) {
	// Its own scaplockd and scap paths: it runs beside the others.
	t.Parallel()
	s := startBridgeServer(t)
	p := newScapPaths(t)
	host := unique("deploy")
	b := startBridge(t, s.URL(), s.reader, p, "--host", host)
	b.waitState(t, stateIdle, bridgeReacts)
	h := s.lock(t, "global", "T19: frozen")
	defer s.unlock(t, h.ID)
	b.waitState(t, stateHolding, bridgeReacts)

	if code, out := scap(t, p, "unlock-all", "--user", "bob", "--reason", "urgent security fix"); code != 0 {
		t.Fatalf("unlock-all: exit %d %s", code, out)
	}
	b.waitState(t, stateReleasedByPerson, bridgeReacts)
	var st apiv1.StatusResponse
	eventually(t, "status shows the host unguarded", bridgeReacts, func() bool {
		s.call(t, http.MethodGet, "/api/v1/status", nil, &st)
		return len(st.Unguarded) == 1
	})
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	got := st.Unguarded[0]
	if got.Host != host || got.Releaser != "bob" || got.Reason != "urgent security fix" || got.UID == nil ||
		strconv.Itoa(*got.UID) != me.Uid || got.User != me.Username || got.ReportedBy != "br-bridge" || len(got.Scopes) != 1 || got.Scopes[0] != "global" {
		t.Errorf("unguarded: %+v, want %s released by bob (uid %s, user %s)", got, host, me.Uid, me.Username)
	}
	env := map[string]string{"SCAPLOCK_URL": s.URL(), "SCAPLOCK_TOKEN": s.reader}
	r := scaplock(context.Background(), env, "status")
	wantCode(t, r, exitOK)
	wantLine := regexp.MustCompile(`(?m)^  ` + host + `\s+global\s+\d\d:\d\d:\d\d UTC \(\d+s ago\)\s+bob \(user ` + regexp.QuoteMeta(me.Username) + `, uid ` + me.Uid + `\)\s+"urgent security fix"$`)
	if !strings.Contains(r.stdout, "UNGUARDED deploy hosts (a person released the scap bridge's lock; scap there deploys whatever scaplock says):") || !wantLine.MatchString(r.stdout) {
		t.Errorf("status does not show the host unguarded:\n%s", r.stdout)
	}
	t.Logf("scaplock status:\n%s", r.stdout)
	r = scaplock(context.Background(), env, "history", "--action", "bridge_unlocked")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "host "+host) || !strings.Contains(r.stdout, `"by bob (user `+me.Username+`, uid `+me.Uid+`): urgent security fix"`) {
		t.Errorf("history does not name the host and the person:\n%s", r.stdout)
	}
	t.Logf("scaplock history --action bridge_unlocked:\n%s", r.stdout)

	// A new refusal: the bridge takes the lock again and says so.
	s.amend(t, h.ID, "T19: frozen, for a new reason")
	b.waitState(t, stateHolding, bridgeReacts)
	eventually(t, "status no longer shows the host", bridgeReacts, func() bool {
		s.call(t, http.MethodGet, "/api/v1/status", nil, &st)
		return len(st.Unguarded) == 0
	})
	var page apiv1.HistoryPage
	s.call(t, http.MethodGet, "/api/v1/history?action=bridge_guarded", nil, &page)
	if len(page.Events) != 1 || page.Events[0].Bridge == nil || page.Events[0].Bridge.Host != host ||
		!strings.HasPrefix(page.Events[0].Reason, "the bridge took scap's lock again: deploys to global are refused") {
		t.Errorf("bridge_guarded events: %+v", page.Events)
	}

	// Broken again, then the bridge restarts: the new one guards, and says so.
	if code, out := scap(t, p, "unlock-all", "--user", "carol", "--reason", "second fix"); code != 0 {
		t.Fatalf("unlock-all: exit %d %s", code, out)
	}
	eventually(t, "status shows the host unguarded again", bridgeReacts, func() bool {
		s.call(t, http.MethodGet, "/api/v1/status", nil, &st)
		return len(st.Unguarded) == 1 && st.Unguarded[0].Releaser == "carol"
	})
	b.stop(t)
	startBridge(t, s.URL(), s.reader, p, "--host", host)
	eventually(t, "a restarted bridge clears the host", bridgeReacts, func() bool {
		s.call(t, http.MethodGet, "/api/v1/status", nil, &st)
		return len(st.Unguarded) == 0
	})
	s.call(t, http.MethodGet, "/api/v1/history?action=bridge_guarded", nil, &page)
	if len(page.Events) != 2 || page.Events[0].Reason != "the bridge started and guards scap's lock" || page.Events[0].Bridge.Releaser != "carol" {
		t.Errorf("after a restart: %+v", page.Events)
	}
	s.call(t, http.MethodGet, "/api/v1/history?action=bridge_unlocked", nil, &page)
	if len(page.Events) != 2 {
		t.Errorf("%d bridge_unlocked events, want 2 (retries must not add any): %+v", len(page.Events), page.Events)
	}
}
