package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scaplock/scaplock/api/token"

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
	if q != (lock.HistoryQuery{Limit: q.Limit}) {
		writeJSON(w, http.StatusOK, page)
		return
	}
	body, ok := a.newest.get(page.Revision, q.Limit)
	if !ok {
		if body, err = json.Marshal(page); err != nil {
			writeJSON(w, http.StatusOK, page) // answers the internal error
			return
		}
		body = append(body, '\n')
		a.newest.put(page.Revision, q.Limit, body)
	}
	writeBody(w, http.StatusOK, body)
}

// newestPages keeps the encoded newest pages (no filter, no cursor) of
// the revision last served, by limit: when everyone opens the status page
// during an incident, they all ask for the same page at the same revision,
// and it is encoded once. At most maxNewestPages limits are kept.
type newestPages struct {
	mu    sync.Mutex
	rev   int64
	pages map[int][]byte
}

const maxNewestPages = 4

func (c *newestPages) get(rev int64, limit int) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.pages[limit]
	return b, ok && c.rev == rev
}

func (c *newestPages) put(rev int64, limit int, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev < c.rev {
		return // a slower request's older page
	}
	if rev != c.rev || len(c.pages) >= maxNewestPages {
		c.rev, c.pages = rev, map[int][]byte{}
	}
	c.pages[limit] = body
}

var historyParams = map[string]bool{"scope": true, "kind": true, "actor": true, "action": true, "hold": true, "since": true, "until": true, "limit": true, "cursor": true}

var knownActions = map[lock.Action]struct{}{
	lock.ActionCreated: {}, lock.ActionAmended: {}, lock.ActionReleased: {}, lock.ActionExpired: {},
	lock.ActionRefreshed: {}, lock.ActionWouldTrip: {}, lock.ActionWouldClear: {},
	lock.ActionDeployImpact: {}, lock.ActionSynced: {},
	lock.ActionBridgeUnlocked: {}, lock.ActionBridgeGuarded: {}, lock.ActionDeleted: {},
}

// printableName is a query parameter's name as a field, or "query" when
// the name itself is unprintable.
func printableName(name string) string {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "query"
	}
	return name
}

func parseHistoryQuery(r *http.Request) (lock.HistoryQuery, error) {
	v := r.URL.Query()
	q := lock.HistoryQuery{Actor: v.Get("actor"), Action: lock.Action(v.Get("action")), HoldID: v.Get("hold"), Cursor: v.Get("cursor")}
	var err error
	for name, vals := range v {
		if !historyParams[name] {
			return q, &lock.FieldError{Field: printableName(name), Message: "is not a history filter (scope, kind, actor, action, hold, since, until, limit, cursor)"}
		}
		if len(vals) > 1 {
			return q, &lock.FieldError{Field: name, Message: "is given more than once"}
		}
	}
	if q.HoldID != "" {
		if err := lock.ValidateID(q.HoldID); err != nil {
			return q, &lock.FieldError{Field: "hold", Message: err.(*lock.FieldError).Message}
		}
	}
	if q.Actor != "" {
		if err := token.ValidateSubject(q.Actor); err != nil {
			return q, &lock.FieldError{Field: "actor", Message: strings.Replace(err.Error(), "sub", "actor", 1)}
		}
	}
	if q.Action != "" {
		if _, ok := knownActions[q.Action]; !ok {
			return q, &lock.FieldError{Field: "action", Message: fmt.Sprintf("%s is not an action (created, amended, released, expired, refreshed, would_trip, would_clear, deleted)", strconv.QuoteToASCII(string(q.Action)))}
		}
	}
	if s := v.Get("scope"); s != "" {
		if q.Scope, err = lock.ParseScope(s); err != nil {
			return q, err
		}
	}
	if k := v.Get("kind"); k == string(lock.KindWindow) {
		q.Kind = lock.KindWindow // the history of windows, which are no hold
	} else if k != "" {
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
