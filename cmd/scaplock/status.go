package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdStatus shows the service's state: verdicts, holds, overrides, gate, health.
func cmdStatus(ctx context.Context, c *cli, args []string) int {
	return showRead(ctx, c, args, "status", "/api/v1/status", func(st apiv1.StatusResponse) {
		printStatus(c.stdout, st, c.now())
	})
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

// show sends r and prints the service's answer as it came (asJSON), or
// what text makes of it: how every command that shows one answer ends.
func show[T any](ctx context.Context, c *cli, r request, want int, asJSON bool, text func(T)) int {
	var v T
	a, err := c.call(ctx, r, want, &v)
	switch {
	case err != nil:
		return c.fail(err)
	case asJSON:
		printAnswer(c.stdout, a.body)
	default:
		text(v)
	}
	return exitOK
}

// showRead is a read command whose one flag is --json (status, window
// list): it GETs path and shows the answer.
func showRead[T any](ctx context.Context, c *cli, args []string, command, path string, text func(T)) int {
	fs := c.newFlagSet(strings.Fields(command)[0], command+" [--json]", "")
	asJSON := fs.Bool("json", false, "print the service's JSON answer as it came (compact, one line)")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	return show(ctx, c, request{method: http.MethodGet, path: path}, http.StatusOK, *asJSON, text)
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
