package health

import (
	"reflect"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

const (
	host1 = "kubemaster1001.eqiad.wmnet:6443"
	host2 = "kubemaster1002.eqiad.wmnet:6443"
	step  = 5 * time.Second
)

var t0 = time.Date(2024, 5, 28, 12, 49, 0, 0, time.UTC)

func testCluster() Cluster {
	return Cluster{
		Name: "eqiad",
		APIServers: []APIServer{
			{URL: "https://kubemaster1001.eqiad.wmnet:6443"},
			{URL: "https://kubemaster1002.eqiad.wmnet:6443"},
		},
		Thresholds:           DefaultThresholds,
		TripAfter:            3,
		ClearAfter:           4,
		MinHold:              0,
		MinBreachingHosts:    1,
		MaxConsecutiveErrors: 3,
		OnError:              OnErrorIgnore,
	}
}

func smp(host string, sig Signal, v float64) Sample {
	return Sample{Host: host, Signal: sig, Value: v}
}

func failed(host string, sig Signal) Sample {
	return Sample{Host: host, Signal: sig, Err: "connection refused"}
}

// healthy is a round where both hosts are well below warn.
func healthy() []Sample {
	return []Sample{smp(host1, SignalLatency, 0.05), smp(host1, SignalCPU, 0.3), smp(host2, SignalLatency, 0.05), smp(host2, SignalCPU, 0.3)}
}

// with replaces or adds samples in a healthy round.
func with(extra ...Sample) []Sample {
	out := healthy()
	for _, e := range extra {
		replaced := false
		for i := range out {
			if out[i].Host == e.Host && out[i].Signal == e.Signal {
				out[i], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

func repeat(n int, round []Sample) [][]Sample {
	out := make([][]Sample, n)
	for i := range out {
		out[i] = round
	}
	return out
}

func concat(parts ...[][]Sample) [][]Sample {
	var out [][]Sample
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// run evaluates rounds step apart from t0, starting from prev.
func run(prev State, c Cluster, rounds [][]Sample) []State {
	var states []State
	for i, r := range rounds {
		prev = Evaluate(prev, r, c, t0.Add(time.Duration(i)*step))
		states = append(states, prev)
	}
	return states
}

// statuses writes each state's status as one letter: O ok, D degraded, U unknown.
func statuses(states []State) string {
	var b strings.Builder
	for _, s := range states {
		b.WriteString(map[Status]string{StatusOK: "O", StatusDegraded: "D", StatusUnknown: "U"}[s.Status])
	}
	return b.String()
}

func TestEvaluateStatus(t *testing.T) {
	cpuCrit := with(smp(host2, SignalCPU, 0.95))
	cpuWarn := with(smp(host2, SignalCPU, 0.85))
	bothCrit := with(smp(host1, SignalCPU, 0.95), smp(host2, SignalLatency, 1.5))
	readyzDown := with(failed(host2, SignalLatency))
	latencySevere := with(smp(host2, SignalLatency, 2.4))
	allDown := with(failed(host1, SignalLatency), failed(host2, SignalLatency))
	cpuSaturated := with(smp(host1, SignalCPU, 0.995))
	sourceDown := with(failed(host1, SignalCPU))
	blind := []Sample{failed(host1, SignalCPU), failed(host2, SignalCPU)}

	tests := []struct {
		name   string
		modify func(*Cluster)
		prev   State
		rounds [][]Sample
		want   string
	}{
		{
			name:   "fresh cluster with healthy data is ok at once",
			rounds: repeat(2, healthy()),
			want:   "OO",
		},
		{
			name:   "trips only after trip_after evaluations at crit",
			rounds: concat(repeat(1, healthy()), repeat(4, cpuCrit)),
			want:   "OOODD",
		},
		{
			name:   "a blip shorter than trip_after does not trip",
			rounds: [][]Sample{cpuCrit, cpuCrit, healthy(), cpuCrit, cpuCrit, healthy()},
			want:   "OOOOOO",
		},
		{
			name:   "a failing readyz is a breach",
			rounds: repeat(4, readyzDown),
			want:   "OODD",
		},
		{
			name:   "readyz at 2x crit (the default severe level) trips at once",
			rounds: concat(repeat(2, healthy()), repeat(1, latencySevere), repeat(2, healthy())),
			want:   "OODDD",
		},
		{
			name:   "readyz failing on every apiserver trips at once",
			rounds: concat(repeat(1, healthy()), repeat(1, allDown), repeat(1, healthy())),
			want:   "ODD",
		},
		{
			name:   "readyz failing on one of two apiservers waits for trip_after",
			rounds: concat(repeat(1, healthy()), repeat(2, readyzDown), repeat(1, healthy())),
			want:   "OOOO",
		},
		{
			name:   "cpu has no severe level by default",
			rounds: concat(repeat(2, cpuSaturated), repeat(1, healthy())),
			want:   "OOO",
		},
		{
			name:   "a configured cpu severe level trips at once",
			modify: func(c *Cluster) { c.Thresholds.CPU.Severe = 0.99 },
			rounds: concat(repeat(1, healthy()), repeat(1, cpuSaturated)),
			want:   "OD",
		},
		{
			name:   "a severe sample on one host does not trip with min_breaching_hosts 2",
			modify: func(c *Cluster) { c.MinBreachingHosts = 2 },
			rounds: concat(repeat(1, latencySevere), repeat(1, allDown)),
			want:   "OD",
		},
		{
			name:   "clears after clear_after evaluations below warn",
			rounds: concat(repeat(3, cpuCrit), repeat(5, healthy())),
			want:   "OODDDDOO",
		},
		{
			name:   "a value between warn and crit keeps it degraded",
			rounds: concat(repeat(3, cpuCrit), repeat(8, cpuWarn), repeat(5, healthy())),
			want:   "OO" + "D" + strings.Repeat("D", 8) + "DDDOO",
		},
		{
			name:   "min_hold keeps it degraded after clear_after",
			modify: func(c *Cluster) { c.MinHold = time.Minute },
			// Tripped at t0+10s; healthy from t0+15s; min_hold ends at t0+70s (round 14).
			rounds: concat(repeat(3, cpuCrit), repeat(13, healthy())),
			want:   "OO" + strings.Repeat("D", 12) + "OO",
		},
		{
			name:   "one host at crit does not trip with min_breaching_hosts 2",
			modify: func(c *Cluster) { c.MinBreachingHosts = 2 },
			rounds: concat(repeat(5, cpuCrit), repeat(3, bothCrit)),
			want:   "OOOOOOOD",
		},
		{
			name:   "source errors with on_error ignore do not trip",
			rounds: repeat(6, sourceDown),
			want:   "OOOOOO",
		},
		{
			name:   "source errors with on_error hold trip after max_consecutive_errors",
			modify: func(c *Cluster) { c.OnError = OnErrorHold },
			rounds: concat(repeat(4, sourceDown), repeat(4, healthy())),
			want:   "OODDDDDO",
		},
		{
			name:   "source errors keep a degraded cluster degraded",
			rounds: concat(repeat(3, cpuCrit), repeat(10, sourceDown)),
			want:   "OO" + strings.Repeat("D", 11),
		},
		{
			name:   "no usable data makes an ok cluster unknown after max_consecutive_errors",
			rounds: concat(repeat(1, healthy()), repeat(4, blind)),
			want:   "OOOUU",
		},
		{
			name:   "no usable data never clears a degraded cluster",
			rounds: concat(repeat(3, cpuCrit), repeat(6, blind), repeat(1, nil)),
			want:   "OO" + strings.Repeat("D", 8),
		},
		{
			name:   "no data at all stays unknown",
			rounds: [][]Sample{nil, blind, nil, blind},
			want:   "UUUU",
		},
		{
			name:   "a restart under an auto hold stays degraded until it clears",
			prev:   State{Cluster: "eqiad", Status: StatusDegraded, TrippedAt: t0.Add(-time.Hour)},
			rounds: concat(repeat(3, cpuWarn), repeat(4, healthy())),
			want:   "DDDDDDO",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster()
			if tt.modify != nil {
				tt.modify(&c)
			}
			states := run(tt.prev, c, tt.rounds)
			if got := statuses(states); got != tt.want {
				for i, s := range states {
					t.Logf("round %d: %s crit=%d clear=%d err=%d %s", i, s.Status, s.CritStreak, s.ClearStreak, s.ErrorStreak, s.Reason)
				}
				t.Errorf("statuses = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEvaluateHandBuiltCluster(t *testing.T) {
	c := Cluster{Name: "eqiad", Thresholds: DefaultThresholds} // every count zero
	states := run(State{}, c, [][]Sample{healthy(), healthy(), with(smp(host1, SignalCPU, 0.95))})
	if got := statuses(states); got != "OOD" {
		t.Errorf("statuses = %s, want OOD (zero counts act as 1)", got)
	}
}

func TestEvaluateCountsErrorsApartFromBreaches(t *testing.T) {
	c := testCluster()
	states := run(State{}, c, repeat(4, with(failed(host1, SignalCPU), smp(host2, SignalCPU, 0.95))))
	last := states[len(states)-1]
	if last.ErrorStreak != 4 || last.CritStreak != 4 {
		t.Errorf("error streak %d crit streak %d, want 4 and 4", last.ErrorStreak, last.CritStreak)
	}
	h1, _ := last.Host(host1)
	if got := h1.Signals[SignalCPU].Level; got != LevelError {
		t.Errorf("host1 cpu level = %s, want error", got)
	}
	h2, _ := last.Host(host2)
	if got := h2.Signals[SignalCPU].Level; got != LevelCrit {
		t.Errorf("host2 cpu level = %s, want crit", got)
	}

	readyz := run(State{}, c, repeat(3, with(failed(host1, SignalLatency))))
	if got := readyz[2]; got.ErrorStreak != 0 || got.Status != StatusDegraded {
		t.Errorf("readyz failures: error streak %d status %s, want 0 and degraded", got.ErrorStreak, got.Status)
	}
}

func TestEvaluateReasons(t *testing.T) {
	hold := testCluster()
	hold.OnError = OnErrorHold
	hold.MinHold = time.Minute
	tests := []struct {
		name   string
		c      Cluster
		rounds [][]Sample
		want   string
	}{
		{"no data", testCluster(), [][]Sample{nil}, "health unknown: no data yet"},
		{"healthy", testCluster(), repeat(1, healthy()), "control plane healthy"},
		{"before tripping", testCluster(), repeat(2, with(smp(host2, SignalCPU, 0.98))),
			"control plane healthy; at crit for 2 of 3 evaluations before tripping: kubemaster1002:6443  CPU 98% (limit 90%)  since 12:49:00 UTC"},
		{"exactly at the limit is at crit, and says so", testCluster(), repeat(2, with(smp(host2, SignalCPU, 0.9))),
			"control plane healthy; at crit for 2 of 3 evaluations before tripping: kubemaster1002:6443  CPU 90% (at the limit)  since 12:49:00 UTC"},
		{"rounded to the limit", testCluster(), repeat(2, with(smp(host2, SignalCPU, 0.9031))),
			"control plane healthy; at crit for 2 of 3 evaluations before tripping: kubemaster1002:6443  CPU 90% (at the limit)  since 12:49:00 UTC"},
		{"just below the limit is warn", testCluster(), repeat(1, with(smp(host1, SignalCPU, 0.8999))),
			"control plane healthy; warn: kubemaster1001:6443 CPU 90% (warn 80%)"},
		{"warn", testCluster(), repeat(1, with(smp(host1, SignalCPU, 0.85))),
			"control plane healthy; warn: kubemaster1001:6443 CPU 85% (warn 80%)"},
		{"tripped", testCluster(), repeat(4, with(smp(host2, SignalLatency, 4.2), smp(host1, SignalCPU, 0.95))),
			"control plane degraded: kubemaster1001:6443  CPU 95% (limit 90%)  since 12:49:00 UTC (and 1 more host)"},
		{"sources failing with hold", hold, repeat(3, with(failed(host1, SignalCPU))),
			"control plane degraded: metric sources failing for 3 evaluations: kubemaster1001:6443 cpu: connection refused"},
		{"recovering", hold, concat(repeat(3, with(smp(host2, SignalCPU, 0.95))), repeat(2, healthy())),
			"control plane degraded: recovering, healthy for 2/4 evaluations, held at least until 12:50:10 UTC"},
		{"unknown", testCluster(), repeat(3, []Sample{failed(host1, SignalCPU)}),
			"health unknown: no usable data, metric sources failing for 3 evaluations: kubemaster1001:6443 cpu: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := run(State{}, tt.c, tt.rounds)
			if got := states[len(states)-1].Reason; got != tt.want {
				t.Errorf("reason\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBreaching(t *testing.T) {
	c := testCluster()
	// kubemaster1002 goes bad at t0 and stays bad; 45 s later (round 9) it
	// is the refusal message's example.
	bad := with(smp(host2, SignalLatency, 4.2), smp(host2, SignalCPU, 0.98), smp(host2, SignalRetransmits, 6012))
	states := run(State{}, c, repeat(10, bad))
	s := states[9]
	got := s.Breaching()
	want := []apiv1.SignalReading{
		{Cluster: "eqiad", APIServer: host2, Signal: SignalLatency, Level: LevelCrit, Value: 4.2, Limit: 1, Unit: apiv1.UnitSeconds, Since: t0},
		{Cluster: "eqiad", APIServer: host2, Signal: SignalCPU, Level: LevelCrit, Value: 0.98, Limit: 0.9, Unit: apiv1.UnitRatio, Since: t0},
		{Cluster: "eqiad", APIServer: host2, Signal: SignalRetransmits, Level: LevelCrit, Value: 6012, Limit: 1000, Unit: apiv1.UnitPerSecond, Since: t0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Breaching()\n got %+v\nwant %+v", got, want)
	}
	line := "kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  TCP retransmits 6012/s (limit 1000/s)  for 45s"
	if got := apiv1.HostLine(got, s.UpdatedAt, true); got != line {
		t.Errorf("HostLine\n got %q\nwant %q", got, line)
	}
	if want := "control plane degraded: kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  TCP retransmits 6012/s (limit 1000/s)  since 12:49:00 UTC"; s.Reason != want {
		t.Errorf("reason\n got %q\nwant %q", s.Reason, want)
	}

	down := run(State{}, c, repeat(3, with(Sample{Host: host1, Signal: SignalLatency, Value: 3, Err: "timeout after 3s"})))
	if got := apiv1.HostLine(down[2].Breaching(), down[2].UpdatedAt, true); got != "kubemaster1001:6443  readyz failed (timeout after 3s)  for 10s" {
		t.Errorf("the line of a failing readyz = %q", got)
	}
	if got := run(State{}, c, repeat(1, healthy()))[0].Breaching(); len(got) != 0 {
		t.Errorf("Breaching() of a healthy cluster = %+v, want none", got)
	}
}

func TestEvaluateSinceAndRecent(t *testing.T) {
	c := testCluster()
	rounds := concat(repeat(2, healthy()), repeat(3, with(smp(host1, SignalCPU, 0.95))), repeat(1, healthy()))
	states := run(State{}, c, rounds)

	s := states[4]
	h1, _ := s.Host(host1)
	if got := h1.Signals[SignalCPU].Since; !got.Equal(t0.Add(2 * step)) {
		t.Errorf("cpu crit since %s, want %s", got, t0.Add(2*step))
	}
	if !s.Since.Equal(t0.Add(4*step)) || !s.TrippedAt.Equal(t0.Add(4*step)) {
		t.Errorf("status since %s tripped %s, want both at round 4", s.Since, s.TrippedAt)
	}
	last := states[5]
	if got := last.Peak(host1, SignalCPU); got != 0.95 {
		t.Errorf("Peak = %v, want the burst's 0.95 after it ended", got)
	}
	if got := last.Peak("nohost:1", SignalCPU); got != 0 {
		t.Errorf("Peak of an unknown host = %v, want 0", got)
	}
	h1, _ = last.Host(host1)
	if n := len(h1.Signals[SignalCPU].Recent); n != 6 {
		t.Errorf("recent holds %d points, want 6", n)
	}

	many := run(State{}, c, repeat(RecentSamples+10, healthy()))
	h1, _ = many[len(many)-1].Host(host1)
	if n := len(h1.Signals[SignalLatency].Recent); n != RecentSamples {
		t.Errorf("recent holds %d points, want at most %d", n, RecentSamples)
	}
}

func TestEvaluateDoesNotChangePrev(t *testing.T) {
	c := testCluster()
	prev := run(State{}, c, repeat(3, healthy()))[2]
	h1, _ := prev.Host(host1)
	before := append([]Point(nil), h1.Signals[SignalCPU].Recent...)

	a := Evaluate(prev, with(smp(host1, SignalCPU, 0.5)), c, t0.Add(time.Minute))
	b := Evaluate(prev, with(smp(host1, SignalCPU, 0.7)), c, t0.Add(time.Minute))

	h1, _ = prev.Host(host1)
	if got := h1.Signals[SignalCPU].Recent; len(got) != len(before) || got[len(got)-1] != before[len(before)-1] {
		t.Errorf("prev's recent changed: %v, was %v", got, before)
	}
	ha, _ := a.Host(host1)
	hb, _ := b.Host(host1)
	ra, rb := ha.Signals[SignalCPU].Recent, hb.Signals[SignalCPU].Recent
	if ra[len(ra)-1].Value != 0.5 || rb[len(rb)-1].Value != 0.7 {
		t.Errorf("two evaluations from one prev share their recent samples: %v %v", ra[len(ra)-1], rb[len(rb)-1])
	}
}

func TestEvaluateKeepsSignalsWithoutSample(t *testing.T) {
	c := testCluster()
	states := run(State{}, c, [][]Sample{with(smp(host1, SignalRetransmits, 700)), healthy()})
	h1, _ := states[1].Host(host1)
	if st, ok := h1.Signals[SignalRetransmits]; !ok || st.Level != LevelWarn {
		t.Errorf("retransmits without a sample = %+v, want the last state (warn)", st)
	}
}
