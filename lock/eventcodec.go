package lock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// How the history stores an event. etcd maps its whole database into
// memory, so every byte of every kept event counts in the service's RSS
// (100,000 events by default). An event is stored as its JSON without what
// its key or the event itself already says:
//
//   - id and time: the key's position is the time stamp and the id;
//   - revision when 0: it is the key's ModRevision;
//   - in the hold snapshot, scope, kind, owner, reason, created_at and
//     updated_at when equal to the event's scope, kind, actor, reason and
//     time (a created hold repeats all six).
//
// About half of a typical event. decodeStoredEvent puts them back, and
// reads events stored whole (before this encoding) the same way.

// holdEchoes pairs each hold field left out with the event field it equals.
var holdEchoes = [...]struct{ hold, event string }{
	{"scope", "scope"}, {"kind", "kind"}, {"owner", "actor"}, {"reason", "reason"},
	{"created_at", "time"}, {"updated_at", "time"},
}

// encodeStoredEvent is the stored form of e.
func encodeStoredEvent(e Event) ([]byte, error) {
	full, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(full, &top); err != nil {
		return nil, err
	}
	if raw, ok := top["hold"]; ok && e.Hold != nil {
		var hold map[string]json.RawMessage
		if err := json.Unmarshal(raw, &hold); err != nil {
			return nil, err
		}
		for _, f := range holdEchoes {
			if v, ok := hold[f.hold]; ok && bytes.Equal(v, top[f.event]) {
				delete(hold, f.hold)
			}
		}
		if bytes.Equal(hold["revision"], []byte("0")) {
			delete(hold, "revision")
		}
		if top["hold"], err = json.Marshal(hold); err != nil {
			return nil, err
		}
	}
	delete(top, "id")
	delete(top, "time")
	if bytes.Equal(top["revision"], []byte("0")) {
		delete(top, "revision")
	}
	return json.Marshal(top)
}

// storedHoldFields says which echoed fields a stored hold snapshot has.
type storedHoldFields struct {
	Hold *struct {
		Scope     json.RawMessage `json:"scope"`
		Kind      json.RawMessage `json:"kind"`
		Owner     json.RawMessage `json:"owner"`
		Reason    json.RawMessage `json:"reason"`
		CreatedAt json.RawMessage `json:"created_at"`
		UpdatedAt json.RawMessage `json:"updated_at"`
	} `json:"hold"`
}

// decodeStoredEvent reads the event stored at history position pos
// (HistoryPosition) with value val, at ModRevision modRev.
func decodeStoredEvent(pos string, val []byte, modRev int64) (Event, error) {
	var e Event
	if err := json.Unmarshal(val, &e); err != nil {
		return Event{}, err
	}
	if e.ID == "" || e.Time.IsZero() {
		t, id, err := parsePosition(pos)
		if err != nil {
			return Event{}, err
		}
		if e.ID == "" {
			e.ID = id
		}
		if e.Time.IsZero() {
			e.Time = t
		}
	}
	if e.Revision == 0 {
		e.Revision = modRev
	}
	if h := e.Hold; h != nil {
		var has storedHoldFields
		if err := json.Unmarshal(val, &has); err != nil || has.Hold == nil {
			return Event{}, fmt.Errorf("stored event %s: hold snapshot unreadable: %v", pos, err)
		}
		// The pairs of holdEchoes.
		echo(&h.Scope, has.Hold.Scope, e.Scope)
		echo(&h.Kind, has.Hold.Kind, e.Kind)
		echo(&h.Owner, has.Hold.Owner, e.Actor)
		echo(&h.Reason, has.Hold.Reason, e.Reason)
		echo(&h.CreatedAt, has.Hold.CreatedAt, e.Time)
		echo(&h.UpdatedAt, has.Hold.UpdatedAt, e.Time)
	}
	return e, nil
}

// echo puts back a hold field the stored snapshot left out (stored is
// nil) because it equals the event's v.
func echo[T any](field *T, stored json.RawMessage, v T) {
	if stored == nil {
		*field = v
	}
}

// parsePosition is the time and id of a HistoryPosition.
func parsePosition(pos string) (time.Time, string, error) {
	stamp, id, ok := strings.Cut(pos, "-")
	n, err := strconv.ParseInt(stamp, 10, 64)
	if !ok || err != nil || len(stamp) != 19 || id == "" {
		return time.Time{}, "", fmt.Errorf("%q is not a history position", pos)
	}
	return time.Unix(0, math.MaxInt64-n).UTC(), id, nil
}
