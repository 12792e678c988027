package main

import (
	"strings"
	"testing"
)

// benchOut is shaped like the output of `go test ./web -bench
// 'PageFirstPaint|PageUpdate'` at 22:28 UTC, with the 100-cluster update
// changed so that one update row meets its target, and no fold-open line.
const benchOut = `goos: linux
BenchmarkPageFirstPaint/clusters=2-2         	      20	 412345678 ns/op	       545.7 max-ms	       255.8 p50-ms
BenchmarkPageFirstPaint/clusters=100-2       	      20	 512345678 ns/op	       938.3 max-ms	       407.2 p50-ms
BenchmarkPageUpdate/clusters=2-2             	      20	  63576321 ns/op	       129.8 max-ms	        25.50 p50-ms	        35.70 page-max-ms	        18.70 page-p50-ms	       109.6 put-max-ms	         6.500 put-p50-ms
BenchmarkPageUpdate/clusters=100-2           	      20	  67669033 ns/op	        41.90 max-ms	        22.40 p50-ms	        37.70 page-max-ms	        16.70 page-p50-ms	         4.100 put-max-ms	         3.200 put-p50-ms
PASS
`

func TestPageRows(t *testing.T) {
	rows := pageRows([]byte(benchOut))
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5: %+v", len(rows), rows)
	}
	for i, want := range []struct {
		figure, value string
		verdict       Verdict
	}{
		{"2 clusters, p50 / max of 20", "255.8 ms / 545.7 ms", Met},
		{"— 100 clusters, p50 / max of 20", "407.2 ms / 938.3 ms", Met},
		{"2 clusters, p50 / max of 20", "25.5 ms / 129.8 ms (of which the etcd write: 6.5 / 109.6 ms; the page, from taking up the message to the frame: 18.7 / 35.7 ms)", Missed},
		{"— 100 clusters (the 99 healthy folded), p50 / max of 20", "22.4 ms / 41.9 ms (of which the etcd write: 3.2 / 4.1 ms; the page, from taking up the message to the frame: 16.7 / 37.7 ms)", Met},
		{"the fold open", "not measured: no BenchmarkPageUpdate/clusters=100,fold=open line", NotMeasured},
	} {
		t.Run(want.figure, func(t *testing.T) {
			r := rows[i]
			if !strings.Contains(r.Figure, want.figure) {
				t.Errorf("figure %q, want it to name %q", r.Figure, want.figure)
			}
			if !strings.HasPrefix(r.Value, want.value) {
				t.Errorf("value %q, want %q", r.Value, want.value)
			}
			if r.Verdict != want.verdict {
				t.Errorf("verdict %v, want %v (value %q, target %q)", r.Verdict, want.verdict, r.Value, r.Target)
			}
		})
	}
}
