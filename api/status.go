package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/scaplock/scaplock/lock"
)

// ScopeVerdict is one scope's answer on the status page.
type ScopeVerdict struct {
	Scope   lock.Scope `json:"scope"`
	Allowed bool       `json:"allowed"`
	Summary string     `json:"summary"`
}

// StatusResponse is GET /api/v1/status.
type StatusResponse struct {
	Time      time.Time                  `json:"time"`
	Revision  int64                      `json:"revision"`
	Verdicts  []ScopeVerdict             `json:"verdicts"`
	Holds     []lock.Hold                `json:"holds"`
	Overrides []lock.Hold                `json:"overrides"`
	Health    map[string]json.RawMessage `json:"health"`
	Gate      GateStatus                 `json:"gate"`
}

// GateStatus is the gate's mode and which replica leads it.
type GateStatus struct {
	Mode   string `json:"mode"`
	Leader string `json:"leader"`
}

// PreflightResponse is GET /api/v1/preflight.
type PreflightResponse struct {
	Allowed    bool                       `json:"allowed"`
	Scopes     []lock.Scope               `json:"scopes"`
	Message    string                     `json:"message,omitempty"`
	Holds      []lock.Hold                `json:"holds"`
	Overridden []lock.Hold                `json:"overridden,omitempty"`
	Overrides  []lock.Hold                `json:"overrides,omitempty"`
	Health     map[string]json.RawMessage `json:"health,omitempty"`
	Revision   int64                      `json:"revision"`
}

// knownScopes are global, the gate's clusters and every scope a hold names.
func (a *API) knownScopes(snap lock.Snapshot) []lock.Scope {
	seen := map[lock.Scope]bool{lock.Global: true}
	for _, c := range a.cfg.Gate.Clusters {
		seen[lock.Scope(c)] = true
	}
	for c := range snap.Health {
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

func (a *API) status(w http.ResponseWriter, _ *http.Request) {
	if err := a.store.Fresh(); err != nil {
		a.fail(w, err)
		return
	}
	snap := a.store.Snapshot()
	now := a.store.Now()
	resp := StatusResponse{
		Time: now.UTC(), Revision: snap.Revision, Health: snap.Health,
		Holds: []lock.Hold{}, Overrides: []lock.Hold{},
		Gate: GateStatus{Mode: a.cfg.Gate.Mode, Leader: snap.Leader},
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
	for _, s := range a.knownScopes(snap) {
		v := lock.Decide(snap.Holds, []lock.Scope{s}, now)
		resp.Verdicts = append(resp.Verdicts, ScopeVerdict{Scope: s, Allowed: v.Allowed, Summary: v.Summary()})
	}
	writeJSON(w, http.StatusOK, resp)
}

// preflight answers from the cache: 200 allowed, 423 refused with the
// message. No scope means every known scope (a fleet-wide sync).
func (a *API) preflight(w http.ResponseWriter, r *http.Request) {
	// A cache cut off from etcd may be missing holds: could not decide.
	if err := a.store.Fresh(); err != nil {
		a.fail(w, err)
		return
	}
	snap := a.store.Snapshot()
	var scopes []lock.Scope
	for _, raw := range r.URL.Query()["scope"] {
		s, err := lock.ParseScope(raw)
		if err != nil {
			a.fail(w, err)
			return
		}
		scopes = append(scopes, s)
	}
	if len(scopes) == 0 {
		scopes = a.knownScopes(snap)
	}
	now := a.store.Now()
	v := lock.Decide(snap.Holds, scopes, now)
	v.Revision = snap.Revision
	resp := PreflightResponse{
		Allowed: v.Allowed, Scopes: scopes, Holds: nonNil(v.Blocking), Overridden: v.Overridden,
		Overrides: v.Overrides, Revision: v.Revision, Health: map[string]json.RawMessage{},
	}
	for _, s := range scopes {
		for c, report := range snap.Health {
			if s.Covers(lock.Scope(c)) {
				resp.Health[c] = report
			}
		}
	}
	status := http.StatusOK
	if !v.Allowed {
		status = http.StatusLocked
		resp.Message = lock.RefusalMessage(v, a.cfg.StatusURL, now)
	}
	writeJSON(w, status, resp)
}
