package api

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// The answers are the wire contract's (package apiv1); these are the ones
// callers of package api name.
type (
	StatusResponse    = apiv1.StatusResponse
	PreflightResponse = apiv1.PreflightResponse
	StoreInfo         = apiv1.StoreInfo
)

// VerdictTimeout bounds how long a verdict waits for etcd to confirm the
// current revision; past it the answer is 503, never a stale "allowed".
const VerdictTimeout = 2500 * time.Millisecond

// WindowNoticeHorizon is how near a window change an allowed preflight
// mentions it.
const WindowNoticeHorizon = time.Hour

// sync makes the cache reflect every write acknowledged before r arrived,
// on any replica. A cache already known to be cut off fails at once.
func (a *API) sync(r *http.Request) error {
	if err := a.store.Fresh(); err != nil {
		return err
	}
	return a.store.SyncWithin(r.Context(), min(VerdictTimeout, a.cfg.RequestTimeout))
}

// knownScopes are global, the configured scopes, the gate's clusters and
// every scope a hold names (a hold on a scope no longer configured still counts).
func (a *API) knownScopes(snap lock.Snapshot, reports map[string]apiv1.ClusterHealth) []lock.Scope {
	seen := map[lock.Scope]bool{lock.Global: true}
	for _, s := range a.store.Scopes().List() {
		seen[s] = true
	}
	for _, c := range a.cfg.Gate.Clusters {
		seen[lock.Scope(c)] = true
	}
	for c := range reports {
		seen[lock.Scope(c)] = true
	}
	for _, h := range snap.Holds {
		seen[h.Scope] = true
	}
	scopes := make([]lock.Scope, 0, len(seen))
	for s := range seen {
		scopes = append(scopes, s)
	}
	sort.Slice(scopes, func(i, j int) bool {
		if (scopes[i] == lock.Global) != (scopes[j] == lock.Global) {
			return scopes[i] == lock.Global
		}
		return scopes[i] < scopes[j]
	})
	return scopes
}

// status serves GET /api/v1/status; ?health=false leaves out the clusters'
// reports, which a reader of the event stream keeps current from its
// "health" messages: at a hundred clusters they are most of the answer,
// and a page re-reads the status after every hold change.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	withHealth, err := healthParam(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	snap := a.store.Snapshot()
	reports, leader := a.reports()
	now := a.store.Now()
	resp := StatusResponse{
		Time: now.UTC(), Revision: snap.Revision, Health: reports,
		Holds: []lock.Hold{}, Overrides: []lock.Hold{},
		Gate:  apiv1.GateStatus{Mode: a.cfg.Gate.Mode, Leader: leader},
		Store: a.cfg.StoreInfo,
	}
	if a.cfg.Cluster != nil {
		resp.Store = a.cfg.Cluster(resp.Store)
	}
	for _, h := range snap.Holds {
		if !h.Active(now) {
			continue
		}
		if h.Kind == lock.KindOverride {
			resp.Overrides = append(resp.Overrides, h)
		} else {
			resp.Holds = append(resp.Holds, h)
		}
	}
	resp.Unguarded = snap.Bridges
	// Each scope's verdict reads only the holds that cover it: its own and
	// global's (every hold, for global's). Deciding every scope over every
	// hold made a status O(scopes × holds): seconds with thousands of holds
	// on other scopes. They are grouped from snap, not read again with
	// Store.Covering, so the verdicts agree with the holds listed beside them.
	byScope := map[lock.Scope][]lock.Hold{}
	for _, h := range snap.Holds {
		byScope[h.Scope] = append(byScope[h.Scope], h)
	}
	windows := a.windows()
	for _, s := range a.knownScopes(snap, reports) {
		covering := snap.Holds
		if s != lock.Global {
			covering = append(slices.Clip(byScope[s]), byScope[lock.Global]...)
		}
		v := lock.ApplyWindows(lock.Decide(covering, []lock.Scope{s}, now), windows, now)
		reasons := v.Reasons()
		sv := apiv1.ScopeVerdict{Scope: s, Allowed: v.Allowed, Summary: apiv1.Summary(reasons), Reasons: reasons,
			Message: apiv1.RenderRefusal(v.Scopes, reasons, a.cfg.StatusURL, now)}
		if v.Allowed {
			sv.Advice = advice(reports, []lock.Scope{s})
		}
		resp.Verdicts = append(resp.Verdicts, sv)
	}
	if !withHealth {
		resp.Health = nil
	}
	writeJSON(w, http.StatusOK, resp)
}

// preflight answers from the cache: 200 allowed, 423 refused with the
// message. No scope means every known scope (a fleet-wide sync).
func (a *API) preflight(w http.ResponseWriter, r *http.Request) {
	// Bad input is refused before any etcd read.
	var scopes []lock.Scope
	for _, raw := range r.URL.Query()["scope"] {
		s, err := a.store.Scopes().Parse(raw)
		if err != nil {
			a.fail(w, err)
			return
		}
		scopes = append(scopes, s)
	}
	withHealth, err := healthParam(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	// Without etcd's confirmation only a refusal may be given: what the
	// replica last confirmed refuses (lock.Store.KnownRefusal).
	unconfirmed := a.sync(r)
	if unconfirmed != nil && !errors.Is(unconfirmed, lock.ErrUnavailable) {
		a.fail(w, unconfirmed)
		return
	}
	reports, _ := a.reports()
	if len(scopes) == 0 {
		scopes = a.knownScopes(a.store.Snapshot(), reports)
	}
	snap := a.store.Covering(scopes)
	now := a.store.Now()
	windows := a.windows()
	v := lock.ApplyWindows(lock.Decide(snap.Holds, scopes, now), windows, now)
	v.Revision = snap.Revision
	if unconfirmed != nil {
		var refused *lock.RefusedError
		if !errors.As(a.store.KnownRefusal(unconfirmed, scopes, windows...), &refused) {
			a.fail(w, unconfirmed)
			return
		}
		v = refused.Verdict
	}
	resp := PreflightResponse{
		Allowed: v.Allowed, Scopes: scopes, Reasons: v.Reasons(), StatusURL: a.cfg.StatusURL, Holds: nonNil(v.Blocking), Overridden: v.Overridden,
		Overrides: v.Overrides, Revision: v.Revision,
		Windows: v.Windows, OverriddenWindows: v.OverriddenWindows,
	}
	if withHealth {
		resp.Health = map[string]apiv1.ClusterHealth{}
		for _, s := range scopes {
			for c, report := range reports {
				if s.Covers(lock.Scope(c)) {
					resp.Health[c] = report
				}
			}
		}
	}
	if change, ok := lock.NextWindowChange(windows, scopes, now); ok {
		resp.WindowChange = &change
	}
	if !v.LastConfirmed.IsZero() {
		at := v.LastConfirmed.UTC()
		resp.LastConfirmed = &at
	}
	status := http.StatusOK
	if !v.Allowed {
		status = http.StatusLocked
		resp.Message = apiv1.RenderRefusalAsOf(scopes, resp.Reasons, a.cfg.StatusURL, now, v.LastConfirmed)
	} else {
		resp.Advice = advice(reports, scopes)
		resp.WindowNotice = lock.WindowNotice(windows, scopes, now, WindowNoticeHorizon)
	}
	writeJSON(w, status, resp)
}

// healthParam reads ?health=: false leaves the clusters' reports out of
// status and preflight (a reader that needs only the verdict, a bridge;
// one that keeps them current from the event stream, the page). At a
// hundred clusters they are most of the answer.
func healthParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("health"); v {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, &lock.FieldError{Field: "health", Message: "must be true or false, got " + strconv.Quote(v)}
	}
}

// samples serves every cluster's recent values for sparklines; the event
// stream's "samples" messages extend them.
func (a *API) samples(w http.ResponseWriter, _ *http.Request) {
	if err := a.store.Fresh(); err != nil {
		a.fail(w, err)
		return
	}
	var samples map[string]map[string]map[apiv1.Signal][]apiv1.Point
	if a.cfg.View != nil {
		samples = a.cfg.View.Samples()
	}
	writeJSON(w, http.StatusOK, apiv1.SamplesResponse{Revision: a.store.Revision(), Clusters: samples})
}

// GateView is what the API shows of the gate's reports; server/gate.View
// provides it, fed by the store's watch.
type GateView interface {
	Reports() (health map[string]apiv1.ClusterHealth, leader string)
	Samples() map[string]map[string]map[apiv1.Signal][]apiv1.Point
}

// reports are the gate's latest reports and leader; none without a view.
func (a *API) reports() (map[string]apiv1.ClusterHealth, string) {
	if a.cfg.View == nil {
		return map[string]apiv1.ClusterHealth{}, ""
	}
	return a.cfg.View.Reports()
}
