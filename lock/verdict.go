package lock

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Verdict answers "may I deploy to these scopes now?".
type Verdict struct {
	Allowed bool    `json:"allowed"`
	Scopes  []Scope `json:"scopes"`
	// Blocking are the holds that refuse the deploy, most serious first.
	Blocking []Hold `json:"holds"`
	// Overridden are auto holds that do not count because of an override.
	Overridden []Hold `json:"overridden,omitempty"`
	// Overrides are the active overrides covering the scopes.
	Overrides []Hold `json:"overrides,omitempty"`
	// Windows are the deployment windows that refuse the deploy
	// (ApplyWindows); OverriddenWindows would, but for an override.
	Windows           []WindowRefusal `json:"windows,omitempty"`
	OverriddenWindows []WindowRefusal `json:"overridden_windows,omitempty"`
	// Revision is the etcd revision the verdict reflects.
	Revision int64 `json:"revision"`
	// LastConfirmed is set when etcd could not confirm the verdict: it is
	// the replica's cache, which etcd last confirmed then (see
	// Store.KnownRefusal). Zero for a confirmed verdict.
	LastConfirmed time.Time `json:"-"`
}

// Decide is the gate semantics as a pure function: a deploy to scopes is
// allowed iff no active hold covers any of them. Overrides make auto holds
// in their scope not count; manual and deploy holds always count.
func Decide(holds []Hold, scopes []Scope, now time.Time) Verdict {
	v := Verdict{Scopes: scopes}
	covers := func(h Hold) bool {
		for _, s := range scopes {
			if h.Scope.Covers(s) {
				return true
			}
		}
		return false
	}
	var overrides []Hold
	for _, h := range holds {
		if h.Kind == KindOverride && h.Active(now) && covers(h) {
			overrides = append(overrides, h)
		}
	}
	overridden := func(h Hold) bool {
		for _, s := range scopes {
			if !h.Scope.Covers(s) {
				continue
			}
			lifted := false
			for _, o := range overrides {
				if o.Scope.Covers(s) && o.Scope.Covers(h.Scope) {
					lifted = true
				}
			}
			if !lifted {
				return false
			}
		}
		return true
	}
	for _, h := range holds {
		if h.Kind == KindOverride || !h.Active(now) || !covers(h) {
			continue
		}
		if h.Kind == KindAuto && overridden(h) {
			v.Overridden = append(v.Overridden, h)
			continue
		}
		v.Blocking = append(v.Blocking, h)
	}
	sortHolds(v.Blocking)
	v.Overrides = overrides
	v.Allowed = len(v.Blocking) == 0
	return v
}

var kindRank = map[Kind]int{KindAuto: 0, KindManual: 1, KindDeploy: 2, KindOverride: 3}

// sortHolds orders holds most serious first, then oldest first. Among auto
// holds the cooldown comes first: a deploy's own burst is the cause a
// deployer can act on (wait for it), whatever else it tripped.
func sortHolds(hs []Hold) {
	sort.SliceStable(hs, func(i, j int) bool {
		if kindRank[hs[i].Kind] != kindRank[hs[j].Kind] {
			return kindRank[hs[i].Kind] < kindRank[hs[j].Kind]
		}
		if ri, rj := hs[i].Recovering != nil, hs[j].Recovering != nil; ri != rj {
			return ri
		}
		return hs[i].CreatedAt.Before(hs[j].CreatedAt)
	})
}

// Summary is the short why of a refusal, e.g. "control plane degraded".
func (v Verdict) Summary() string {
	switch {
	case v.Allowed:
		return "allowed"
	case len(v.Blocking) > 0:
		return holdSummary(v.Blocking[0])
	case len(v.Windows) > 0:
		return windowSummary(v.Windows[0])
	}
	return "allowed"
}

func holdSummary(h Hold) string {
	switch h.Kind {
	case KindAuto:
		if h.Recovering != nil && len(h.Details) > 0 {
			// "eqiad is recovering from alice's deploy 7f3a: CPU 97% (warn 80%) for 12s on ..."
			return h.Reason + ": " + h.Details[0]
		}
		return h.Reason
	case KindDeploy:
		return fmt.Sprintf("deploy in progress by %s", h.Owner)
	default:
		return fmt.Sprintf("locked by %s", h.Owner)
	}
}

const clock = "15:04:05 UTC"

// RefusalMessage is the text a refused deployer reads: what blocks, why,
// since when, and what to do. statusURL may be empty. It is the one place
// the message is formatted.
func RefusalMessage(v Verdict, statusURL string, now time.Time) string {
	if v.Allowed {
		return ""
	}
	var b strings.Builder
	headline := v.Summary()
	if len(v.Blocking) == 0 {
		headline = windowHeadline(v.Windows[0], now)
	}
	fmt.Fprintf(&b, "scaplock: deploys to %s are refused: %s", joinScopes(v.Scopes), headline)
	if !v.LastConfirmed.IsZero() {
		fmt.Fprintf(&b, " (last confirmed %s ago; etcd is not answering)", ago(now, v.LastConfirmed))
	}
	b.WriteString("\n")
	for i, h := range v.Blocking {
		if i > 0 {
			fmt.Fprintf(&b, "  also: %s\n", holdSummary(h))
		}
		switch h.Kind {
		case KindAuto:
			details := h.Details
			if h.Recovering != nil && len(details) > 0 {
				details = details[1:] // the first is in the summary
			}
			for _, d := range details {
				fmt.Fprintf(&b, "  %s\n", d)
			}
			fmt.Fprintf(&b, "  held automatically since %s (hold %s)", h.CreatedAt.UTC().Format(clock), h.ShortID())
			if h.Hint != "" {
				fmt.Fprintf(&b, "; %s", h.Hint)
			}
			b.WriteString("\n")
		case KindDeploy:
			fmt.Fprintf(&b, "  %s: %q, since %s (%s ago, hold %s)\n", h.Scope, h.Reason,
				h.CreatedAt.UTC().Format(clock), ago(now, h.CreatedAt), h.ShortID())
		default:
			fmt.Fprintf(&b, "  %s: %q, since %s (%s ago, hold %s)", h.Scope, h.Reason,
				h.CreatedAt.UTC().Format(clock), ago(now, h.CreatedAt), h.ShortID())
			if h.ExpiresAt != nil {
				fmt.Fprintf(&b, ", expires %s", h.ExpiresAt.UTC().Format(clock))
			}
			b.WriteString("\n")
		}
	}
	for i, r := range v.Windows {
		if i > 0 || len(v.Blocking) > 0 {
			fmt.Fprintf(&b, "  also: %s\n", windowSummary(r))
		}
		fmt.Fprintf(&b, "  %s\n", windowDetail(r.Window))
	}
	var hints []string
	if statusURL != "" {
		hints = append(hints, "status: "+statusURL)
	}
	if len(v.Blocking) == 0 {
		hints = append(hints, fmt.Sprintf("override (SRE): scaplock override --scope %s --reason \"...\"", v.Windows[0].Scope))
	} else {
		h := v.Blocking[0]
		switch h.Kind {
		case KindAuto:
			hints = append(hints, fmt.Sprintf("override (SRE): scaplock override --scope %s --reason \"...\"", h.Scope))
		case KindManual:
			hints = append(hints, fmt.Sprintf("unlock (SRE): scaplock unlock %s --reason \"...\"", h.ID))
		case KindDeploy:
			hints = append(hints, "wait for it: scaplock preflight --wait 10m")
		}
	}
	fmt.Fprintf(&b, "  %s\n", strings.Join(hints, "    "))
	return b.String()
}

func joinScopes(scopes []Scope) string {
	if len(scopes) == 0 {
		return string(Global)
	}
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

func ago(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}
