package health

import (
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestOutcomes(t *testing.T) {
	since := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	ev := func(day int, o apiv1.Outcome, took float64, peaks map[string]apiv1.Level) apiv1.Event {
		return apiv1.Event{Time: since.Add(time.Duration(day) * 24 * time.Hour), Action: apiv1.ActionReleased, Kind: apiv1.KindDeploy,
			DeployOutcome: apiv1.DeployOutcome{Outcome: o, DurationS: &took}, Peaks: peaks}
	}
	warn := map[string]apiv1.Level{"eqiad": apiv1.LevelWarn, "codfw": apiv1.LevelOK}
	crit := map[string]apiv1.Level{"eqiad": apiv1.LevelCrit, "codfw": apiv1.LevelWarn}
	events := []apiv1.Event{
		ev(1, apiv1.OutcomeSucceeded, 210, nil),
		ev(2, apiv1.OutcomeSucceeded, 220, nil),
		{Time: since.Add(3 * 24 * time.Hour), Action: apiv1.ActionReleased}, // a manual release: no outcome
		ev(8, apiv1.OutcomeFailed, 420, warn),
		ev(9, apiv1.OutcomeAbandoned, 600, crit),
		ev(9, apiv1.OutcomeFailed, 430, nil),
		ev(10, apiv1.OutcomeSignalled, 30, warn), // stopped by its deployer: not a failure
		ev(10, apiv1.OutcomeSucceeded, 400, warn),
		ev(13, apiv1.OutcomeFailed, 410, crit),
		ev(30, apiv1.OutcomeFailed, 1, nil), // after until
	}
	got := Outcomes(events, since, since.Add(21*24*time.Hour), Week)
	if len(got) != 3 {
		t.Fatalf("%d periods, want 3", len(got))
	}
	tests := []struct {
		name                  string
		st                    apiv1.DeployStats
		deploys, failed       int
		ratio, p50, p90       float64
		eqiadAtWarn, codfwAtW int
		note                  string
	}{
		{"healthy week", got[0], 2, 0, 0, 210, 220, 0, 0, ""},
		{"failing week", got[1], 6, 4, 4.0 / 5, 410, 600, 3, 2, "3 of 4 failures came while eqiad was at warn or worse; 2 of 4 failures came while codfw was at warn or worse"},
		{"empty week", got[2], 0, 0, 0, 0, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			if wantSignalled := map[string]int{"failing week": 1}[tt.name]; st.Signalled != wantSignalled {
				t.Errorf("signalled %d, want %d", st.Signalled, wantSignalled)
			}
			if st.Deploys != tt.deploys || st.Failed != tt.failed || st.FailureRatio != tt.ratio {
				t.Errorf("deploys %d failed %d ratio %v, want %d %d %v", st.Deploys, st.Failed, st.FailureRatio, tt.deploys, tt.failed, tt.ratio)
			}
			if st.Duration.P50 != tt.p50 || st.Duration.P90 != tt.p90 {
				t.Errorf("duration %+v, want p50 %v p90 %v", st.Duration, tt.p50, tt.p90)
			}
			if st.FailedAtWarn["eqiad"] != tt.eqiadAtWarn || st.FailedAtWarn["codfw"] != tt.codfwAtW || st.Note != tt.note {
				t.Errorf("at warn %v %q, want eqiad %d codfw %d %q", st.FailedAtWarn, st.Note, tt.eqiadAtWarn, tt.codfwAtW, tt.note)
			}
		})
	}
}
