package lock

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Calendar is every replica's copy of the deployment windows. It is fed
// by the store's watch (Options.Parts = Calendar.Parts()), so a verdict
// made after Store.Sync reads windows at least as new as its holds.
type Calendar struct {
	keys Keys
	log  *slog.Logger

	mu      sync.RWMutex
	windows map[string]Window
}

// NewCalendar makes an empty calendar of the windows under keys' prefix.
func NewCalendar(keys Keys, log *slog.Logger) *Calendar {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Calendar{keys: keys, log: log, windows: map[string]Window{}}
}

// Parts is the calendar's prefix, for Options.Parts.
func (c *Calendar) Parts() []Part {
	return []Part{{Prefix: c.keys.Windows(), Reset: c.reset, Put: c.put, Del: c.del}}
}

func (c *Calendar) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.windows = map[string]Window{}
}

// storedWindow is a window as etcd keeps it: with the fingerprint of the
// request that made it, so that a retry with its Idempotency-Key is known.
type storedWindow struct {
	Window
	Fingerprint string `json:"fingerprint,omitempty"`
}

func decodeWindow(kv *mvccpb.KeyValue) (storedWindow, error) {
	var w storedWindow
	if err := json.Unmarshal(kv.Value, &w); err != nil {
		return storedWindow{}, err
	}
	w.Revision = kv.ModRevision
	return w, nil
}

func (c *Calendar) put(kv *mvccpb.KeyValue) *Change {
	w, err := decodeWindow(kv)
	if err != nil {
		// Kept under its key with nothing readable: WindowsDecide refuses
		// on a window it cannot read rather than forget a freeze.
		c.log.Warn("undecodable window refuses its scope until removed", "key", string(kv.Key), "err", err)
		id := strings.TrimPrefix(string(kv.Key), c.keys.Windows())
		w = storedWindow{Window: Window{ID: id, Scope: Global, Reason: "undecodable window " + id, Revision: kv.ModRevision}}
	}
	c.mu.Lock()
	c.windows[w.ID] = w.Window
	c.mu.Unlock()
	return nil // the history event written with it tells
}

func (c *Calendar) del(kv *mvccpb.KeyValue) *Change {
	c.mu.Lock()
	delete(c.windows, strings.TrimPrefix(string(kv.Key), c.keys.Windows()))
	c.mu.Unlock()
	return nil
}

// List is every window, oldest first.
func (c *Calendar) List() []Window {
	c.mu.RLock()
	out := make([]Window, 0, len(c.windows))
	for _, w := range c.windows {
		out = append(out, w)
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Window) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// AddWindow validates req and writes the window and its history event in
// one transaction. With req.Idem the window's id is derived from the key,
// so a retry finds the window its first attempt wrote.
func (s *Store) AddWindow(ctx context.Context, req WindowRequest) (Window, error) {
	now := s.now().UTC()
	if err := req.Validate(s.scopes, now); err != nil {
		return Window{}, err
	}
	w := storedWindow{Window: Window{
		ID: newID(), Scope: req.Scope, Kind: req.Kind, Schedule: strings.TrimSpace(req.Schedule),
		Duration: Duration(req.Duration), TimeZone: req.TimeZone, Reason: req.Reason, Until: req.Until,
		Owner: req.Owner, CreatedAt: now,
	}}
	if req.Idem != nil {
		w.ID, w.Fingerprint = req.Idem.id()[:16], req.Idem.Fingerprint
	}
	val, err := json.Marshal(w)
	if err != nil {
		return Window{}, err
	}
	evOps, err := HistoryOps(s.keys, windowEvent(now, req.Owner, ActionCreated, w.Window, req.Reason))
	if err != nil {
		return Window{}, err
	}
	key := s.keys.Window(w.ID)
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(append([]clientv3.Op{clientv3.OpPut(key, string(val))}, evOps...)...).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return Window{}, outcomeUnknown("write window", w.ID, err)
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return Window{}, fmt.Errorf("window %s: written and removed concurrently: %w", w.ID, ErrConflict)
		}
		prev, err := decodeWindow(kvs[0])
		if err != nil {
			return Window{}, err
		}
		if req.Idem == nil || prev.Fingerprint != req.Idem.Fingerprint {
			return Window{}, fmt.Errorf("Idempotency-Key %q made window %s for another request: %w", keyOf(req.Idem), w.ID, ErrIdempotencyMismatch)
		}
		return prev.Window, s.WaitRevision(ctx, prev.Revision)
	}
	w.Revision = resp.Header.Revision
	return w.Window, s.WaitRevision(ctx, w.Revision)
}

func keyOf(idem *Idempotency) string {
	if idem == nil {
		return ""
	}
	return idem.Key
}

// RemoveWindow deletes window id and records who removed it and why, in
// one transaction that compares on the window's revision. With idem, a
// retry after a lost answer gets the first removal's answer, not a 404.
func (s *Store) RemoveWindow(ctx context.Context, id, actor, reason string, idem *Idempotency) (Window, error) {
	if err := ValidateID(id); err != nil {
		return Window{}, err
	}
	if err := ValidateReason(reason); err != nil {
		return Window{}, err
	}
	if w, ok, err := s.removed(ctx, idem, id); ok || err != nil {
		return w, err
	}
	key := s.keys.Window(id)
	got, err := s.cli.Get(ctx, key)
	if err != nil {
		return Window{}, unavailable("read window "+id, err)
	}
	if len(got.Kvs) == 0 {
		return Window{}, fmt.Errorf("window %s: %w", id, ErrNotFound)
	}
	w, err := decodeWindow(got.Kvs[0])
	if err != nil {
		w = storedWindow{Window: Window{ID: id, Revision: got.Kvs[0].ModRevision}}
	}
	evOps, err := HistoryOps(s.keys, windowEvent(s.now().UTC(), actor, ActionDeleted, w.Window, reason))
	if err != nil {
		return Window{}, err
	}
	idemCmps, idemOps, err := s.recordOutcome(ctx, idem, outcome{Window: &w.Window})
	if err != nil {
		return Window{}, err
	}
	resp, err := s.cli.Txn(ctx).
		If(append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", w.Revision)}, idemCmps...)...).
		Then(append(append([]clientv3.Op{clientv3.OpDelete(key)}, evOps...), idemOps...)...).Commit()
	if err != nil {
		return Window{}, outcomeUnknown("remove window", id, err)
	}
	if !resp.Succeeded {
		// A concurrent request with the same key may have removed it.
		if w, ok, err := s.removed(ctx, idem, id); ok || err != nil {
			return w, err
		}
		return Window{}, fmt.Errorf("window %s changed while removing, try again: %w", id, ErrConflict)
	}
	s.catchUp(ctx, "remove window", id, resp.Header.Revision)
	return w.Window, nil
}

// removed is the window idem's earlier request removed, if it did.
func (s *Store) removed(ctx context.Context, idem *Idempotency, id string) (Window, bool, error) {
	o, rev, ok, err := s.recorded(ctx, idem)
	if !ok || err != nil {
		return Window{}, ok, err
	}
	if o.Window == nil {
		return Window{}, false, fmt.Errorf("Idempotency-Key %q was used for another request: %w", idem.Key, ErrIdempotencyMismatch)
	}
	s.catchUp(ctx, "replay", id, rev)
	return *o.Window, true, nil
}

func windowEvent(now time.Time, actor string, action Action, w Window, reason string) Event {
	snap := w
	return Event{
		ID: newID(), Time: now.UTC(), Actor: actor, Action: action,
		Scope: w.Scope, Kind: KindWindow, Reason: reason, Window: &snap,
	}
}

// windowChange fires when the window refusal in err ends, so that a
// queued deploy decides again when time, not a write, opens the scope;
// nil (never) for any other error.
func windowChange(err error, now time.Time) <-chan time.Time {
	var refused *RefusedError
	if !errors.As(err, &refused) || len(refused.Verdict.Windows) == 0 {
		return nil
	}
	var first time.Time
	for _, r := range refused.Verdict.Windows {
		if r.Until != nil && (first.IsZero() || r.Until.Before(first)) {
			first = *r.Until
		}
	}
	if first.IsZero() {
		return nil
	}
	return time.After(first.Sub(now))
}
