package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// The window bodies and answers are the wire contract's (package apiv1).
type (
	WindowBody      = apiv1.WindowBody
	WindowState     = apiv1.WindowState
	WindowsResponse = apiv1.WindowsResponse
)

// windows are the deployment windows; none without a calendar.
func (a *API) windows() []lock.Window {
	if a.cfg.Calendar == nil {
		return nil
	}
	return a.cfg.Calendar.List()
}

// parseWindowBody decodes a window body strictly; lock validates it.
func parseWindowBody(body []byte) (lock.WindowRequest, error) {
	var b WindowBody
	if err := decodeJSON(body, &b); err != nil {
		return lock.WindowRequest{}, err
	}
	d, err := lock.ParseDuration("duration", b.Duration)
	if err != nil {
		return lock.WindowRequest{}, err
	}
	return lock.WindowRequest{
		Scope: lock.Scope(b.Scope), Kind: lock.WindowKind(b.Kind), Schedule: b.Schedule, Duration: d,
		TimeZone: b.TimeZone, Reason: b.Reason, Until: b.Until,
	}, nil
}

func (a *API) createWindow(w http.ResponseWriter, r *http.Request) {
	req, p, idem, err := readWrite(r, w, parseWindowBody)
	if err != nil {
		a.fail(w, err)
		return
	}
	req.Owner, req.Idem = p.Subject, idem
	ctx, cancel := a.writeContext(r)
	defer cancel()
	win, err := a.store.AddWindow(ctx, req)
	if err != nil {
		a.failWrite(w, req.Idem, err)
		return
	}
	a.log.Info("window created", "id", win.ID, "kind", win.Kind, "scope", win.Scope, "schedule", win.Schedule, "owner", win.Owner)
	writeJSON(w, http.StatusCreated, windowState(win, a.store.Now()))
}

func (a *API) deleteWindow(w http.ResponseWriter, r *http.Request) {
	b, p, idem, err := readWrite(r, w, parseJSON[ReleaseBody])
	if err != nil {
		a.fail(w, err)
		return
	}
	ctx, cancel := a.writeContext(r)
	defer cancel()
	win, err := a.store.RemoveWindow(ctx, chi.URLParam(r, "id"), p.Subject, b.Reason, idem)
	if err != nil {
		a.failWrite(w, idem, err)
		return
	}
	a.log.Info("window deleted", "id", win.ID, "scope", win.Scope, "by", p.Subject)
	writeJSON(w, http.StatusOK, win)
}

// listWindows answers after the read barrier, as verdicts do: a window
// written anywhere before the request is in the answer.
func (a *API) listWindows(w http.ResponseWriter, r *http.Request) {
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	now := a.store.Now()
	resp := WindowsResponse{Time: now.UTC(), Windows: []WindowState{}, Revision: a.store.Revision()}
	for _, win := range a.windows() {
		resp.Windows = append(resp.Windows, windowState(win, now))
	}
	writeJSON(w, http.StatusOK, resp)
}

// windowState is win with when it applies at now.
func windowState(win lock.Window, now time.Time) WindowState {
	st := WindowState{Window: win}
	if ok, _, end := lock.Active(win, now); ok {
		st.Active, st.ActiveEnd = true, utcPtr(end)
	}
	if start, end := lock.Next(win, now); !start.IsZero() {
		st.NextStart, st.NextEnd = utcPtr(start), utcPtr(end)
	}
	for _, s := range lock.Stretches(win, now, now.Add(7*24*time.Hour)) {
		st.Week = append(st.Week, apiv1.Stretch{Start: s[0].UTC(), End: s[1].UTC()})
	}
	return st
}

func utcPtr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

// windowsCalendar serves the windows as an iCalendar feed, so people see
// them in their own calendars.
func (a *API) windowsCalendar(w http.ResponseWriter, r *http.Request) {
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	var buf bytes.Buffer
	if err := lock.WriteICalendar(&buf, a.windows(), a.store.Now()); err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
