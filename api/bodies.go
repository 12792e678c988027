package api

import (
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// The request bodies are the wire contract's (package apiv1).
type (
	HoldBody    = apiv1.HoldBody
	AmendBody   = apiv1.AmendBody
	ReleaseBody = apiv1.ReleaseBody
	DeployBody  = apiv1.DeployBody
)

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

// parseAmendBody decodes an amend body; lock validates the amendment.
func parseAmendBody(body []byte) (lock.Amendment, error) {
	var b AmendBody
	if err := decodeJSON(body, &b); err != nil {
		return lock.Amendment{}, err
	}
	d, err := lock.ParseDuration("duration", b.Duration)
	if err != nil {
		return lock.Amendment{}, err
	}
	if b.Duration != "" && d == 0 {
		d = -1 // "0s" is a duration given, and not a positive one: lock says so
	}
	return lock.Amendment{Reason: b.Reason, Duration: d}, nil
}

// parseJSON decodes a body that needs no more than decoding.
func parseJSON[T any](body []byte) (T, error) {
	var v T
	err := decodeJSON(body, &v)
	return v, err
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
	req := lock.DeployRequest{Scope: scope, Reason: b.Reason}
	if b.TTL != "" {
		// The bounds are lock's (AcquireDeploy); "0s" is given, not defaulted.
		if req.TTL, err = lock.ParseDuration("ttl", b.TTL); err != nil {
			return lock.DeployRequest{}, err
		}
		if req.TTL == 0 {
			req.TTL = -1
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
