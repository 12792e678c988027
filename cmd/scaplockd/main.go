// Command scaplockd is the scaplock service: configuration from SCAPLOCK_*
// variables, then server.Run until SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scaplock/scaplock/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := server.LoadConfig(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaplockd: invalid configuration:", err)
		os.Exit(2)
	}
	log := server.NewLogger(os.Stderr, cfg)
	if err := server.Run(ctx, cfg, log); err != nil {
		log.Error("scaplockd failed", "err", err)
		os.Exit(1)
	}
}
