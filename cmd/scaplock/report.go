package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdReport prints what deploys did to each cluster's control plane,
// period by period, and the service's flag when the trend reaches the
// headroom.
func cmdReport(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("report",
		"report [--since 30d] [--period 7d] [--headroom 20s] [--json]",
		`Per cluster and week: the deploys, and per deploy the median and 90th
percentile of peak CPU, peak readyz latency and seconds above warn (from the
deploy's start to the end of its cooldown). A cluster whose latest week
spends a median of --headroom or more above warn is flagged.
Durations take Go syntax (12h, 20s) or whole days (30d).`)
	since := durationOpt(fs, "since", 30*apiv1.Day, "how far back")
	period := durationOpt(fs, "period", 7*apiv1.Day, "the length of one row")
	headroom := durationOpt(fs, "headroom", 20*time.Second, "flag a median time above warn per deploy of this or more")
	asJSON := fs.Bool("json", false, "print the service's JSON answer as it came (compact, one line)")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	q := url.Values{}
	for name, d := range map[string]time.Duration{"since": *since, "period": *period, "headroom": *headroom} {
		if d <= 0 {
			return usageError(fs, "--%s must be positive, got %s", name, formatDuration(d))
		}
		q.Set(name, formatDuration(d))
	}
	return show(ctx, c, request{method: http.MethodGet, path: "/api/v1/report", query: q}, http.StatusOK, *asJSON, func(r apiv1.ImpactReport) {
		printReport(c.stdout, r)
	})
}

func printReport(w io.Writer, r apiv1.ImpactReport) {
	printOutcomes(w, r)
	if len(r.Clusters) == 0 {
		fmt.Fprintf(w, "no deploy impact recorded since %s\n", r.Since.UTC().Format("2006-01-02 15:04 UTC"))
		return
	}
	for i, ct := range r.Clusters {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\n", ct.Cluster)
		printPeriods(w, []string{"from", "deploys", "peak CPU p50/p90", "peak readyz p50/p90", "above warn p50/p90", "CPU above warn p50", "readyz above warn p50"},
			ct.Periods, func(p apiv1.ImpactStats) (time.Time, int, []string) {
				return p.From, p.Deploys, []string{
					percent(p.PeakCPU.P50) + " / " + percent(p.PeakCPU.P90), latency(p.PeakLatency.P50) + " / " + latency(p.PeakLatency.P90),
					secs(p.SecondsAboveWarn.P50) + " / " + secs(p.SecondsAboveWarn.P90), secs(p.CPUAboveWarn.P50), secs(p.LatencyAboveWarn.P50),
				}
			})
		if ct.Flag != "" {
			fmt.Fprintf(w, "  ! %s\n", ct.Flag)
		}
	}
}

// printPeriods writes a table of columns, one row a period: its start,
// its deploys, then what row makes of it; a period without deploys shows
// only the first two.
func printPeriods[P any](w io.Writer, columns []string, periods []P, row func(P) (time.Time, int, []string)) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(columns, "\t"))
	for _, p := range periods {
		from, deploys, cells := row(p)
		if deploys == 0 {
			cells = make([]string, len(columns)-2)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", from.UTC().Format("2006-01-02 15:04"), deploys, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func percent(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

func latency(v float64) string {
	return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
}

func secs(v float64) string { return fmt.Sprintf("%.0fs", v) }

// printOutcomes is the deploys' outcomes per period, before the impact:
// whether deploys fail, and whether they failed while a cluster was at warn.
func printOutcomes(w io.Writer, r apiv1.ImpactReport) {
	total := 0
	for _, p := range r.Deploys {
		total += p.Deploys
	}
	if total == 0 {
		return
	}
	fmt.Fprintln(w, "deploys (outcomes recorded by scaplock run)")
	printPeriods(w, []string{"from", "deploys", "failed", "failure ratio", "duration p50/p90"},
		r.Deploys, func(p apiv1.DeployStats) (time.Time, int, []string) {
			return p.From, p.Deploys, []string{strconv.Itoa(p.Failed), percent(p.FailureRatio), minutes(p.Duration.P50) + " / " + minutes(p.Duration.P90)}
		})
	for _, p := range r.Deploys {
		if p.Note != "" {
			fmt.Fprintf(w, "  ! from %s: %s\n", p.From.UTC().Format("2006-01-02"), p.Note)
		}
	}
	fmt.Fprintln(w)
}

func minutes(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
