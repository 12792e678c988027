package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/server/replay"
)

// series is a synthetic host: quiet, except where over says otherwise.
func series(over func(t time.Duration, v *sim.Values)) valuesAt {
	return func(_ string, t time.Duration) sim.Values {
		v := sim.Values{CPU: 0.3, Retransmits: 10, NICBytesPerSec: 1e6, LinkSpeedBytes: 1.25e9,
			ReadyzLatency: 50 * time.Millisecond, ReadyzStatus: http.StatusOK}
		over(t, &v)
		return v
	}
}

func between(t, from, to time.Duration) bool { return t >= from && t < to }

func TestDashboardMissesShortBurstsAndSeesSustainedOnes(t *testing.T) {
	d := dashboardBaseline
	d.Limits = sim.DefaultLimits()
	hosts := []string{"a"}
	cases := []struct {
		name string
		over func(time.Duration, *sim.Values)
		want []replay.Span
	}{
		{"quiet", func(time.Duration, *sim.Values) {}, nil},
		// 40 s at 99% inside the sampled minute averages to 76%.
		{"40s CPU burst", func(t time.Duration, v *sim.Values) {
			if between(t, 5*time.Minute+10*time.Second, 5*time.Minute+50*time.Second) {
				v.CPU = 0.99
			}
		}, nil},
		// A burst outside the sampled minute [2m, 3m) is not drawn at all.
		{"burst between samples", func(t time.Duration, v *sim.Values) {
			if between(t, 60*time.Second, 110*time.Second) {
				v.CPU = 1
			}
		}, nil},
		{"sustained CPU", func(t time.Duration, v *sim.Values) {
			if between(t, 4*time.Minute, 10*time.Minute) {
				v.CPU = 0.95
			}
		}, []replay.Span{{From: 6 * time.Minute, To: 12 * time.Minute}}},
		{"readyz failing counts as the timeout", func(t time.Duration, v *sim.Values) {
			if between(t, 2*time.Minute, 3*time.Minute) {
				v.ReadyzStatus = 0
			}
		}, []replay.Span{{From: 3 * time.Minute, To: 6 * time.Minute}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.Spans(series(c.over), hosts, 15*time.Minute)
			if !equalSpans(got, c.want) {
				t.Fatalf("spans %v, want %v", got, c.want)
			}
		})
	}
}

func TestProbeDownFiresAfterTwoMinutesOfFailures(t *testing.T) {
	p := probeDownBaseline
	hosts := []string{"a", "b"}
	failing := func(from, to time.Duration) func(time.Duration, *sim.Values) {
		return func(t time.Duration, v *sim.Values) {
			if between(t, from, to) {
				v.ReadyzStatus = http.StatusServiceUnavailable
			}
		}
	}
	cases := []struct {
		name string
		over func(time.Duration, *sim.Values)
		want []replay.Span
	}{
		{"quiet", func(time.Duration, *sim.Values) {}, nil},
		// Slow but answering is a successful probe.
		{"slow readyz", func(t time.Duration, v *sim.Values) { v.ReadyzLatency = 2 * time.Second }, nil},
		// Two failed probes of six in the minute (1m10s) start pending; it
		// fires 2m later and resolves once at most one of six failed.
		{"timeout is a failure", func(t time.Duration, v *sim.Values) {
			if between(t, time.Minute, 5*time.Minute) {
				v.ReadyzLatency = 3 * time.Second
			}
		}, []replay.Span{{From: 3*time.Minute + 10*time.Second, To: 5*time.Minute + 40*time.Second}}},
		// The 12:49-12:52 window: 3m10s of failures fire for a while.
		{"3m10s of failures", failing(49*time.Minute, 52*time.Minute+10*time.Second),
			[]replay.Span{{From: 51*time.Minute + 10*time.Second, To: 52*time.Minute + 50*time.Second}}},
		// 90 s of failures never stay pending for 2 minutes.
		{"90s of failures", failing(10*time.Minute, 11*time.Minute+30*time.Second), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := p.Spans(series(c.over), hosts, time.Hour)
			if !equalSpans(got, c.want) {
				t.Fatalf("spans %v, want %v", got, c.want)
			}
		})
	}
}

func TestEpisodesAndCycles(t *testing.T) {
	m := time.Minute
	bursts := []replay.Burst{
		{Span: replay.Span{From: 2 * m, To: 3 * m}}, {Span: replay.Span{From: 6 * m, To: 7 * m}},
		{Span: replay.Span{From: 20 * m, To: 21 * m}},
	}
	eps := episodes(bursts, 5*m)
	want := []replay.Span{{From: 2 * m, To: 7 * m}, {From: 20 * m, To: 21 * m}}
	if !equalSpans(eps, want) {
		t.Fatalf("episodes %v, want %v", eps, want)
	}
	on := []replay.Span{{From: 2 * m, To: 4 * m}, {From: 5 * m, To: 8 * m}, {From: 30 * m, To: 31 * m}}
	got := cyclesPerEpisode(eps, on)
	if len(got) != 2 || got[0] != 2 || got[1] != 0 {
		t.Fatalf("cycles per episode %v, want [2 0]", got)
	}
	if u := replay.Union([]replay.Span{{From: 5, To: 9}, {From: 1, To: 5}, {From: 20, To: 30}, {From: 25, To: 26}}); !equalSpans(u, []replay.Span{{From: 1, To: 9}, {From: 20, To: 30}}) {
		t.Fatalf("union %v", u)
	}
}

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %s, want %s", c.p, got, c.want)
		}
	}
	if xs[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	if percentile(nil, 50) != 0 || median([]time.Duration{7}) != 7 {
		t.Error("empty or single-element input")
	}
}

func TestTableRendering(t *testing.T) {
	tab := Table{Note: "measured here", Rows: []Row{
		check("preflight p99", "2ms", "< 1s", true),
		check("RSS", "170 MB", "≤ 150 MB", false),
		info("a | b", "x"),
	}}
	text := tab.Text()
	for _, want := range []string{"figure", "preflight p99", "✓", "✗", "measured here"} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	md := tab.Markdown()
	for _, want := range []string{"| figure | value | target | ✓/✗ |", "| preflight p99 | 2ms | < 1s | ✓ |", "| RSS | 170 MB | ≤ 150 MB | ✗ |", `| a \| b | x | — |  |`} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if tab.Failed() {
		t.Error("a missed target is not a failure to measure")
	}
	tab.Rows = append(tab.Rows, failed("memory", errTest))
	if !tab.Failed() || !strings.Contains(tab.Text(), "not measured: boom") {
		t.Errorf("an unmeasured row must fail the run and say so:\n%s", tab.Text())
	}
}

var errTest = testError("boom")

type testError string

func (e testError) Error() string { return string(e) }

func equalSpans(a, b []replay.Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
