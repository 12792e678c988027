package faulttest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/servertest"
)

// verdictBound is how soon after a quorum loss preflight must say it
// cannot decide (the 3 s), before slack.
const verdictBound = 3 * time.Second

// lossWrite is a write sent while quorum is lost, and its answer.
type lossWrite struct {
	name         string
	base, method string
	path, key    string
	body         any
	got          reply
	code         string // the error code answered
}

// Quorum lost: preflight says it cannot decide within a bound, over HTTP
// and through the CLI (exit 2); writes answer within the request timeout;
// a write answered "unavailable" never happens, and one whose transaction
// was sent says outcome_unknown; a write retried with its key after the
// quorum returns is done once, and nothing acknowledged before is lost.
func TestQuorumLoss(t *testing.T) {
	f := newFixture(t, 2)
	cli := binary(t, servertest.Scaplock)
	home := t.TempDir() // no CLI configuration file but the test's flags
	a, b := f.replicas[0].URL(), f.replicas[1].URL()
	before := call(a, "POST", "/api/v1/holds", f.sre, newKey(), api.HoldBody{Scope: "kept", Reason: "before the quorum loss"})
	if before.status != http.StatusCreated {
		t.Fatalf("create before: %s", before)
	}
	var kept lock.Hold
	before.decode(t, &kept)

	f.cluster.Kill(1)
	f.cluster.Kill(2)
	lost := time.Now()
	byCLI := make(chan cliRun, 1)
	go func() { byCLI <- preflightUntilUndecided(cli, home, b, lost, verdictBound+answerSlack) }()
	for {
		p := call(b, "GET", "/api/v1/preflight?scope=eqiad", "", "", nil)
		if p.took > requestTimeout+answerSlack {
			t.Fatalf("preflight took %s with quorum lost", p.took)
		}
		if p.status == http.StatusServiceUnavailable {
			t.Logf("first preflight 503 %s after the quorum loss", time.Since(lost).Round(time.Millisecond))
			break
		}
		if p.status != http.StatusOK || time.Since(lost) > verdictBound+answerSlack {
			t.Fatalf("preflight %s after the quorum loss: %s", time.Since(lost), p)
		}
	}
	run := <-byCLI
	if run.err != nil || run.code != exitUnsure || run.after > verdictBound+answerSlack || !strings.Contains(run.stderr, "(HTTP 503)") {
		t.Fatalf("scaplock preflight %s after the quorum loss: exit %d (want %d, a 503), %v\n%s", run.after, run.code, exitUnsure, run.err, run.stderr)
	}
	t.Logf("scaplock preflight exited %d %s after the quorum loss: %s", run.code, run.after.Round(time.Millisecond), strings.TrimSpace(run.stderr))

	key := newKey()
	body := api.HoldBody{Scope: "during", Reason: "sent during the quorum loss"}
	never := "sent during the quorum loss, never retried"
	writes := []*lossWrite{
		{name: "create, retried later", base: a, method: "POST", path: "/api/v1/holds", key: key, body: body},
		{name: "create", base: a, method: "POST", path: "/api/v1/holds", key: newKey(), body: api.HoldBody{Scope: "lost", Reason: never}},
		{name: "release", base: b, method: "DELETE", path: "/api/v1/holds/" + kept.ID, key: newKey(), body: api.ReleaseBody{Reason: never}},
		{name: "deploy", base: b, method: "POST", path: "/api/v1/deploys", key: newKey(), body: api.DeployBody{Scope: "lostdep", Reason: never, TTL: "60s"}},
		{name: "create without a key", base: a, method: "POST", path: "/api/v1/holds", body: api.HoldBody{Scope: "unkeyed", Reason: never}},
	}
	sendAll(t, f.sre, writes)
	create, release, deploy, unkeyed := writes[1], writes[2], writes[3], writes[4]
	// A write without a key goes straight to its transaction: whether etcd
	// committed it is unknown, and the answer says how to check.
	if unkeyed.code != "outcome_unknown" || !strings.Contains(string(unkeyed.got.body), "GET /api/v1/history?hold=") {
		t.Errorf("write without a key, sent to etcd: %s", unkeyed.got)
	}
	answeredUnavailable := 0
	for _, w := range writes[1:4] {
		if w.code == "unavailable" {
			answeredUnavailable++
		}
	}
	if answeredUnavailable == 0 {
		t.Errorf("no keyed write answered \"unavailable\": nothing below proves that answer truthful")
	}

	for _, i := range []int{1, 2} {
		if err := f.cluster.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	hctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.cluster.WaitHealthy(hctx); err != nil {
		t.Fatal(err)
	}
	healthy := time.Now()
	// The same key on the other replica: the write happens once.
	var got reply
	eventually(t, "the retried write answers 201", 30*time.Second, func() bool {
		got = call(b, "POST", "/api/v1/holds", f.sre, key, body)
		return got.status == http.StatusCreated
	})
	again := call(a, "POST", "/api/v1/holds", f.sre, key, body)
	var h1, h2 lock.Hold
	got.decode(t, &h1)
	again.decode(t, &h2)
	if again.status != http.StatusCreated || h1.ID != h2.ID {
		t.Fatalf("second retry: %s (first %s)", again, h1.ID)
	}

	// A write answered "unavailable" never happens, however long after:
	// both replicas confirmed against the cluster, a few seconds on.
	status(t, b, 10*time.Second)
	time.Sleep(time.Until(healthy.Add(3 * time.Second)))
	st := status(t, a, 10*time.Second)
	on := map[lock.Scope][]string{}
	for _, h := range st.Holds {
		on[h.Scope] = append(on[h.Scope], h.ID)
	}
	if n := len(on["during"]); n != 1 {
		t.Errorf("after the quorum returned: %d holds on during, want 1", n)
	}
	if create.code == "unavailable" {
		if len(on["lost"]) != 0 || len(history(t, a, "scope=lost")) != 0 {
			t.Errorf("a create answered unavailable happened: holds %v, history %v", on["lost"], history(t, a, "scope=lost"))
		}
	}
	if deploy.code == "unavailable" {
		if len(on["lostdep"]) != 0 || len(history(t, a, "scope=lostdep")) != 0 {
			t.Errorf("a deploy answered unavailable happened: holds %v, history %v", on["lostdep"], history(t, a, "scope=lostdep"))
		}
	}
	if release.code == "unavailable" {
		if len(on["kept"]) != 1 || on["kept"][0] != kept.ID || len(history(t, a, "action=released&hold="+kept.ID)) != 0 {
			t.Errorf("a release answered unavailable happened: kept holds %v (want %s), history %v", on["kept"], kept.ID, history(t, a, "hold="+kept.ID))
		}
	}
	if n := len(on["unkeyed"]); n > 1 {
		t.Errorf("write without a key: %d holds", n)
	} else {
		t.Logf("the write without a key (outcome unknown) was committed after all: %v", n == 1)
	}
}

// sendAll sends every write at once and waits for the answers: each must
// be a 503 within the request timeout, saying unavailable or, with the
// write's key, outcome_unknown.
func sendAll(t *testing.T, token string, writes []*lossWrite) {
	t.Helper()
	var wg sync.WaitGroup
	for _, w := range writes {
		wg.Go(func() { w.got = call(w.base, w.method, w.path, token, w.key, w.body) })
	}
	wg.Wait()
	for _, w := range writes {
		var e api.ErrorBody
		if w.got.status != http.StatusServiceUnavailable || w.got.took > requestTimeout+answerSlack || jsonDecode(w.got.body, &e) != nil {
			t.Fatalf("%s during the quorum loss: %s", w.name, w.got)
		}
		w.code = e.Error.Code
		switch {
		// unconfirmed: committed just before the loss, and the other
		// replica could not ack it; rare, and retried like outcome_unknown.
		case w.code == "outcome_unknown" && e.Error.IdempotencyKey != w.key:
			t.Errorf("%s: %s without its key %q: %s", w.name, w.code, w.key, w.got)
		case w.code != "outcome_unknown" && w.code != "unavailable":
			t.Errorf("%s: code %q", w.name, w.code)
		}
		t.Logf("%s during the quorum loss: %s", w.name, w.got)
	}
}

// exitUnsure is scaplock's exit code for "could not decide".
const exitUnsure = 2

// cliRun is one `scaplock preflight`: how it exited, what it said, and
// when it ended, from the quorum loss.
type cliRun struct {
	code   int
	stderr string
	after  time.Duration
	err    error // it could not be run
}

// preflightUntilUndecided runs `scaplock preflight` against base until it
// exits other than 0 (allowed) or within has passed since since. Its
// --timeout is longer than the server's bound, so that the exit code
// comes from the server's answer.
func preflightUntilUndecided(bin, home, base string, since time.Time, within time.Duration) cliRun {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--url", base, "--timeout", "10s", "preflight", "--scope", "eqiad")
		cmd.Env = append(cleanEnv(), "HOME="+home, "XDG_CONFIG_HOME="+home)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		r := cliRun{stderr: stderr.String(), after: time.Since(since)}
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			r.code = exit.ExitCode()
		case err != nil:
			r.err = err
			return r
		}
		if r.code != 0 || r.after > within {
			return r
		}
	}
}
