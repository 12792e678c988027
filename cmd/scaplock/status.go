package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdStatus shows the service's state: verdicts, holds, overrides, gate, health.
func cmdStatus(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("status", "status [--json]", "")
	asJSON := fs.Bool("json", false, "print the service's JSON answer as it came (compact, one line)")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	var st apiv1.StatusResponse
	a, err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/status"}, http.StatusOK, &st)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		printAnswer(c.stdout, a.body)
		return exitOK
	}
	printStatus(c.stdout, st, c.now())
	return exitOK
}

// printStatus writes the human summary of st.
func printStatus(w io.Writer, st apiv1.StatusResponse, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range st.Verdicts {
		if v.Allowed {
			fmt.Fprintf(tw, "%s\tDEPLOYS ALLOWED\n", safe(string(v.Scope)))
		} else {
			fmt.Fprintf(tw, "%s\tDEPLOYS REFUSED\t%s\n", safe(string(v.Scope)), safe(v.Summary))
		}
	}
	tw.Flush()

	fmt.Fprintln(w)
	if len(st.Holds) == 0 {
		fmt.Fprintln(w, "holds: none")
	} else {
		fmt.Fprintln(w, "holds:")
		printHolds(w, st.Holds, now)
	}
	if len(st.Overrides) > 0 {
		fmt.Fprintln(w, "\noverrides (automatic holds in these scopes do not count):")
		printHolds(w, st.Overrides, now)
	}
	printUnguarded(w, st.Unguarded, now)

	leader := st.Gate.Leader
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(w, "\ngate: mode %s, leader %s\n", safe(st.Gate.Mode), safe(leader))
	if len(st.Health) > 0 {
		fmt.Fprintln(w, "health:")
		clusters := make([]string, 0, len(st.Health))
		for cl := range st.Health {
			clusters = append(clusters, cl)
		}
		slices.Sort(clusters)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, cl := range clusters {
			fmt.Fprintf(tw, "  %s\t%s\n", safe(cl), safe(healthLine(st.Health[cl])))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "revision %d at %s\n", st.Revision, apiv1.When(now, st.Time))
}

func printHolds(w io.Writer, holds []apiv1.Hold, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tKIND\tSCOPE\tOWNER\tSINCE\tEXPIRES\tREASON")
	for _, h := range holds {
		expires := until(now, h.ExpiresAt)
		if h.Kind == apiv1.KindDeploy && h.TTL > 0 {
			expires = fmt.Sprintf("lease %s", time.Duration(h.TTL))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(h.ShortID()), safe(string(h.Kind)), safe(string(h.Scope)), safe(h.Owner),
			apiv1.When(now, h.CreatedAt), expires, quote(h.Reason))
	}
	tw.Flush()
}

// printAnswer writes the service's JSON answer as it came (compact, one
// line): what every --json prints.
func printAnswer(w io.Writer, body []byte) {
	w.Write(body)
	if !bytes.HasSuffix(body, []byte("\n")) {
		fmt.Fprintln(w)
	}
}

// printJSON writes v indented, for the bridge's /state.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
