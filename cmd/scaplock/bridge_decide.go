package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// refusal is what keeps deploys out, as the bridge writes it for scap.
type refusal struct {
	// id says which refusal this is: the blocking holds' ids and reasons.
	// Empty means deploys are allowed. A person's unlock-all holds until
	// it changes.
	id string
	// reason is the one line written into scap's lock file.
	reason string
}

// observation is what the bridge last learnt from the service.
type observation struct {
	// heard: the service has answered once since the bridge started.
	// Until then the bridge holds scap's lock (unheardRefusal).
	heard   bool
	refusal refusal
	// unreachableSince is when asking started failing; zero while the
	// service answers.
	unreachableSince time.Time
	lastErr          string
}

// bridgePolicy is what the bridge does when the service cannot be asked.
type bridgePolicy struct {
	grace     time.Duration
	closed    bool // --on-unreachable=closed
	statusURL string
}

// target is what the bridge should do now.
type target struct {
	hold        bool
	refusal     refusal // the one to write when holding
	unreachable bool    // past the grace: the policy decides
	released    bool    // a person released this refusal; stay out
	unheard     bool    // the service has not answered yet: closed
}

// unreachableID is the refusal id of --on-unreachable=closed.
const unreachableID = "unreachable"

// decide is the bridge's rule as a pure function: hold scap's lock while
// a refusal stands that no person has released, and until the service has
// answered once. Within the grace an unreachable service changes nothing;
// after it, --on-unreachable decides, except that a lock held for the last
// answer's refusal is never opened: what the bridge knows is closed stays
// closed.
func decide(o observation, releasedFor string, now time.Time, p bridgePolicy) target {
	var t target
	r := o.refusal
	switch {
	case !o.heard:
		t.unheard = true
		r = unheardRefusal(o, p)
	case !o.unreachableSince.IsZero() && now.Sub(o.unreachableSince) >= p.grace:
		t.unreachable = true
		switch {
		case p.closed:
			r = refusal{id: unreachableID, reason: fmt.Sprintf(
				"scaplock cannot be reached since %s (%s); deploys refused by the bridge's --on-unreachable=closed; status: %s",
				o.unreachableSince.UTC().Format(time.RFC3339), o.lastErr, p.statusURL)}
		case r.id != "": // the last answer refused: keep it
		default:
			r = refusal{}
		}
	}
	t.refusal = r
	switch {
	case r.id == "":
	case r.id == releasedFor:
		t.released = true
	default:
		t.hold = true
	}
	return t
}

// refusalOf reads a preflight answer's reasons, never its prose: who
// refuses, and the one line for scap's lock file, rendered from the
// fields at now without ages (the file is read later), with where the
// status is (the service's status_url, else statusURL) and the CLI's hint.
func refusalOf(resp apiv1.PreflightResponse, statusURL string, now time.Time) refusal {
	if resp.StatusURL != "" {
		statusURL = resp.StatusURL
	}
	if resp.Allowed {
		return refusal{}
	}
	var ids []string
	for _, r := range resp.Reasons {
		if r.Refuses {
			ids = append(ids, r.HoldID+"\x00"+string(r.Kind)+"\x00"+r.Reason)
		}
	}
	for _, w := range resp.Windows {
		ids = append(ids, w.Window.ID+"\x00window\x00"+string(w.Scope))
	}
	slices.Sort(ids)
	id := strings.Join(ids, "\x01")
	if id == "" {
		id = "refused" // refused without reasons named: still a refusal
	}
	parts := []string{apiv1.RenderRefusalLine(resp.Scopes, resp.Reasons, now)}
	if parts[0] == "" {
		parts[0] = "deploys are refused by scaplock"
	}
	parts = append(parts, "status: "+statusURL)
	if h := refusalHint(resp.Reasons); h != "" {
		parts = append(parts, h)
	}
	return refusal{id: id, reason: strings.Join(parts, "; ")}
}
