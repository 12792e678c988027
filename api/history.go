package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/scaplock/scaplock/lock"
)

// history serves GET /api/v1/history?scope=&kind=&actor=&action=&hold=&since=&until=&limit=&cursor=
func (a *API) history(w http.ResponseWriter, r *http.Request) {
	q, err := parseHistoryQuery(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	ctx, cancel := a.storeContext(r, 0)
	defer cancel()
	page, err := a.store.History(ctx, q)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func parseHistoryQuery(r *http.Request) (lock.HistoryQuery, error) {
	v := r.URL.Query()
	q := lock.HistoryQuery{Actor: v.Get("actor"), Action: lock.Action(v.Get("action")), HoldID: v.Get("hold"), Cursor: v.Get("cursor")}
	var err error
	if s := v.Get("scope"); s != "" {
		if q.Scope, err = lock.ParseScope(s); err != nil {
			return q, err
		}
	}
	if k := v.Get("kind"); k != "" {
		if q.Kind, err = lock.ParseKind(k); err != nil {
			return q, err
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(f.name); s != "" {
			if *f.dst, err = time.Parse(time.RFC3339, s); err != nil {
				return q, &lock.FieldError{Field: f.name, Message: "must be an RFC 3339 time such as 2024-05-28T12:49:12Z"}
			}
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
			return q, &lock.FieldError{Field: "limit", Message: "must be a positive integer"}
		}
	}
	return q, nil
}
