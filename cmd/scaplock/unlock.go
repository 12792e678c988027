package main

import "context"

// cmdUnlock releases a manual hold.
func cmdUnlock(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("unlock", "unlock ID --reason R",
		`ID is the hold's id or a unique prefix of it (status shows 4 characters).`)
	reason := fs.String("reason", "", "why it may go now; kept in the history (required)")
	asJSON := jsonFlag(fs)
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	switch {
	case len(pos) != 1:
		return usageError(fs, "exactly one hold ID is required, got %d arguments", len(pos))
	case *reason == "":
		return usageError(fs, "--reason is required")
	}
	return c.releaseHold(ctx, "holds", pos[0], *reason, *asJSON)
}
