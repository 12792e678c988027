package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scaplock/scaplock/health/healthtest"
)

type apiserver = healthtest.APIServer

// gateWindows are the clusters-file settings of the reaction and load figures.
type gateWindows struct {
	interval              time.Duration
	tripAfter, clearAfter int
	timeout               time.Duration
	warn, crit            time.Duration
}

// clustersFile writes a clusters file for one cluster, eqiad, of apiservers.
func clustersFile(dir string, w gateWindows, apiservers ...*apiserver) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "interval: %s\nmode: enforce\nclusters:\n  - name: eqiad\n", w.interval)
	// All httptest servers share one certificate, so the first CA serves.
	fmt.Fprintf(&b, "    tls: {ca_file: %q}\n    apiservers:\n", apiservers[0].CAFile)
	for _, a := range apiservers {
		fmt.Fprintf(&b, "      - url: %s\n", a.URL)
	}
	fmt.Fprintf(&b, "    timeout: %s\n    thresholds:\n      latency: {warn: %s, crit: %s}\n", w.timeout, w.warn, w.crit)
	fmt.Fprintf(&b, "    trip_after: %d\n    clear_after: %d\n    min_hold: 0s\n", w.tripAfter, w.clearAfter)
	path := filepath.Join(dir, "clusters.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// oneAPIServer starts a scripted TLS apiserver in dir and writes a
// clusters file of eqiad with it alone; close the apiserver when done.
func oneAPIServer(dir string, w gateWindows) (*apiserver, string, error) {
	a, err := healthtest.NewAPIServer(dir)
	if err != nil {
		return nil, "", err
	}
	clusters, err := clustersFile(dir, w, a)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	return a, clusters, nil
}
