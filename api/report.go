package api

import (
	"context"
	"net/http"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// maxReportPages bounds how much history one report reads (1000 events a page).
const maxReportPages = 50

// report serves GET /api/v1/report?since=30d&period=7d&headroom=20s: the
// deploys' impact per cluster and period (health.Trend), from the
// deploy_impact events of the history, and their outcomes per period
// (health.Outcomes), from the deploy holds' releases.
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
	var releases []apiv1.Event
	for _, read := range []struct {
		q    lock.HistoryQuery
		keep func(lock.Event)
	}{
		{lock.HistoryQuery{Action: apiv1.ActionDeployImpact}, func(e lock.Event) {
			if e.Impact != nil {
				impacts = append(impacts, *e.Impact)
			}
		}},
		{lock.HistoryQuery{Action: apiv1.ActionReleased, Kind: lock.KindDeploy}, func(e lock.Event) { releases = append(releases, e) }},
	} {
		if err := a.readHistory(ctx, read.q, since, read.keep); err != nil {
			a.fail(w, err)
			return
		}
	}
	rep := health.Trend(impacts, since, now, durs[1], durs[2])
	rep.Deploys = health.Outcomes(releases, since, now, durs[1])
	writeJSON(w, http.StatusOK, rep)
}

// readHistory passes every event q matches since since to keep, reading at
// most maxReportPages pages.
func (a *API) readHistory(ctx context.Context, q lock.HistoryQuery, since time.Time, keep func(lock.Event)) error {
	q.Since, q.Limit = since, lock.MaxHistoryLimit
	for range maxReportPages {
		page, err := a.store.History(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			keep(e)
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
	return nil
}

// parseDays reads a Go duration, or whole days as "30d"; empty is def.
func parseDays(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	return apiv1.ParseDuration(s)
}
