package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// pageBench is one line of `go test -bench` output for the page: its
// sub-benchmark and its cases (cluster count, fold open); pageMetric one
// of its metrics (go test prints them in name order).
var (
	pageBench  = regexp.MustCompile(`^Benchmark(PageFirstPaint|PageUpdate)/(clusters=\d+(?:,fold=open)?)-\d+\s`)
	pageMetric = regexp.MustCompile(`([\d.]+) ((?:put-|page-)?(?:p50|max)-ms)`)
)

// pageSamples is web's pageSamples: a p50 and a worst case of 20.
const pageSamples = 20

// pageAtClusters runs the page's Chromium benchmarks (web/fleet_test.go:
// Debian's chromium against an in-process scaplockd) at 2 and 100
// clusters and reports first paint and the time to apply an update, each
// as a p50 and a worst case of pageSamples; the worst is held against the
// target.
func pageAtClusters(ctx context.Context, _ string) []Row {
	const figure = "page at 100 clusters"
	cmd := exec.CommandContext(ctx, "go", "test", "./web", "-run", "^$", "-bench", "PageFirstPaint|PageUpdate", "-benchtime", fmt.Sprintf("%dx", pageSamples), "-count", "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return []Row{failed(figure, fmt.Errorf("go test ./web -bench: %v: %s", err, lastLines(out, 5)))}
	}
	return pageRows(out)
}

// pageRows reads the page benchmarks' `go test -bench` output into the
// report's rows; a case missing from out is a row that says so.
func pageRows(out []byte) []Row {
	type key struct{ what, cases string }
	got := map[key]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := pageBench.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v := map[string]float64{}
		for _, mm := range pageMetric.FindAllStringSubmatch(sc.Text(), -1) {
			v[mm[2]], _ = strconv.ParseFloat(mm[1], 64)
		}
		got[key{m[1], m[2]}] = v
	}
	var rows []Row
	for _, c := range []struct {
		what, cases, label string
		limit              time.Duration
	}{
		{"PageFirstPaint", "clusters=2", "page first paint (navigation → first rendered frame with verdicts and health), Chromium, 2 clusters", time.Second},
		{"PageFirstPaint", "clusters=100", "— 100 clusters", time.Second},
		{"PageUpdate", "clusters=2", "page applies an update (a cluster's report written to etcd → first rendered frame showing it), Chromium, 2 clusters", 50 * time.Millisecond},
		{"PageUpdate", "clusters=100", "— 100 clusters (the 99 healthy folded)", 50 * time.Millisecond},
		{"PageUpdate", "clusters=100,fold=open", "— 100 clusters, the fold open (every box on the page)", 50 * time.Millisecond},
	} {
		name := fmt.Sprintf("%s, p50 / max of %d", c.label, pageSamples)
		v, ok := got[key{c.what, c.cases}]
		if !ok {
			rows = append(rows, failed(name, fmt.Errorf("no Benchmark%s/%s line in: %s", c.what, c.cases, lastLines(out, 5))))
			continue
		}
		value := fmt.Sprintf("%.1f ms / %.1f ms", v["p50-ms"], v["max-ms"])
		if put, ok := v["put-max-ms"]; ok {
			value += fmt.Sprintf(" (of which the etcd write: %.1f / %.1f ms; the page, from taking up the message to the frame: %.1f / %.1f ms)",
				v["put-p50-ms"], put, v["page-p50-ms"], v["page-max-ms"])
		}
		ms := float64(c.limit) / float64(time.Millisecond)
		rows = append(rows, check(name, value, fmt.Sprintf("≤ %s", c.limit), v["max-ms"] <= ms))
	}
	return rows
}

// lastLines is the end of a command's output, for an error.
func lastLines(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
