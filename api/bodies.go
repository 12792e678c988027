package api

import (
	"time"

	"github.com/scaplock/scaplock/lock"
)

// HoldBody is the body of POST /api/v1/holds and POST /api/v1/overrides.
type HoldBody struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	// Duration in Go syntax ("2h"); empty means until released (holds only).
	Duration string `json:"duration,omitempty"`
}

// AmendBody is the body of PATCH /api/v1/holds/{id}.
type AmendBody struct {
	Reason   *string `json:"reason,omitempty"`
	Duration string  `json:"duration,omitempty"`
}

// ReleaseBody is the body of DELETE /api/v1/holds/{id} and friends.
type ReleaseBody struct {
	Reason string `json:"reason"`
}

// DeployBody is the body of POST /api/v1/deploys.
type DeployBody struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	// TTL is the lease time-to-live, 30s by default.
	TTL string `json:"ttl,omitempty"`
	// Wait queues the request up to this long for the scope to be free.
	Wait string `json:"wait,omitempty"`
}

// MaxDeployWait bounds how long a deploy request may queue.
const MaxDeployWait = time.Hour

// holdInput is a validated HoldBody.
type holdInput struct {
	scope    lock.Scope
	reason   string
	duration time.Duration
}

// parseHoldBody decodes and validates a hold body. needDuration makes the
// duration mandatory (overrides always end).
func parseHoldBody(body []byte, max time.Duration, needDuration bool) (holdInput, error) {
	var b HoldBody
	if err := decodeJSON(body, &b); err != nil {
		return holdInput{}, err
	}
	scope, err := lock.ParseScope(b.Scope)
	if err != nil {
		return holdInput{}, err
	}
	if err := lock.ValidateReason(b.Reason); err != nil {
		return holdInput{}, err
	}
	d, err := lock.ParseDuration("duration", b.Duration)
	if err != nil {
		return holdInput{}, err
	}
	if b.Duration != "" || needDuration {
		if err := lock.ValidateDuration("duration", d, max); err != nil {
			return holdInput{}, err
		}
	}
	return holdInput{scope: scope, reason: b.Reason, duration: d}, nil
}

// parseDeployBody decodes and validates a deploy body.
func parseDeployBody(body []byte) (lock.DeployRequest, error) {
	var b DeployBody
	if err := decodeJSON(body, &b); err != nil {
		return lock.DeployRequest{}, err
	}
	scope, err := lock.ParseScope(b.Scope)
	if err != nil {
		return lock.DeployRequest{}, err
	}
	if err := lock.ValidateReason(b.Reason); err != nil {
		return lock.DeployRequest{}, err
	}
	req := lock.DeployRequest{Scope: scope, Reason: b.Reason, TTL: lock.DefaultDeployTTL}
	if b.TTL != "" {
		if req.TTL, err = lock.ParseDuration("ttl", b.TTL); err != nil {
			return lock.DeployRequest{}, err
		}
		if req.TTL < 2*time.Second || req.TTL > time.Hour {
			return lock.DeployRequest{}, &lock.FieldError{Field: "ttl", Message: req.TTL.String() + " is outside 2s..1h"}
		}
	}
	if b.Wait != "" {
		if req.Wait, err = lock.ParseDuration("wait", b.Wait); err != nil {
			return lock.DeployRequest{}, err
		}
		if err := lock.ValidateDuration("wait", req.Wait, MaxDeployWait); err != nil {
			return lock.DeployRequest{}, err
		}
	}
	return req, nil
}
