package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// maxReportPages bounds how much history one report reads (1000 events a page).
const maxReportPages = 50

// report serves GET /api/v1/report?since=30d&period=7d&headroom=20s: the
// deploys' impact per cluster and period (health.Trend), from the
// deploy_impact events of the history.
func (a *API) report(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	var durs [3]time.Duration
	for i, f := range []struct {
		name string
		def  time.Duration
	}{{"since", 30 * 24 * time.Hour}, {"period", health.Week}, {"headroom", health.DefaultHeadroom}} {
		d, err := parseDays(v.Get(f.name), f.def)
		if err != nil || d <= 0 {
			a.fail(w, &lock.FieldError{Field: f.name, Message: "must be a positive duration such as 30d, 7d, 12h or 20s"})
			return
		}
		durs[i] = d
	}
	now := a.store.Now().UTC()
	since := now.Add(-durs[0])
	ctx, cancel := a.storeContext(r, 0)
	defer cancel()
	var impacts []health.DeployImpact
	q := lock.HistoryQuery{Action: apiv1.ActionDeployImpact, Since: since, Limit: lock.MaxHistoryLimit}
	for range maxReportPages {
		page, err := a.store.History(ctx, q)
		if err != nil {
			a.fail(w, err)
			return
		}
		for _, e := range page.Events {
			if e.Impact != nil {
				impacts = append(impacts, *e.Impact)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	writeJSON(w, http.StatusOK, health.Trend(impacts, since, now, durs[1], durs[2]))
}

// parseDays reads a Go duration, or whole days as "30d"; empty is def.
func parseDays(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
