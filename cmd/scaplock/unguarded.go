package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// printUnguarded lists the deploy hosts whose scap bridge a person
// released (status's "unguarded"): they deploy whatever scaplock says.
func printUnguarded(w io.Writer, bridges []apiv1.Bridge, now time.Time) {
	if len(bridges) == 0 {
		return
	}
	fmt.Fprintln(w, "\nUNGUARDED deploy hosts (a person released the scap bridge's lock; scap there deploys whatever scaplock says):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOST\tSCOPES\tSINCE\tBY\tREASON")
	for _, b := range bridges {
		scopes := make([]string, len(b.Scopes))
		for i, s := range b.Scopes {
			scopes[i] = string(s)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", safe(b.Host), safe(strings.Join(scopes, ",")), apiv1.When(now, b.Since), safe(releasedBy(b)), quote(b.Reason))
	}
	tw.Flush()
}

// releasedBy names the person: who scap says, and the signal file's owner.
func releasedBy(b apiv1.Bridge) string {
	who := b.Releaser
	if who == "" {
		who = "someone"
	}
	switch {
	case b.UID != nil && b.User != "":
		who += fmt.Sprintf(" (user %s, uid %d)", b.User, *b.UID)
	case b.UID != nil:
		who += fmt.Sprintf(" (uid %d)", *b.UID)
	}
	return who
}

// bridgeEvent is a bridge event's HOLD and REASON columns in history:
// the host, and for an unlock who released it and why.
func bridgeEvent(e apiv1.Event) (host, reason string) {
	if e.Action == apiv1.ActionBridgeUnlocked {
		return "host " + e.Bridge.Host, "by " + releasedBy(*e.Bridge) + ": " + e.Reason
	}
	return "host " + e.Bridge.Host, e.Reason
}
