// Command scaplockd is the scaplock service: configuration from SCAPLOCK_*
// variables, then server.Run until SIGINT or SIGTERM. With --demo it also
// plays a simulated control plane for the gate to watch.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scaplock/scaplock/server"
	"github.com/sethvargo/go-envconfig"
)

func main() {
	demo := flag.Bool("demo", false, "play the 2024-05-28 incident on a simulated control plane, with the gate enforcing against it")
	scenario := flag.String("demo-scenario", server.DefaultDemo.Scenario, "scenario for --demo: healthy, incident-2024-05-28 or flapping")
	offset := flag.Duration("demo-offset", server.DefaultDemo.Offset, "where in the scenario --demo starts (2h10m is 14:10 of the incident)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lookup envconfig.Lookuper = envconfig.OsLookuper()
	if *demo {
		defaults, err := demoDefaults()
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaplockd:", err)
			os.Exit(2)
		}
		// The environment wins; the demo's defaults fill what it leaves unset.
		lookup = envconfig.MultiLookuper(lookup, envconfig.MapLookuper(defaults))
	}
	cfg, err := server.LoadConfig(ctx, lookup)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaplockd: invalid configuration:", err)
		os.Exit(2)
	}
	log := server.NewLogger(os.Stderr, cfg)
	var runOpts []server.Option
	if *demo {
		opts := server.DefaultDemo
		opts.Scenario, opts.Offset = *scenario, *offset
		d, err := server.StartDemo(opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scaplockd: demo:", err)
			os.Exit(2)
		}
		defer d.Close()
		runOpts = append(runOpts, server.WithGate(d.Gate))
		go announceDemo(ctx, cfg, d)
	}
	if err := server.Run(ctx, cfg, log, runOpts...); err != nil {
		log.Error("scaplockd failed", "err", err)
		os.Exit(1)
	}
}
