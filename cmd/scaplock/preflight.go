package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// pollEvery is how often preflight --wait asks again when no event arrives,
// in case the event stream is down.
var pollEvery = 5 * time.Second

// verdict is one preflight answer the CLI could read: allowed or refused.
type verdict struct {
	allowed bool
	message string
	reasons []apiv1.Reason
	body    []byte
	advice  *apiv1.Advice // allowed, with a cluster at warn
	// notice says a window starts or ends soon (allowed answers).
	notice string
	// unconfirmed: refused by the replica's last confirmed state, etcd
	// not answering (apiv1.PreflightResponse.LastConfirmed).
	unconfirmed bool
}

// cmdPreflight answers "may I deploy now?" with its exit code.
func cmdPreflight(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("preflight", "preflight [--scope S]... [--wait D] [--fail-open] [--json | --scap-defines]",
		`Exit codes:
  0  allowed: deploys to the scopes may go ahead
  1  refused: a hold covers a scope; the service's message, saying who or
     what blocks and since when, is printed on stderr
  2  could not decide: service or its store unreachable, 503 or another
     5xx, no answer within --timeout, an answer that is not a verdict
  3  misuse: bad flags, unknown scope (400), no, bad or unreadable token
     (401), role missing (403), wrong URL (404); the caller must fix the call

--fail-open turns exit 2, and only 2, into 0 with a warning: for callers who
would rather deploy unguarded than not deploy when scaplock is down. A
refusal (1) or a mistake (3) is never opened: a typo'd scope or an expired
token must not become "deploy allowed". When etcd is not answering but what
the service last confirmed refuses, the answer is that refusal (1), saying
how old it is; only an outage without such knowledge is 2.
--wait D, when refused, waits for the scopes to become free (it follows the
service's event stream, and asks again at least every 5s) and exits 0 as soon
as they are, or 1 with the latest message once D has passed.
No --scope means every scope the service knows (a fleet-wide deploy).
When deploys are allowed but a cluster is at warn, the service advises a
lower k8s_max_concurrent_deployments_per_cluster (stderr says why);
--scap-defines prints it on stdout as scap takes it, e.g.
-D k8s_max_concurrent_deployments_per_cluster:10, and nothing when there is
no advice: scap sync-world $(scaplock preflight --scap-defines) ...`)
	var scopes stringList
	fs.Var(&scopes, "scope", "scope to deploy to (repeatable)")
	wait := durationOpt(fs, "wait", 0, "when refused, wait up to this long for deploys to be allowed")
	failOpen := fs.Bool("fail-open", false, "exit 0 with a warning instead of 2 when the answer cannot be had")
	asJSON := fs.Bool("json", false, "print the service's JSON answer as it came (compact, one line; exit codes unchanged)")
	defines := fs.Bool("scap-defines", false, "print the advised scap -D options on stdout (nothing without advice)")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	switch {
	case *asJSON && *defines:
		return usageError(fs, "--json and --scap-defines both print on stdout; choose one")
	case *wait < 0:
		return usageError(fs, "--wait must not be negative, got %s", formatDuration(*wait))
	}
	q := url.Values{"scope": scopes}

	v, err := c.preflight(ctx, q)
	if err != nil && exitCode(err) != exitUnsure {
		fmt.Fprintf(c.stderr, "scaplock: %v\n", err)
		if *failOpen {
			fmt.Fprintln(c.stderr, "scaplock: not opened by --fail-open: this is a mistake in the call, not an outage")
		}
		return exitCode(err)
	}
	if err != nil {
		if *failOpen {
			fmt.Fprintf(c.stderr, "scaplock: WARNING: could not decide: %s\nscaplock: WARNING: --fail-open: allowing the deploy unguarded\n", safeLines(err.Error()))
			return exitOK
		}
		fmt.Fprintf(c.stderr, "scaplock: could not decide: %s\n", safeLines(err.Error()))
		return exitUnsure
	}
	if !v.allowed && *wait > 0 {
		v = c.waitAllowed(ctx, q, *wait, v)
	}
	if *asJSON {
		printAnswer(c.stdout, v.body)
	}
	if v.allowed {
		if v.notice != "" {
			fmt.Fprintf(c.stderr, "scaplock: allowed; %s\n", safe(v.notice))
		}
		if v.advice != nil {
			fmt.Fprintf(c.stderr, "scaplock: deploys allowed; %s: advise %s\n", v.advice.Reason, v.advice.Define)
			if *defines {
				fmt.Fprintln(c.stdout, v.advice.Define)
			}
		}
		return exitOK
	}
	printRefusal(c.stderr, v.message, v.reasons)
	if *failOpen && v.unconfirmed {
		fmt.Fprintln(c.stderr, "scaplock: not opened by --fail-open: etcd is not answering, but what the service last confirmed refuses")
	}
	return exitRefused
}

// preflight asks once. Anything but a readable 200 or 423 is an error.
func (c *cli) preflight(ctx context.Context, q url.Values) (verdict, error) {
	a, err := c.send(ctx, request{method: http.MethodGet, path: "/api/v1/preflight", query: q})
	if err != nil {
		return verdict{}, err
	}
	if a.status != http.StatusOK && a.status != http.StatusLocked {
		return verdict{}, a.asError()
	}
	var resp apiv1.PreflightResponse
	if err := json.Unmarshal(a.body, &resp); err != nil {
		return verdict{}, &apiError{status: a.status, raw: "undecodable preflight answer: " + err.Error()}
	}
	if resp.Allowed != (a.status == http.StatusOK) {
		return verdict{}, &apiError{status: a.status, raw: fmt.Sprintf("preflight answer says allowed=%t", resp.Allowed)}
	}
	if !resp.Allowed && resp.Message == "" {
		resp.Message = "scaplock: deploys are refused (the service gave no message)"
	}
	return verdict{allowed: resp.Allowed, message: resp.Message, reasons: resp.Reasons, body: a.body, advice: resp.Advice, notice: resp.WindowNotice, unconfirmed: resp.LastConfirmed != nil}, nil
}

// waitAllowed asks again on every event of the stream and every pollEvery
// until deploys are allowed or wait has passed; it returns the latest
// verdict. Cancelling ctx stops waiting.
func (c *cli) waitAllowed(ctx context.Context, q url.Values, wait time.Duration, last verdict) verdict {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	fmt.Fprintf(c.stderr, "scaplock: refused: %s; waiting up to %s\n", safe(apiv1.Summary(last.reasons)), wait)

	changed := make(chan struct{}, 1)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		c.watchEvents(ctx, changed)
	}()
	defer func() { cancel(); <-watching }()

	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return last
		case <-changed:
		case <-tick.C:
		}
		v, err := c.preflight(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return last
			}
			if msg := err.Error(); msg != lastErr {
				fmt.Fprintf(c.stderr, "scaplock: still waiting; could not ask: %s\n", safeLines(err.Error()))
				lastErr = msg
			}
			continue
		}
		lastErr, last = "", v
		if v.allowed {
			return v
		}
	}
}
