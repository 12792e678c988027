package main

import (
	"context"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdOverride creates or cancels an override of the automatic gate.
func cmdOverride(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("override", "override --scope S --reason R --for D | override --cancel ID --reason R",
		`An override makes the gate's automatic holds in its scope not count, for an
emergency deploy while the control plane looks degraded. Manual and deploy
holds still count. It always expires (the service caps --for, 4h by default).
Creating one prints only its id on stdout.`)
	scope := fs.String("scope", "", `scope: "global" or a cluster`)
	reason := fs.String("reason", "", "why (required)")
	dur := durationOpt(fs, "for", 0, "how long the override lasts (required when creating)")
	asJSON := jsonFlag(fs)
	cancel := fs.String("cancel", "", "cancel the override with this id (or unique prefix)")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	switch {
	case *reason == "":
		return usageError(fs, "--reason is required")
	case *cancel != "" && (*scope != "" || *dur != 0):
		return usageError(fs, "--cancel takes only --reason")
	case *cancel != "":
		return c.releaseHold(ctx, "overrides", *cancel, *reason, *asJSON)
	case *scope == "":
		return usageError(fs, "--scope is required")
	case *dur <= 0:
		return usageError(fs, "--for is required and must be positive")
	}
	return c.createHold(ctx, "overrides", apiv1.HoldBody{Scope: *scope, Reason: *reason, Duration: durationString(*dur)}, *asJSON)
}
