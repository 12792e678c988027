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
// sub-benchmark and its cluster count; pageMetric one of its metrics
// (go test prints them in name order).
var (
	pageBench  = regexp.MustCompile(`^Benchmark(PageFirstPaint|PageUpdate)/clusters=(\d+)`)
	pageMetric = regexp.MustCompile(`([\d.]+) (ms/paint|ms/update|max-ms)`)
)

// pageAtClusters runs the page's Chromium benchmarks (web/fleet_test.go:
// Debian's chromium against an in-process scaplockd) at 2 and 100
// clusters and reports first paint and the time to apply an update.
func pageAtClusters(ctx context.Context, _ string) []Row {
	const figure = "page at 100 clusters"
	cmd := exec.CommandContext(ctx, "go", "test", "./web", "-run", "^$", "-bench", "PageFirstPaint|PageUpdate", "-benchtime", "5x", "-count", "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return []Row{failed(figure, fmt.Errorf("go test ./web -bench: %v: %s", err, lastLines(out, 5)))}
	}
	type key struct {
		what     string
		clusters int
	}
	got := map[key][2]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := pageBench.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		var v [2]float64 // mean, max
		for _, mm := range pageMetric.FindAllStringSubmatch(sc.Text(), -1) {
			x, _ := strconv.ParseFloat(mm[1], 64)
			if mm[2] == "max-ms" {
				v[1] = x
			} else {
				v[0] = x
			}
		}
		got[key{m[1], n}] = v
	}
	var rows []Row
	for _, c := range []struct {
		what, label string
		limit       time.Duration
	}{
		{"PageFirstPaint", "page first paint (navigation → first frame with verdicts and health), Chromium", time.Second},
		{"PageUpdate", "page applies an update (a cluster's report written to etcd → first frame showing it), Chromium", 50 * time.Millisecond},
	} {
		for _, n := range []int{2, 100} {
			v, ok := got[key{c.what, n}]
			name := fmt.Sprintf("%s, %d clusters, mean / max of 5", c.label, n)
			if !ok {
				rows = append(rows, failed(name, fmt.Errorf("no Benchmark%s/clusters=%d line in: %s", c.what, n, lastLines(out, 5))))
				continue
			}
			ms := float64(c.limit) / float64(time.Millisecond)
			rows = append(rows, check(name, fmt.Sprintf("%.1f ms / %.1f ms", v[0], v[1]), fmt.Sprintf("≤ %s", c.limit), v[1] <= ms))
		}
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
