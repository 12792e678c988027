package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/scaplock/scaplock/server"
)

// demoDefaults point an unconfigured demo at loopback and a fresh data
// dir, so it never mixes with a real ./scaplock-data.
func demoDefaults() (map[string]string, error) {
	d := map[string]string{"SCAPLOCK_LISTEN": "127.0.0.1:8080", "SCAPLOCK_LOG_FORMAT": "text"}
	if _, set := os.LookupEnv("SCAPLOCK_DATA_DIR"); !set {
		dir, err := os.MkdirTemp("", "scaplock-demo-")
		if err != nil {
			return nil, err
		}
		d["SCAPLOCK_DATA_DIR"] = dir
	}
	return d, nil
}

// announceDemo tells the user what to open and what to try, once the
// server answers.
func announceDemo(ctx context.Context, cfg server.Config, d *server.Demo) {
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port)
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 100*time.Millisecond); err == nil {
			c.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	secret := filepath.Join(cfg.DataDir, "jwt.secret")
	fmt.Fprintf(os.Stderr, `
  scaplock demo: a simulated eqiad control plane is replaying %s
  at %g× speed (now at %s UTC in the scenario), and the gate is enforcing.

    open      %s/
    try       scaplock --url %s preflight --scope eqiad ; echo "exit $?"
    token     export SCAPLOCK_TOKEN=$(scaplock token --secret-file %s --sub you --roles sre,deployer)
    override  scaplock --url %s override --scope eqiad --reason "demo" --for 5m

  The first deploy-driven CPU burst arrives within a minute. Ctrl-C stops the demo.

`, d.Scenario.Name(), server.DefaultDemo.Compression, d.WallClock().Format("15:04:05"), url, url, secret, url)
}
