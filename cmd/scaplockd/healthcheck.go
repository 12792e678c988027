package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// healthcheck asks the local scaplockd's /readyz (or --path) and exits 0
// when it answers 200: a HEALTHCHECK for the distroless image, which has no
// curl. The address is SCAPLOCK_LISTEN's port on loopback.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scaplockd healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "/readyz", "endpoint to ask: /readyz (etcd reachable, cache confirmed) or /healthz (process alive)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	listen := os.Getenv("SCAPLOCK_LISTEN")
	if listen == "" {
		listen = ":8080"
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		fmt.Fprintf(stderr, "scaplockd healthcheck: SCAPLOCK_LISTEN: %q is not host:port\n", listen)
		return exitConfig
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + *path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "scaplockd healthcheck:", err)
		return exitConfig
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "scaplockd healthcheck:", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "scaplockd healthcheck: %s answered %s: %s\n", url, resp.Status, body)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}
