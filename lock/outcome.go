package lock

import (
	"math"
	"slices"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Actions written besides a hold's own changes.
const (
	ActionDeployImpact = apiv1.ActionDeployImpact
	ActionSynced       = apiv1.ActionSynced
)

// DeployOutcome is how a deploy's command ended; see apiv1.DeployOutcome.
type DeployOutcome = apiv1.DeployOutcome

// ValidateOutcome checks the outcome fields of a deploy's release: all
// three or none, a known outcome, an exit code a process can have, a
// finite duration within apiv1.MaxDeployDuration.
func ValidateOutcome(o DeployOutcome) error {
	switch {
	case !o.Given():
		return nil
	case o.Outcome == "":
		return invalid("outcome", "is required with exit_code and duration_s (one of %v)", apiv1.Outcomes)
	case !slices.Contains(apiv1.Outcomes, o.Outcome):
		return invalid("outcome", "%q is not one of %v", o.Outcome, apiv1.Outcomes)
	case o.ExitCode == nil:
		return invalid("exit_code", "is required with outcome")
	case *o.ExitCode < 0 || *o.ExitCode > 255:
		return invalid("exit_code", "%d is outside 0..255", *o.ExitCode)
	case o.DurationS == nil:
		return invalid("duration_s", "is required with outcome")
	case math.IsNaN(*o.DurationS) || *o.DurationS < 0 || *o.DurationS > apiv1.MaxDeployDuration:
		return invalid("duration_s", "%v is outside 0..%v", *o.DurationS, apiv1.MaxDeployDuration)
	case o.Outcome == apiv1.OutcomeSucceeded && *o.ExitCode != 0:
		return invalid("exit_code", "%d with outcome succeeded", *o.ExitCode)
	}
	return nil
}

// ReleaseOutcome is what a deploy's release records besides its reason.
type ReleaseOutcome struct {
	DeployOutcome
	// Peaks are the worst level each cluster reached while the deploy ran.
	Peaks map[string]apiv1.Level
}

// on puts o on the release's event; a nil o leaves it as it is.
func (o *ReleaseOutcome) on(e Event) Event {
	if o != nil {
		e.DeployOutcome, e.Peaks = o.DeployOutcome, o.Peaks
	}
	return e
}

func (o *ReleaseOutcome) validate() error {
	if o == nil {
		return nil
	}
	if !o.Given() {
		return invalid("outcome", "is required on a release that records one")
	}
	return ValidateOutcome(o.DeployOutcome)
}
