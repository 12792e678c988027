package lock

import apiv1 "github.com/scaplock/scaplock/api/v1"

// Reasons are the verdict's holds as reasons: the refusing ones, most
// serious first (as Blocking), then the auto holds an override lifts,
// which only advise; then the deployment windows, refusing and lifted. It is the one place holds become reasons;
// apiv1.RenderRefusal makes the text of them.
func (v Verdict) Reasons() []apiv1.Reason {
	out := make([]apiv1.Reason, 0, len(v.Blocking)+len(v.Overridden))
	for _, h := range v.Blocking {
		out = append(out, reasonOf(h, true))
	}
	for _, h := range v.Overridden {
		out = append(out, reasonOf(h, false))
	}
	for _, w := range v.Windows {
		out = append(out, windowReason(w, true))
	}
	for _, w := range v.OverriddenWindows {
		out = append(out, windowReason(w, false))
	}
	return out
}

// windowReason is a window refusal as a reason: an SRE override lets
// deploys past it, and it ends by itself at Until.
func windowReason(w WindowRefusal, refuses bool) apiv1.Reason {
	snap := w.Window
	return apiv1.Reason{
		Kind: apiv1.ReasonWindow, Scope: w.Scope, Refuses: refuses, Holder: w.Window.Owner, Reason: w.Window.Reason,
		Since: w.Window.CreatedAt, Until: w.Until, Override: true, Window: &snap,
	}
}

func reasonOf(h Hold, refuses bool) apiv1.Reason {
	r := apiv1.Reason{
		Scope: h.Scope, Refuses: refuses, HoldID: h.ID, Holder: h.Owner, Reason: h.Reason,
		Since: h.CreatedAt, Until: h.ExpiresAt,
	}
	switch h.Kind {
	case KindDeploy:
		r.Kind, r.Clears = apiv1.ReasonDeploy, apiv1.Clears{On: apiv1.ClearsOnDeployEnd}
	case KindAuto:
		r.Kind, r.Override, r.Signals = apiv1.ReasonAuto, true, h.Signals
		if h.Recovering != nil {
			r.Kind, r.Deploy = apiv1.ReasonCooldown, h.Recovering
		}
		if h.Clears != nil {
			r.Clears, r.Until = *h.Clears, h.Clears.AtLatest
		} else {
			// Written by a gate that said it only in prose.
			r.Notes, r.Clears = h.Details, apiv1.Clears{Text: h.Hint}
		}
	default:
		r.Kind, r.Clears = apiv1.ReasonManual, apiv1.Clears{On: apiv1.ClearsOnRelease}
	}
	return r
}
