// Command scaplockd is the scaplock service: configuration from SCAPLOCK_*
// variables, then server.Run until SIGINT or SIGTERM. With --demo it also
// plays a simulated control plane for the gate to watch.
//
//	scaplockd [--demo ...]     run the service
//	scaplockd check-config     validate the environment and the files it names, start nothing
//	scaplockd healthcheck      exit 0 if the local scaplockd's /readyz answers 200
//	scaplockd --version        print the version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/scaplock/scaplock/server"
)

// version and revision are set by the Makefile (-ldflags -X main.version=...);
// without them, the Go toolchain's VCS stamp or "dev".
var version, revision = "dev", ""

// Exit codes.
const (
	exitFailed = 1 // started, then failed (etcd, listener, ...)
	exitConfig = 2 // invalid configuration or usage; nothing was started
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	build := server.ReadBuildInfo(version, revision)
	if len(args) > 0 {
		switch args[0] {
		case "check-config":
			return checkConfig(args[1:], stdout, stderr)
		case "healthcheck":
			return healthcheck(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("scaplockd", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: scaplockd [flags]\n       scaplockd check-config\n       scaplockd healthcheck [--path /readyz]\n\nConfiguration is read from SCAPLOCK_* variables (README.md, docs/production.md).\n\nflags:\n")
		fs.PrintDefaults()
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	demo := fs.Bool("demo", false, "play the 2024-05-28 incident on a simulated control plane, with the gate enforcing against it")
	scenario := fs.String("demo-scenario", server.DefaultDemo.Scenario, "scenario for --demo: healthy, incident-2024-05-28 or flapping")
	offset := fs.Duration("demo-offset", server.DefaultDemo.Offset, "where in the scenario --demo starts (2h10m is 14:10 of the incident)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scaplockd: unexpected argument %q (subcommands: check-config, healthcheck)\n", fs.Arg(0))
		return exitConfig
	}
	if *showVersion {
		fmt.Fprintln(stdout, "scaplockd", build)
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := server.Environ()
	if *demo {
		defaults, cleanup, err := demoDefaults()
		if err != nil {
			fmt.Fprintln(stderr, "scaplockd:", err)
			return exitConfig
		}
		defer cleanup()
		// The environment wins; the demo's defaults fill what it leaves unset.
		for k, v := range defaults {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
	}
	cfg, err := server.LoadConfig(ctx, env)
	if err != nil {
		printConfigErrors(stderr, err)
		return exitConfig
	}
	cfg.Build = build
	log := server.NewLogger(stderr, cfg)
	server.ApplyMemoryLimit(cfg, log)
	if *demo {
		opts := server.DefaultDemo
		opts.Scenario, opts.Offset = *scenario, *offset
		d, err := server.StartDemo(opts)
		if err != nil {
			fmt.Fprintln(stderr, "scaplockd: demo:", err)
			return exitConfig
		}
		defer d.Close()
		return runDemo(ctx, cfg, d, log, stderr)
	}
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("scaplockd failed", "err", err)
		return exitFailed
	}
	return 0
}
