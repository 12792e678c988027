package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// windowCommands are window's own subcommands.
var windowCommands = map[string]commandFn{"add": cmdWindowAdd, "list": cmdWindowList, "rm": cmdWindowRm}

// cmdWindow manages deployment windows: add, list, rm.
func cmdWindow(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("window", "window add|list|rm [flags]",
		`A deny window refuses deploys in its scope while it is active (a freeze);
once a scope has allow windows, deploys outside all of them are refused.
"global" windows apply to every scope. An SRE override lets deploys past a
window; manual holds still refuse.
  scaplock window add --scope global --kind deny --schedule "0 18 20 12 *" \
      --for 351h --tz Europe/Berlin --until 2026-12-20 --reason "end of year"
  scaplock window list
  scaplock window rm 7f3a --reason "freeze lifted early"
Run "scaplock window add -h" for each subcommand's flags.`)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, stop, code := parse(fs, args); stop {
			return code
		}
		return usageError(fs, "give a subcommand: add, list or rm")
	}
	sub, ok := windowCommands[args[0]]
	if !ok {
		return usageError(fs, "unknown subcommand %q: add, list or rm", args[0])
	}
	return sub(ctx, c, args[1:])
}

func cmdWindowAdd(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("window", "window add --scope S --kind deny|allow --schedule CRON --for D [--tz ZONE] [--until YYYY-MM-DD] --reason R",
		`--schedule is a 5-field cron expression (minute hour day-of-month month
day-of-week) read on the clock of --tz (an IANA name, UTC by default);
each occurrence lasts --for. --until is the last day an occurrence may
start on. Prints only the new window's id on stdout.`)
	var b apiv1.WindowBody
	fs.StringVar(&b.Scope, "scope", "", `scope: "global" or a cluster (required)`)
	fs.StringVar(&b.Kind, "kind", "", "deny (a freeze) or allow (the deploy calendar) (required)")
	fs.StringVar(&b.Schedule, "schedule", "", `when each occurrence starts, e.g. "0 9 * * 1-4" (required)`)
	dur := durationOpt(fs, "for", 0, "how long each occurrence lasts, e.g. 2h or 14d (required)")
	fs.StringVar(&b.TimeZone, "tz", "", "IANA time zone of the schedule (default UTC)")
	fs.StringVar(&b.Until, "until", "", "last day an occurrence may start on, YYYY-MM-DD")
	fs.StringVar(&b.Reason, "reason", "", "why; refusals name the window by it (required)")
	asJSON := fs.Bool("json", false, "print the service's JSON answer (the window) as it came, compact, instead")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	switch {
	case b.Scope == "":
		return usageError(fs, "--scope is required")
	case b.Kind == "":
		return usageError(fs, "--kind is required: deny or allow")
	case b.Schedule == "":
		return usageError(fs, "--schedule is required")
	case *dur <= 0:
		return usageError(fs, "--for is required and must be positive")
	case b.Reason == "":
		return usageError(fs, "--reason is required")
	}
	b.Duration = dur.String()
	return show(ctx, c, request{method: http.MethodPost, path: "/api/v1/windows", body: b}, http.StatusCreated, *asJSON, func(w apiv1.WindowState) {
		fmt.Fprintln(c.stdout, safe(w.ID))
	})
}

func cmdWindowList(ctx context.Context, c *cli, args []string) int {
	return showRead(ctx, c, args, "window list", "/api/v1/windows", func(resp apiv1.WindowsResponse) {
		printWindows(c.stdout, resp, c.now())
	})
}

// printWindows writes the human table of resp.
func printWindows(out io.Writer, resp apiv1.WindowsResponse, now time.Time) {
	if len(resp.Windows) == 0 {
		fmt.Fprintln(out, "windows: none")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSCOPE\tSCHEDULE\tFOR\tZONE\tNOW\tNEXT\tREASON")
	for _, w := range resp.Windows {
		state := "-"
		if w.Active {
			state = "active, ends " + until(now, w.ActiveEnd)
		}
		next := "none"
		if w.NextStart != nil {
			next = until(now, w.NextStart)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(apiv1.Hold{ID: w.ID}.ShortID()), safe(string(w.Kind)), safe(string(w.Scope)),
			quote(w.Schedule), formatDuration(time.Duration(w.Duration)), safe(w.TimeZone), state, next, quote(w.Reason))
	}
	tw.Flush()
}

func cmdWindowRm(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("window", "window rm ID --reason R", "ID may be the short id that list shows.")
	reason := fs.String("reason", "", "why (required)")
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	switch {
	case len(pos) != 1:
		return usageError(fs, "give one window id")
	case *reason == "":
		return usageError(fs, "--reason is required")
	}
	id, err := c.resolveWindowID(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	var w apiv1.Window
	r := request{method: http.MethodDelete, path: holdPath("windows", id), body: apiv1.ReleaseBody{Reason: *reason}}
	if _, err := c.call(ctx, r, http.StatusOK, &w); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stdout, "removed %s window %s on %s (%s)\n", safe(string(w.Kind)), safe(w.ID), safe(string(w.Scope)), quote(w.Reason))
	return exitOK
}
