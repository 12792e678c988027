package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// BridgeReportResponse answers PUT /api/v1/bridges/{host}.
type BridgeReportResponse struct {
	Host    string `json:"host"`
	Guarded bool   `json:"guarded"`
	// Recorded is false when the report changed nothing (a retry, or
	// guarded when the host was not recorded as unguarded).
	Recorded bool `json:"recorded"`
}

// reportBridge records a scap bridge's report that a person released it,
// or that it guards scap's lock again (lock.Store.ReportBridge).
func (a *API) reportBridge(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, w)
	if err != nil {
		a.fail(w, err)
		return
	}
	var b apiv1.BridgeBody
	if err := decodeJSON(body, &b); err != nil {
		a.fail(w, err)
		return
	}
	p, _ := principal(r)
	rep := lock.BridgeReport{Host: chi.URLParam(r, "host"), Actor: p.Subject, BridgeBody: b}
	ctx, cancel := a.writeContext(r)
	defer cancel()
	recorded, err := a.store.ReportBridge(ctx, rep)
	if err != nil {
		a.fail(w, err)
		return
	}
	if recorded {
		a.log.Warn("scap bridge report", "host", rep.Host, "guarded", rep.Guarded, "releaser", rep.Releaser, "user", rep.User, "by", rep.Actor)
	}
	writeJSON(w, http.StatusOK, BridgeReportResponse{Host: rep.Host, Guarded: rep.Guarded, Recorded: recorded})
}
