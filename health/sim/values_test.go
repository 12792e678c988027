package sim

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestAtIsDeterministic(t *testing.T) {
	a := mustLoad(t, "incident-2024-05-28")
	b := mustLoad(t, "incident-2024-05-28") // a separate parse must agree too
	for _, h := range a.Hosts() {
		for ti := time.Duration(0); ti < a.Duration(); ti += 7*time.Minute + 13*time.Second {
			if x, y := a.At(h, ti), b.At(h, ti); x != y {
				t.Fatalf("At(%s, %v) differs between parses: %+v vs %+v", h, ti, x, y)
			}
			if x, y := a.At(h, ti), a.At(h, ti); x != y {
				t.Fatalf("At(%s, %v) differs between calls", h, ti)
			}
		}
	}
}

func TestNoiseDependsOnSeed(t *testing.T) {
	a, err := Parse([]byte(minimalScenario + "seed: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(minimalScenario + "seed: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	// minimalScenario has no noise: both must be exactly the baseline.
	if a.At("a", time.Minute).CPU != 0.5 || b.At("a", time.Minute).CPU != 0.5 {
		t.Fatalf("no noise configured, want cpu exactly 0.5")
	}
	noisy := func(seed string) *Scenario {
		s, err := Parse([]byte(minimalScenario[:len(minimalScenario)-2] + ", noise: 0.1}\nseed: " + seed + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	x, y := noisy("1"), noisy("2")
	same := 0
	for i := range 60 {
		ti := time.Duration(i) * time.Second
		vx, vy := x.At("a", ti).CPU, y.At("a", ti).CPU
		if vx < 0.45 || vx > 0.55 {
			t.Fatalf("cpu %v at %v outside baseline 0.5 ± 10%%", vx, ti)
		}
		if vx == vy {
			same++
		}
	}
	if same > 2 {
		t.Errorf("seeds 1 and 2 gave the same cpu in %d of 60 seconds", same)
	}
}

func TestIncidentScript(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	tests := []struct {
		name  string
		host  string
		at    time.Duration
		check func(Values) bool
	}{
		{"deploy burst peak on 1001", "kubemaster1001", 12*time.Minute + 20*time.Second,
			func(v Values) bool { return v.CPU > 0.9 && v.ReadyzLatency > time.Second }},
		{"quiet between deploys", "kubemaster1001", 9 * time.Minute,
			func(v Values) bool { return v.CPU < 0.6 && v.ReadyzLatency < 500*time.Millisecond }},
		{"NIC saturated at 14:30", "kubemaster1002", 2*time.Hour + 30*time.Minute,
			func(v Values) bool {
				return v.LinkSpeedBytes == 1.25e8 && v.NICUtilisation() > 0.9 && v.Retransmits > 5000
			}},
		{"10G host not saturated at 14:30", "kubemaster1001", 2*time.Hour + 30*time.Minute,
			func(v Values) bool { return v.NICUtilisation() < 0.2 && v.Retransmits < 100 }},
		{"first probe failure 12:50", "kubemaster1002", 50 * time.Minute,
			func(v Values) bool { return v.ReadyzStatus == http.StatusServiceUnavailable }},
		{"second probe failure 13:25 no answer", "kubemaster1002", 85 * time.Minute,
			func(v Values) bool { return v.ReadyzStatus == 0 }},
		{"1001 answers during 1002's failure", "kubemaster1001", 85 * time.Minute,
			func(v Values) bool { return v.ReadyzStatus == http.StatusOK }},
		{"latency creeps up", "kubemaster1001", 3 * time.Hour,
			func(v Values) bool {
				return v.ReadyzLatency > s.At("kubemaster1001", 2*time.Minute).ReadyzLatency*3
			}},
		{"recovered at 15:30 on a 10G link", "kubemaster1002", 3*time.Hour + 30*time.Minute,
			func(v Values) bool {
				return v.LinkSpeedBytes == 1.25e9 && v.NICUtilisation() < 0.2 && v.Retransmits < 100 &&
					v.CPU < 0.5 && v.ReadyzLatency < 100*time.Millisecond
			}},
		{"past the end holds the final values", "kubemaster1002", 9 * time.Hour,
			func(v Values) bool { return v == s.At("kubemaster1002", s.Duration()-time.Nanosecond) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v := s.At(tc.host, tc.at); !tc.check(v) {
				t.Errorf("At(%s, %v) = %+v", tc.host, tc.at, v)
			}
		})
	}
}

func TestHealthyStaysBelowWarn(t *testing.T) {
	s := mustLoad(t, "healthy")
	l := DefaultLimits()
	if s.Limits() != l {
		t.Fatalf("healthy overrides the default limits: %+v", s.Limits())
	}
	for _, h := range s.Hosts() {
		for ti := time.Duration(0); ti <= s.Duration(); ti += 5 * time.Second {
			v := s.At(h, ti)
			if v.CPU >= l.CPU.Warn || v.Retransmits >= l.Retransmits.Warn ||
				v.NICUtilisation() >= l.NICUtilisation.Warn || v.ReadyzLatency >= l.ReadyzLatency.Warn ||
				v.ReadyzStatus != http.StatusOK {
				t.Fatalf("At(%s, %v) = %+v reaches a warn limit", h, ti, v)
			}
		}
	}
}

func TestFlappingCrossesLimits(t *testing.T) {
	s := mustLoad(t, "flapping")
	var aboveCrit, belowWarn int
	for ti := 2 * time.Minute; ti < 58*time.Minute; ti += 5 * time.Second {
		switch cpu := s.At("kubemaster1001", ti).CPU; {
		case cpu > 0.9:
			aboveCrit++
		case cpu < 0.8:
			belowWarn++
		}
	}
	// ~14 cycles of 4m: each spends ~70 s above 0.9 and some time below 0.8.
	if aboveCrit < 100 || belowWarn < 20 {
		t.Errorf("cpu samples above crit %d, below warn %d; want it to cross both repeatedly", aboveCrit, belowWarn)
	}
}

func TestCurveEval(t *testing.T) {
	tests := []struct {
		name string
		c    curve
		off  time.Duration
		want float64
	}{
		{"constant", curve{Kind: curveConstant, A: 3}, time.Minute, 3},
		{"ramp start", curve{Kind: curveRamp, A: 1, B: 3}, 0, 1},
		{"ramp middle", curve{Kind: curveRamp, A: 1, B: 3}, 5 * time.Minute, 2},
		{"wave start at midpoint", curve{Kind: curveWave, A: 1, B: 3, Period: 4 * time.Minute}, 0, 2},
		{"wave quarter at max", curve{Kind: curveWave, A: 1, B: 3, Period: 4 * time.Minute}, time.Minute, 3},
		{"wave three quarters at min", curve{Kind: curveWave, A: 1, B: 3, Period: 4 * time.Minute}, 3 * time.Minute, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.eval(tc.off, 10*time.Minute); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("eval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnknownHost(t *testing.T) {
	s := mustLoad(t, "healthy")
	if v := s.At("nope", time.Minute); v != (Values{}) {
		t.Errorf("At(unknown) = %+v, want zero", v)
	}
	if c := s.Counters("nope", time.Minute, 1); c != (Counters{}) {
		t.Errorf("Counters(unknown) = %+v, want zero", c)
	}
}
