package api

import (
	"net/http"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// recordSync writes a scap sync the bridge saw (role deployer: the
// bridge's own token).
func (a *API) recordSync(w http.ResponseWriter, r *http.Request) {
	var b apiv1.SyncBody
	if err := decodeRequest(r, w, &b); err != nil {
		a.fail(w, err)
		return
	}
	p, _ := principal(r)
	ctx, cancel := a.writeContext(r)
	defer cancel()
	e, err := a.store.RecordSync(ctx, p.Subject, b)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}
