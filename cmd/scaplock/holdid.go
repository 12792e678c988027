package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// fullIDLen is the length of a hold id (8 random bytes in hex).
const fullIDLen = 16

// resolveID turns the short id that messages and status show ("7f3a")
// into the full id of a hold, by listing the holds.
func (c *cli) resolveID(ctx context.Context, id string) (string, error) {
	return c.resolve(ctx, "hold", id)
}

// resolveWindowID is resolveID for windows.
func (c *cli) resolveWindowID(ctx context.Context, id string) (string, error) {
	return c.resolve(ctx, "window", id)
}

// resolve turns a short id into the full id of the hold or window (what)
// it names, by listing them. A full-length id is returned unasked; an
// exact match (the gate's "auto-eqiad") wins over prefixes.
func (c *cli) resolve(ctx context.Context, what, id string) (string, error) {
	if len(id) >= fullIDLen {
		return id, nil
	}
	type listed struct {
		ID string `json:"id"`
	}
	// GET /api/v1/holds answers holds, GET /api/v1/windows windows.
	var list struct {
		Holds   []listed `json:"holds"`
		Windows []listed `json:"windows"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/" + what + "s"}, http.StatusOK, &list); err != nil {
		return "", err
	}
	var ids []string
	for _, l := range append(list.Holds, list.Windows...) {
		ids = append(ids, l.ID)
	}
	return matchID(what, id, ids)
}

// matchID is the one of ids that id names: itself, or the only one it
// is a prefix of.
func matchID(what, id string, ids []string) (string, error) {
	var found []string
	for _, full := range ids {
		if full == id {
			return id, nil
		}
		if strings.HasPrefix(full, id) {
			found = append(found, full)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", &apiError{status: http.StatusNotFound, body: errorBody("not_found", fmt.Sprintf("no %s id starts with %q", what, id))}
	}
	return "", &apiError{status: http.StatusBadRequest, body: errorBody("invalid", fmt.Sprintf("%q matches %ss %s: give more of the id", id, what, strings.Join(found, ", ")))}
}

// holdPath is the API path of a hold id under collection ("holds", ...).
func holdPath(collection, id string) string {
	return "/api/v1/" + collection + "/" + url.PathEscape(id)
}
