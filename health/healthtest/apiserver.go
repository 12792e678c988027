package healthtest

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

// APIServer is an httptest TLS kube-apiserver whose /readyz answers after
// a latency the caller scripts, and which counts its readyz requests.
type APIServer struct {
	*httptest.Server
	latency  atomic.Int64 // nanoseconds
	requests atomic.Int64
	// CAFile holds the server's certificate, for a clusters file's tls.ca_file.
	CAFile string
}

// NewAPIServer starts one, writing its CA file into dir. Close it when done.
func NewAPIServer(dir string) (*APIServer, error) {
	a := &APIServer{}
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
	a.CAFile = filepath.Join(dir, fmt.Sprintf("ca-%s.pem", strings.NewReplacer(":", "-", ".", "-").Replace(a.Listener.Addr().String())))
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
	if err := os.WriteFile(a.CAFile, pemBytes, 0o600); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// SetLatency scripts how long /readyz takes from now on.
func (a *APIServer) SetLatency(d time.Duration) { a.latency.Store(int64(d)) }

// Requests is how many /readyz requests it has answered or is answering.
func (a *APIServer) Requests() int64 { return a.requests.Load() }
