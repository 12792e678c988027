package main

import (
	"fmt"
	"regexp"
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

// refusalOf reads a preflight answer: who refuses and the one line for scap.
func refusalOf(resp apiv1.PreflightResponse) refusal {
	if resp.Allowed {
		return refusal{}
	}
	ids := make([]string, 0, len(resp.Holds))
	for _, h := range resp.Holds {
		ids = append(ids, h.ID+"\x00"+string(h.Kind)+"\x00"+h.Reason)
	}
	for _, w := range resp.Windows {
		ids = append(ids, w.Window.ID+"\x00window\x00"+string(w.Scope))
	}
	slices.Sort(ids)
	id := strings.Join(ids, "\x01")
	if id == "" {
		id = "refused" // refused without holds named: still a refusal
	}
	return refusal{id: id, reason: oneLine(resp.Message)}
}

var (
	// age is the "3s ago, " of a refusal message: true when asked, stale
	// in a file read later.
	age    = regexp.MustCompile(`\(\S+ ago, `)
	spaces = regexp.MustCompile(`\s+`)
)

// oneLine folds the service's refusal message into the single line scap
// prints after 'reason is'.
func oneLine(msg string) string {
	var parts []string
	for line := range strings.SplitSeq(msg, "\n") {
		line = strings.TrimSpace(spaces.ReplaceAllString(line, " "))
		if line == "" {
			continue
		}
		parts = append(parts, age.ReplaceAllString(line, "("))
	}
	s := strings.TrimPrefix(strings.Join(parts, "; "), "scaplock: ")
	if s == "" {
		s = "deploys are refused by scaplock"
	}
	return s
}
