package server

import "github.com/scaplock/scaplock/health"

// Option sets what the environment does not: configuration built as values
// by the demo, the bench and tests.
type Option func(*options)

type options struct {
	gate *health.Config
}

// WithGate runs the gate with hc instead of reading SCAPLOCK_CLUSTERS_FILE.
// Defaults are the caller's to apply (health.Config.WithDefaults); hc is
// validated as a clusters file is.
func WithGate(hc health.Config) Option {
	return func(o *options) { o.gate = &hc }
}
