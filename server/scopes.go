package server

import (
	"fmt"
	"strings"

	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// knownScopes are the scopes the service accepts: global, the gate's
// clusters (hc, nil without a gate) and SCAPLOCK_SCOPES.
func knownScopes(cfg Config, hc *health.Config) (lock.KnownScopes, error) {
	var scopes []lock.Scope
	if hc != nil {
		for _, c := range hc.Clusters {
			scopes = append(scopes, lock.Scope(c.Name))
		}
	}
	for _, s := range cfg.Scopes {
		scopes = append(scopes, lock.Scope(strings.TrimSpace(s)))
	}
	k, err := lock.NewKnownScopes(scopes...)
	if err != nil {
		return lock.KnownScopes{}, fmt.Errorf("SCAPLOCK_SCOPES or SCAPLOCK_CLUSTERS_FILE: %w", err)
	}
	return k, nil
}
