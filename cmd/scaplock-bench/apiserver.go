package main

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// apiserver is an httptest TLS kube-apiserver whose /readyz answers after a
// latency the benchmark sets, and which counts its readyz requests.
type apiserver struct {
	*httptest.Server
	latency  atomic.Int64 // nanoseconds
	requests atomic.Int64
	caFile   string
}

func startAPIServer(dir string) (*apiserver, error) {
	a := &apiserver{}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		a.requests.Add(1)
		if d := time.Duration(a.latency.Load()); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "ok")
	}))
	a.caFile = filepath.Join(dir, fmt.Sprintf("ca-%s.pem", strings.NewReplacer(":", "-", ".", "-").Replace(a.Listener.Addr().String())))
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
	if err := os.WriteFile(a.caFile, pemBytes, 0o600); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *apiserver) setLatency(d time.Duration) { a.latency.Store(int64(d)) }

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
	fmt.Fprintf(&b, "    tls: {ca_file: %q}\n    apiservers:\n", apiservers[0].caFile)
	for _, a := range apiservers {
		fmt.Fprintf(&b, "      - url: %s\n", a.URL)
	}
	fmt.Fprintf(&b, "    timeout: %s\n    thresholds:\n      latency: {warn: %s, crit: %s}\n", w.timeout, w.warn, w.crit)
	fmt.Fprintf(&b, "    trip_after: %d\n    clear_after: %d\n    min_hold: 0s\n", w.tripAfter, w.clearAfter)
	path := filepath.Join(dir, "clusters.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
