package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/scaplock/scaplock/server"
)

// demoDefaults point an unconfigured demo at loopback and a fresh data
// dir, so it never mixes with a real ./scaplock-data. cleanup removes that
// data dir (tens of MB of etcd files) when the demo ends.
func demoDefaults() (defaults map[string]string, cleanup func(), err error) {
	cleanup = func() {}
	d := map[string]string{"SCAPLOCK_LISTEN": "127.0.0.1:8080", "SCAPLOCK_LOG_FORMAT": "text"}
	if _, set := os.LookupEnv("SCAPLOCK_DATA_DIR"); !set {
		dir, err := os.MkdirTemp("", "scaplock-demo-")
		if err != nil {
			return nil, cleanup, err
		}
		d["SCAPLOCK_DATA_DIR"] = dir
		cleanup = func() { os.RemoveAll(dir) }
	}
	return d, cleanup, nil
}

// runDemo serves until ctx ends, telling the user what to open and try once
// the server is bound (so the banner never points at a port not yet open,
// or one another process holds).
func runDemo(ctx context.Context, cfg server.Config, d *server.Demo, log *slog.Logger, stderr io.Writer) int {
	srv, err := server.Start(ctx, cfg, log, server.WithGate(d.Gate))
	if err != nil {
		log.Error("scaplockd failed", "err", err)
		return exitFailed
	}
	announceDemo(stderr, srv.URL(), srv.SecretFile, d)
	<-ctx.Done()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	if err := srv.Stop(); err != nil {
		log.Error("scaplockd failed", "err", err)
		return exitFailed
	}
	return 0
}

func announceDemo(w io.Writer, url, secret string, d *server.Demo) {
	fmt.Fprintf(w, `
  scaplock demo: a simulated eqiad control plane is replaying %s
  at %g× speed (now at %s UTC in the scenario), and the gate is enforcing.

    open      %s/
    try       scaplock --url %s preflight --scope eqiad ; echo "exit $?"
    token     (umask 077; scaplock token --secret-file %s --sub you --roles sre,deployer > you.token)
              export SCAPLOCK_TOKEN_FILE=$PWD/you.token
    override  scaplock --url %s override --scope eqiad --reason "demo" --for 5m

  The first deploy-driven CPU burst arrives within a minute. Ctrl-C stops the demo
  and removes its temporary data.

`, d.Scenario.Name(), server.DefaultDemo.Compression, d.WallClock().Format("15:04:05"), url, url, filepath.Clean(secret), url)
}
