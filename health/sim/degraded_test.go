package sim

import (
	"strings"
	"testing"
	"time"
)

func TestIncidentGroundTruth(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	deg := s.Degraded()

	hasWindow := func(from, to time.Duration, why string) bool {
		for _, iv := range deg {
			if iv.Host == "kubemaster1002" && iv.From == from && iv.To == to && strings.Contains(iv.Why, why) {
				return true
			}
		}
		return false
	}
	if !hasWindow(49*time.Minute, 52*time.Minute+10*time.Second, "status 503") {
		t.Error("ground truth lacks the 12:49 probe-failure window")
	}
	if !hasWindow(83*time.Minute, 91*time.Minute, "not answering") {
		t.Error("ground truth lacks the 13:23 probe-failure window")
	}

	var nicSaturation bool
	for _, iv := range deg {
		if iv.Host == "kubemaster1002" && strings.HasPrefix(iv.Why, "NIC egress") &&
			iv.Contains(2*time.Hour+10*time.Minute) && iv.Contains(3*time.Hour+11*time.Minute) {
			nicSaturation = true
		}
		if iv.To <= iv.From {
			t.Errorf("empty interval %+v", iv)
		}
	}
	if !nicSaturation {
		t.Error("ground truth lacks kubemaster1002's sustained NIC saturation 14:10-15:12")
	}

	var inside []time.Duration
	for _, d := range s.Deploys() {
		if len(Covering(deg, d)) > 0 {
			inside = append(inside, d)
		}
	}
	// A retry during the previous deploy's burst, one in each failure window,
	// and the 14:22 deploy during the NIC saturation.
	for _, want := range []time.Duration{16*time.Minute + 15*time.Second, 50 * time.Minute, 86 * time.Minute, 142 * time.Minute} {
		found := false
		for _, d := range inside {
			found = found || d == want
		}
		if !found {
			t.Errorf("deploy at %v is not inside a degraded interval; inside: %v", want, inside)
		}
	}
	if len(inside) == len(s.Deploys()) {
		t.Error("every deploy is inside degradation; the scenario should also have safe deploys")
	}
}

func TestDeployBurstsFollowDeploys(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	for _, d := range s.Deploys()[:20] {
		for _, h := range s.Hosts() {
			found := false
			for _, iv := range s.Degraded() {
				if iv.Host == h && iv.From == d+10*time.Second && strings.HasPrefix(iv.Why, "deploy burst") {
					if l := iv.To - iv.From; l < 10*time.Second || l > 40*time.Second {
						t.Errorf("burst after %v on %s lasts %v, want 10-40s", d, h, l)
					}
					found = true
				}
			}
			if !found {
				t.Errorf("no burst on %s 10s after the deploy at %v", h, d)
			}
		}
	}
}

func TestHealthyHasNoDegradation(t *testing.T) {
	s := mustLoad(t, "healthy")
	if len(s.bursts) == 0 {
		t.Fatal("healthy has no deploy bursts; the check below would prove nothing")
	}
	// Its deploy bursts are mild (55% CPU), so none counts as degradation.
	if deg := s.Degraded(); len(deg) != 0 {
		t.Errorf("healthy is degraded: %+v", deg)
	}
}

func TestMildBurstIsNotDegraded(t *testing.T) {
	s, err := Parse([]byte(minimalScenario + `bursts:
  - {host: a, at: 1m, length: 30s, cpu: 0.85}
  - {host: a, at: 2m, length: 30s, readyz_latency: 1500ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	deg := s.Degraded()
	if len(deg) != 1 || deg[0].From != 2*time.Minute || deg[0].To != 2*time.Minute+30*time.Second {
		t.Errorf("Degraded() = %+v, want only the latency burst at 2m", deg)
	}
}

func TestFlappingSustainedBreaches(t *testing.T) {
	s := mustLoad(t, "flapping")
	var cpu, retrans, latency int
	for _, iv := range s.Degraded() {
		if iv.To-iv.From < s.Limits().Sustain {
			t.Errorf("interval shorter than sustain: %+v", iv)
		}
		switch {
		case strings.HasPrefix(iv.Why, "cpu above crit"):
			cpu++
		case strings.HasPrefix(iv.Why, "TCP retransmits above crit"):
			retrans++
		case strings.HasPrefix(iv.Why, "readyz latency above crit"):
			latency++
		}
	}
	// 56 minutes of a 4m CPU wave on 2 hosts, 50m of a 5m retransmit wave,
	// 40m of a 3m latency wave.
	if cpu < 20 || retrans < 8 || latency < 10 {
		t.Errorf("sustained breaches: cpu %d, retransmits %d, latency %d; want many of each", cpu, retrans, latency)
	}
}

// The harmful rule of scenarios/README.md, burst by burst.
func TestHarmfulRule(t *testing.T) {
	s, err := Parse([]byte(minimalScenario + `bursts:
  - {host: a, at: 1m, length: 12s, cpu: 0.97, readyz_latency: 400ms}
  - {host: a, at: 2m, length: 12s, cpu: 0.99, readyz_latency: 1s}
  - {host: a, at: 3m, length: 30s, cpu: 0.95}
  - {host: a, at: 4m, length: 29s, cpu: 0.99}
  - {host: a, at: 5m, length: 40s, retransmits: 3000}
probe_failures:
  - {host: a, from: 6m, to: 6m5s, status: 503}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Duration]bool{
		1 * time.Minute: false, // a 12 s CPU spike, readyz below crit: harmless (the 16:08 backport)
		2 * time.Minute: true,  // readyz at crit: the deploy tool times out
		3 * time.Minute: true,  // CPU above crit for sustain (30 s): stalls a helmfile apply
		4 * time.Minute: false, // one second short of sustain
		5 * time.Minute: true,  // retransmits above crit for sustain
		6 * time.Minute: true,  // any probe failure
	}
	got := map[time.Duration]bool{}
	for _, iv := range s.Degraded() {
		got[iv.From] = iv.Harmful
	}
	for at, harmful := range want {
		h, ok := got[at]
		if !ok || h != harmful {
			t.Errorf("interval at %v: present %v harmful %v, want harmful %v", at, ok, h, harmful)
		}
	}
}

// On the incident, the deploy bursts before the fix (readyz 2 s) are
// harmful and those after it (readyz 400 ms, 5-15 s of CPU) are not.
func TestIncidentHarmfulBursts(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	var before, after, harmlessBefore, harmfulAfter int
	for _, iv := range s.Degraded() {
		if !strings.HasPrefix(iv.Why, "deploy burst") {
			continue
		}
		if iv.From < 3*time.Hour+12*time.Minute {
			before++
			if !iv.Harmful {
				harmlessBefore++
			}
		} else {
			after++
			if iv.Harmful {
				harmfulAfter++
			}
		}
	}
	if before == 0 || after == 0 || harmlessBefore != 0 || harmfulAfter != 0 {
		t.Errorf("deploy bursts before the fix %d (%d harmless), after %d (%d harmful); want all before harmful, none after", before, harmlessBefore, after, harmfulAfter)
	}
}
