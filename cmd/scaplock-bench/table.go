package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// Verdict is how a row's value compares with its target.
type Verdict int

const (
	NoTarget Verdict = iota // a figure for context (a baseline, a count)
	Met
	Missed
	NotMeasured // the figure could not be measured; Value says why
)

func (v Verdict) mark() string {
	return [...]string{"", "✓", "✗", "not measured"}[v]
}

// Row is one figure of the report.
type Row struct {
	Figure, Value, Target string
	Verdict               Verdict
}

// check is a row whose verdict is ok's.
func check(figure, value, target string, ok bool) Row {
	v := Missed
	if ok {
		v = Met
	}
	return Row{Figure: figure, Value: value, Target: target, Verdict: v}
}

// info is a row without a target.
func info(figure, value string) Row { return Row{Figure: figure, Value: value, Target: "—"} }

// failed is a row that could not be measured.
func failed(figure string, err error) Row {
	return Row{Figure: figure, Value: "not measured: " + err.Error(), Target: "—", Verdict: NotMeasured}
}

// Table is the whole report.
type Table struct {
	Rows []Row
	Note string // where and when it was measured
}

// Failed reports whether some figure could not be measured.
func (t Table) Failed() bool {
	for _, r := range t.Rows {
		if r.Verdict == NotMeasured {
			return true
		}
	}
	return false
}

var header = [4]string{"figure", "value", "target", "✓/✗"}

// Text is the table for a terminal.
func (t Table) Text() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header[:], "\t"))
	for _, r := range t.Rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Figure, r.Value, r.Target, r.Verdict.mark())
	}
	w.Flush()
	if t.Note != "" {
		b.WriteString(t.Note + "\n")
	}
	return b.String()
}

// Markdown is the table as a GitHub-flavoured Markdown document.
func (t Table) Markdown() string {
	var b strings.Builder
	b.WriteString("# scaplock benchmark report\n\n")
	if t.Note != "" {
		b.WriteString(t.Note + "\n\n")
	}
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	fmt.Fprintf(&b, "| %s |\n|---|---|---|:-:|\n", strings.Join(header[:], " | "))
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Figure), cell(r.Value), cell(r.Target), r.Verdict.mark())
	}
	return b.String()
}

// machine says what the figures were measured on.
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadAvg is the machine's 1-minute load average now: the figures of a
// shared machine depend on it.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}
