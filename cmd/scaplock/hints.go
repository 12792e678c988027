package main

import (
	"fmt"
	"io"
	"strings"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// refusalHint is the CLI's own next step for a refusal, from its first
// refusing reason: the service's message names no command of the CLI.
func refusalHint(reasons []apiv1.Reason) string {
	for _, r := range reasons {
		if !r.Refuses {
			continue
		}
		switch {
		case r.Override:
			return fmt.Sprintf(`override (SRE): scaplock override --scope %s --reason "..."`, r.Scope)
		case r.Kind == apiv1.ReasonManual:
			return fmt.Sprintf(`unlock (SRE): scaplock unlock %s --reason "..."`, r.HoldID)
		case r.Kind == apiv1.ReasonDeploy:
			return "wait for it: the same command with --wait 10m"
		}
		return ""
	}
	return ""
}

// printRefusal writes the service's refusal message as it is, then the
// CLI's hint on a line of its own.
func printRefusal(w io.Writer, message string, reasons []apiv1.Reason) {
	fmt.Fprint(w, safeLines(message))
	if !strings.HasSuffix(message, "\n") {
		fmt.Fprintln(w)
	}
	if h := refusalHint(reasons); h != "" {
		fmt.Fprintf(w, "  %s\n", safe(h))
	}
}
