package sim

import (
	"testing"
	"time"
)

// In the creep, deploys slow as the bursts' CPU grows (84 % -> 99 %) and
// fail only in the harmful weeks.
func TestDeployOutcomeFollowsTheCreep(t *testing.T) {
	s, err := Load("creep-3-months")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at       time.Duration
		failed   bool
		from, to time.Duration
	}{
		{time.Minute, false, CalmSync, CalmSync + time.Minute},    // week 0: CPU 84 %
		{71 * time.Minute, false, 4 * time.Minute, SaturatedSync}, // week 7: 93 %
		{101 * time.Minute, true, SaturatedSync - 10*time.Second, SaturatedSync},
	}
	var last time.Duration
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			failed, took := s.DeployOutcome(tt.at)
			if failed != tt.failed || took < tt.from || took > tt.to || took <= last {
				t.Errorf("DeployOutcome(%s) = %v, %s; want %v, %s..%s and longer than the earlier %s", tt.at, failed, took, tt.failed, tt.from, tt.to, last)
			}
			last = took
		})
	}
	calm, err := Load("healthy")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range calm.Deploys() {
		if failed, took := calm.DeployOutcome(at); failed || took != CalmSync {
			t.Errorf("healthy deploy at %s: %v, %s; want success in %s", at, failed, took, CalmSync)
		}
	}
}
