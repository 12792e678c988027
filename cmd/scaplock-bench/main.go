// Command scaplock-bench measures scaplock on this machine and prints one
// table: the lock service's latencies and throughput against raw etcd, the
// gate's reaction times, probe load with three replicas, detection on each
// simulated scenario against two baseline detectors, the daemon's memory
// and the status page's weight. Every figure comes from this run. With
// -report it also writes the table as Markdown.
//
// It exits 1 when a figure could not be measured (the row says why), 2 on
// bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	report := flag.String("report", "", "also write the table as Markdown to this path")
	only := flag.String("only", "", "run only the figures whose names contain one of these comma-separated words (e.g. -only 'health path,CLI')")
	serve := flag.String("serve", "", "internal: run one server (bare or scaplockd) for a figure measured from another process")
	flag.Parse()
	if *serve != "" {
		if err := serveChild(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "scaplock-bench -serve:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "scaplock-bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	var t Table
	for _, f := range figures {
		if !selected(f.name, *only) {
			continue
		}
		progress("%s ...", f.name)
		start := time.Now()
		rows := f.runInScratchDir(ctx)
		progress("%s done in %s", f.name, time.Since(start).Round(100*time.Millisecond))
		t.Rows = append(t.Rows, rows...)
	}
	t.Note = fmt.Sprintf("scaplock-bench, %s, %s, whole run %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine(), time.Since(began).Round(time.Second))
	fmt.Print(t.Text())
	if *report != "" {
		if err := os.WriteFile(*report, []byte(t.Markdown()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "scaplock-bench:", err)
			os.Exit(1)
		}
		progress("report written to %s", *report)
	}
	if t.Failed() {
		os.Exit(1)
	}
}

// figure is one section of the report. run gets a scratch folder of its
// own, removed when it returns.
type figure struct {
	name string
	run  func(ctx context.Context, dir string) []Row
}

func (f figure) runInScratchDir(ctx context.Context) []Row {
	dir, err := os.MkdirTemp("", "scaplock-bench-")
	if err != nil {
		return []Row{failed(f.name, err)}
	}
	defer os.RemoveAll(dir)
	return f.run(ctx, dir)
}

// figures run in this order; each one starts and stops what it measures.
var figures = []figure{
	{"lock service", lockService},
	{"linearizable preflight vs bare handler", linearizableVerdicts},
	{"gate reaction", gateReaction},
	{"probe load with 3 replicas", probeLoad},
	{"detection", detection},
	{"creep SLO alerts", creepSLO},
	{"memory", memory},
	{"CLI size", cliSize},
	{"CLI as a hook", cliHook},
	{"health path", healthPath},
	{"scap bridge", scapBridge},
	{"window bridge", windowBridge},
	{"embedded 3-replica cluster", embeddedCluster},
	{"history at full retention", historyLoad},
	{"soak", soak},
	{"fleet", fleetLoad},
	{"storm", storm},
	{"holds elsewhere", holdsElsewhere},
	{"outcome recording cost", outcomeCost},
	{"page at 100 clusters", pageAtClusters},
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// selected reports whether the figure called name is asked for by only.
func selected(name, only string) bool {
	if only == "" {
		return true
	}
	for w := range strings.SplitSeq(only, ",") {
		if w = strings.TrimSpace(w); w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}
