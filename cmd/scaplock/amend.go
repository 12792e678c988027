package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdAmend changes a manual hold's reason or expiry.
func cmdAmend(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("amend", "amend ID [--reason R] [--for D]",
		`ID is the hold's id or a unique prefix of it. --for sets the expiry to D
from now (it can shorten or extend the hold). Give at least one of the two.`)
	reason := fs.String("reason", "", "the new reason")
	dur := durationOpt(fs, "for", 0, "expire this long from now")
	asJSON := jsonFlag(fs)
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	reasonSet := false
	fs.Visit(func(f *flag.Flag) { reasonSet = reasonSet || f.Name == "reason" })
	switch {
	case len(pos) != 1:
		return usageError(fs, "exactly one hold ID is required, got %d arguments", len(pos))
	case !reasonSet && *dur == 0:
		return usageError(fs, "nothing to amend: give --reason or --for")
	case *dur < 0:
		return usageError(fs, "--for must be positive, got %s", formatDuration(*dur))
	}
	id, err := c.resolveID(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	body := apiv1.AmendBody{Duration: durationString(*dur)}
	if reasonSet {
		body.Reason = reason
	}
	r := request{method: http.MethodPatch, path: holdPath("holds", id), body: body}
	return show(ctx, c, r, http.StatusOK, *asJSON, func(h apiv1.Hold) {
		fmt.Fprintf(c.stdout, "amended hold %s on %s: %s, expires %s\n", safe(h.ID), safe(string(h.Scope)), quote(h.Reason), until(c.now(), h.ExpiresAt))
	})
}
