package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/scaplock/scaplock/lock"
)

// answerMargin is kept from the request timeout to write the answer.
const answerMargin = 200 * time.Millisecond

// storeContext is the request's context bounded by the request timeout
// (less the time to answer) plus extra (the time a deploy may queue).
func (a *API) storeContext(r *http.Request, extra time.Duration) (context.Context, context.CancelFunc) {
	d := a.cfg.RequestTimeout
	if d > 2*answerMargin {
		d -= answerMargin
	}
	return context.WithTimeout(r.Context(), d+extra)
}

// writeContext bounds a write by the request timeout alone: neither a
// client hanging up nor the server shutting down cancels a write under
// way, so its outcome is never left unknown (shutdown waits for it).
func (a *API) writeContext(r *http.Request) (context.Context, context.CancelFunc) {
	d := a.cfg.RequestTimeout
	if d > 2*answerMargin {
		d -= answerMargin
	}
	return context.WithTimeout(context.WithoutCancel(r.Context()), d)
}

// decodeRequest reads the body within MaxBodyBytes and decodes it
// strictly, for a write that takes no Idempotency-Key (readWrite).
func decodeRequest(r *http.Request, w http.ResponseWriter, dst any) error {
	body, err := readBody(r, w)
	if err != nil {
		return err
	}
	return decodeJSON(body, dst)
}

// readWrite reads a write's body and parses it, then takes the request's
// Idempotency-Key for the principal p who writes.
func readWrite[T any](r *http.Request, w http.ResponseWriter, parse func(body []byte) (T, error)) (in T, p Principal, idem *lock.Idempotency, err error) {
	body, err := readBody(r, w)
	if err != nil {
		return in, p, nil, err
	}
	if in, err = parse(body); err != nil {
		return in, p, nil, err
	}
	p, _ = principal(r)
	idem, err = idempotency(r, p.Subject, body)
	return in, p, idem, err
}

// readBody reads a request body within MaxBodyBytes and the server's read
// timeout. Shutting down ends the wait for a body at once.
func readBody(r *http.Request, w http.ResponseWriter) ([]byte, error) {
	rc := http.NewResponseController(w)
	stop := context.AfterFunc(r.Context(), func() { _ = rc.SetReadDeadline(time.Now()) })
	defer stop()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		// A cause other than Canceled is the server's: it is shutting down.
		if cause := context.Cause(r.Context()); cause != nil && !errors.Is(cause, context.Canceled) {
			return nil, fmt.Errorf("%w: %w", lock.ErrUnavailable, cause)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errBodyTimeout
		}
		return nil, &lock.FieldError{Field: "body", Message: "could not be read"}
	}
	if len(body) > MaxBodyBytes {
		return nil, errTooLarge
	}
	return body, nil
}

func (a *API) createHold(w http.ResponseWriter, r *http.Request) {
	a.create(w, r, lock.KindManual, a.cfg.MaxHoldDuration, false)
}

func (a *API) createOverride(w http.ResponseWriter, r *http.Request) {
	a.create(w, r, lock.KindOverride, a.cfg.MaxOverrideDuration, true)
}

func (a *API) create(w http.ResponseWriter, r *http.Request, kind lock.Kind, max time.Duration, needDuration bool) {
	in, p, idem, err := readWrite(r, w, func(body []byte) (holdInput, error) { return parseHoldBody(body, max, needDuration) })
	if err != nil {
		a.fail(w, err)
		return
	}
	ctx, cancel := a.writeContext(r)
	defer cancel()
	h, err := a.store.Create(ctx, lock.HoldRequest{
		Scope: in.scope, Kind: kind, Owner: p.Subject, Reason: in.reason, Duration: in.duration, Idem: idem,
	})
	if err != nil {
		a.failWrite(w, idem, err)
		return
	}
	a.log.Info("hold created", "id", h.ID, "kind", h.Kind, "scope", h.Scope, "owner", h.Owner)
	writeJSON(w, http.StatusCreated, h)
}

func (a *API) amendHold(w http.ResponseWriter, r *http.Request) {
	am, p, idem, err := readWrite(r, w, parseAmendBody)
	if err != nil {
		a.fail(w, err)
		return
	}
	am.MaxDuration, am.Kinds, am.Idem = a.cfg.MaxHoldDuration, []lock.Kind{lock.KindManual}, idem
	ctx, cancel := a.writeContext(r)
	defer cancel()
	h, err := a.store.Amend(ctx, chi.URLParam(r, "id"), p.Subject, am)
	if err != nil {
		a.failWrite(w, idem, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *API) releaseHold(w http.ResponseWriter, r *http.Request) {
	a.release(w, r, lock.ReleaseRequest{Kinds: []lock.Kind{lock.KindManual}})
}

func (a *API) cancelOverride(w http.ResponseWriter, r *http.Request) {
	a.release(w, r, lock.ReleaseRequest{Kinds: []lock.Kind{lock.KindOverride}})
}

func (a *API) releaseDeploy(w http.ResponseWriter, r *http.Request) {
	p, _ := principal(r)
	req := lock.ReleaseRequest{Kinds: []lock.Kind{lock.KindDeploy}}
	if !p.Has(RoleAdmin) {
		req.Owner = p.Subject
	}
	a.release(w, r, req)
}

func (a *API) release(w http.ResponseWriter, r *http.Request, req lock.ReleaseRequest) {
	b, p, idem, err := readWrite(r, w, parseJSON[ReleaseBody])
	if err != nil {
		a.fail(w, err)
		return
	}
	req.Idem = idem
	req.ID, req.Actor, req.Reason = chi.URLParam(r, "id"), p.Subject, b.Reason
	if o := b.DeployOutcome(); o.Given() {
		if !slices.Contains(req.Kinds, lock.KindDeploy) {
			a.fail(w, &lock.FieldError{Field: "outcome", Message: "only a deploy's release (DELETE /api/v1/deploys/{id}) records one"})
			return
		}
		if err := lock.ValidateOutcome(o); err != nil {
			a.fail(w, err)
			return
		}
		req.Outcome = a.deployOutcome(req.ID, o)
		req.Released = func(h lock.Hold) { a.deploys.released(h.Scope, o) }
	}
	ctx, cancel := a.writeContext(r)
	defer cancel()
	h, err := a.store.Release(ctx, req)
	if err != nil {
		a.failWrite(w, req.Idem, err)
		return
	}
	a.log.Info("hold released", "id", h.ID, "kind", h.Kind, "scope", h.Scope, "by", p.Subject)
	writeJSON(w, http.StatusOK, h)
}

func (a *API) listHolds(w http.ResponseWriter, r *http.Request) {
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	snap := a.store.Snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"holds": nonNil(snap.Holds), "revision": snap.Revision})
}

func (a *API) getHold(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := lock.ValidateID(id); err != nil {
		a.fail(w, err)
		return
	}
	if err := a.sync(r); err != nil {
		a.fail(w, err)
		return
	}
	h, err := a.store.Get(id)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *API) acquireDeploy(w http.ResponseWriter, r *http.Request) {
	req, p, idem, err := readWrite(r, w, parseDeployBody)
	if err != nil {
		a.fail(w, err)
		return
	}
	req.Owner, req.Calendar, req.Idem = p.Subject, a.cfg.Calendar, idem
	scopes := []lock.Scope{req.Scope}
	// A replica cut off from etcd refuses at once what it last knew refused,
	// instead of waiting out the request timeout for a 503.
	if a.store.Scopes().Check(req.Scope) == nil {
		if err := a.store.KnownRefusal(a.store.Fresh(), scopes, a.windows()...); errors.Is(err, lock.ErrRefused) {
			a.fail(w, err)
			return
		}
	}
	ctx, cancel := a.storeContext(r, req.Wait)
	defer cancel()
	h, err := a.store.AcquireDeploy(ctx, req)
	if err != nil {
		a.failWrite(w, req.Idem, a.store.KnownRefusal(err, scopes, a.windows()...))
		return
	}
	a.log.Info("deploy started", "id", h.ID, "scope", h.Scope, "owner", h.Owner)
	writeJSON(w, http.StatusCreated, h)
}

func (a *API) keepAlive(w http.ResponseWriter, r *http.Request) {
	p, _ := principal(r)
	ctx, cancel := a.writeContext(r)
	defer cancel()
	h, err := a.store.KeepAlive(ctx, chi.URLParam(r, "id"), p.Subject)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
