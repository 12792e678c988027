// Package servertest starts real scaplockd servers in-process, on a free
// loopback port with a quiet log, for tests and the benchmark harness.
package servertest

import (
	"context"
	"log/slog"
	"time"

	"github.com/scaplock/scaplock/api/token"
	"github.com/scaplock/scaplock/server"
)

// Config is scaplockd's configuration from env laid over the loopback
// defaults (127.0.0.1:0, a 5s shutdown bound). env must name
// SCAPLOCK_DATA_DIR unless the caller wants ./scaplock-data.
func Config(ctx context.Context, env map[string]string) (server.Config, error) {
	vars := map[string]string{"SCAPLOCK_LISTEN": "127.0.0.1:0", "SCAPLOCK_SHUTDOWN_TIMEOUT": "5s"}
	for k, v := range env {
		vars[k] = v
	}
	return server.LoadConfig(ctx, vars)
}

// Start starts scaplockd with Config(env) and a discarded log.
func Start(ctx context.Context, env map[string]string) (*server.Server, error) {
	cfg, err := Config(ctx, env)
	if err != nil {
		return nil, err
	}
	return server.Start(ctx, cfg, slog.New(slog.DiscardHandler))
}

// Token mints an HS256 token for sub with roles from a server's secret
// file (Server.SecretFile), valid for two hours.
func Token(secretFile, sub string, roles ...string) (string, error) {
	secret, err := token.ReadSecret(secretFile)
	if err != nil {
		return "", err
	}
	return token.SignHS256(secret, sub, roles, 2*time.Hour, time.Now())
}
