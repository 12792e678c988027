package health

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is one scripted readyz answer.
type readyzStep struct {
	delay  time.Duration
	status int
	body   string
}

// fakeAPIServer answers /readyz by its script (the last step repeats) and
// records what it was sent.
type fakeAPIServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []readyzStep
	calls  int
	auth   []string
}

func newFakeAPIServer(t *testing.T, script ...readyzStep) *fakeAPIServer {
	f := &fakeAPIServer{script: script}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		st := f.script[min(f.calls, len(f.script)-1)]
		f.calls++
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		select {
		case <-time.After(st.delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(st.status)
		w.Write([]byte(st.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPIServer) seen() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.auth...)
}

// caFile writes the server's certificate where tls.ca_file can point.
func caFile(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func apiCluster(urls ...string) Cluster {
	c := testCluster()
	c.APIServers = nil
	for _, u := range urls {
		c.APIServers = append(c.APIServers, APIServer{URL: u})
	}
	c.ReadyzPath = "/readyz"
	c.Timeout = 300 * time.Millisecond
	return c
}

func probeOnce(t *testing.T, c Cluster) []Sample {
	t.Helper()
	p, err := NewProber(c)
	if err != nil {
		t.Fatal(err)
	}
	return p.Probe(context.Background(), t0)
}

func TestProbeAPIServer(t *testing.T) {
	tests := []struct {
		name    string
		step    readyzStep
		wantErr string // "" for success
		minLat  time.Duration
		maxLat  time.Duration
	}{
		{"ok", readyzStep{status: 200, body: "ok"}, "", 0, 250 * time.Millisecond},
		{"slow but within timeout", readyzStep{delay: 150 * time.Millisecond, status: 200}, "", 150 * time.Millisecond, 290 * time.Millisecond},
		{"slower than the timeout", readyzStep{delay: 2 * time.Second, status: 200}, "timeout after 300ms", 300 * time.Millisecond, time.Second},
		{"500 names the failed checks", readyzStep{status: 500, body: "[+]ping ok\n[-]etcd failed: reason withheld\n[-]informer-sync failed: reason withheld\nreadyz check failed\n"},
			"HTTP 500 Internal Server Error: failed etcd, informer-sync", 0, 250 * time.Millisecond},
		{"503", readyzStep{status: 503}, "HTTP 503 Service Unavailable", 0, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPIServer(t, tt.step)
			c := apiCluster(srv.URL)
			c.TLS.CAFile = caFile(t, srv.Server)
			start := time.Now()
			samples := probeOnce(t, c)
			if took := time.Since(start); took > time.Second {
				t.Errorf("the round took %s, want it bounded by the 300ms timeout", took)
			}
			if len(samples) != 1 {
				t.Fatalf("samples = %+v, want one latency sample", samples)
			}
			s := samples[0]
			if s.Signal != SignalLatency || s.Host != strings.TrimPrefix(srv.URL, "https://") || !s.At.Equal(t0) {
				t.Errorf("sample %+v, want latency of %s at t0", s, srv.URL)
			}
			if s.Err != tt.wantErr {
				t.Errorf("Err = %q, want %q", s.Err, tt.wantErr)
			}
			lat := time.Duration(s.Value * float64(time.Second))
			if lat < tt.minLat || lat > tt.maxLat {
				t.Errorf("latency %s, want within [%s, %s]", lat, tt.minLat, tt.maxLat)
			}
		})
	}
}

func TestProbeAPIServerTLSTrust(t *testing.T) {
	srv := newFakeAPIServer(t, readyzStep{status: 200})
	tests := []struct {
		name    string
		tls     TLSConfig
		wantErr string
	}{
		{"trusted through ca_file", TLSConfig{CAFile: caFile(t, srv.Server)}, ""},
		{"unknown CA", TLSConfig{}, "certificate signed by unknown authority"},
		{"insecure_skip_verify", TLSConfig{InsecureSkipVerify: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apiCluster(srv.URL)
			c.TLS = tt.tls
			s := probeOnce(t, c)[0]
			if tt.wantErr == "" && s.Err != "" || !strings.Contains(s.Err, tt.wantErr) {
				t.Errorf("Err = %q, want %q", s.Err, tt.wantErr)
			}
		})
	}
}

func TestProbeAPIServerBearerToken(t *testing.T) {
	srv := newFakeAPIServer(t, readyzStep{status: 200})
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := apiCluster(srv.URL)
	c.TLS.InsecureSkipVerify = true
	c.BearerTokenFile = tokenPath
	p, err := NewProber(c)
	if err != nil {
		t.Fatal(err)
	}
	p.Probe(context.Background(), t0)
	if err := os.WriteFile(tokenPath, []byte("rotated-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Probe(context.Background(), t0.Add(step))
	os.Remove(tokenPath)
	p.Probe(context.Background(), t0.Add(2*step))

	_, auth := srv.seen()
	want := []string{"Bearer first-token", "Bearer rotated-token", "Bearer rotated-token"}
	if strings.Join(auth, "|") != strings.Join(want, "|") {
		t.Errorf("Authorization headers = %q, want %q (re-read each time, last good kept)", auth, want)
	}
}

func TestNewProberRejectsBadFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	empty := filepath.Join(t.TempDir(), "token")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name   string
		modify func(*Cluster)
		want   string
	}{
		{"missing CA", func(c *Cluster) { c.TLS.CAFile = missing }, "cluster eqiad: tls.ca_file: open " + missing},
		{"CA without PEM", func(c *Cluster) { c.TLS.CAFile = notPEM }, "cluster eqiad: tls.ca_file: no PEM certificate in " + notPEM},
		{"missing client cert", func(c *Cluster) { c.TLS.CertFile, c.TLS.KeyFile = missing, missing }, "cluster eqiad: tls.cert_file: open " + missing},
		{"missing token", func(c *Cluster) { c.BearerTokenFile = missing }, "cluster eqiad: bearer_token_file: open " + missing},
		{"empty token", func(c *Cluster) { c.BearerTokenFile = empty }, "cluster eqiad: bearer_token_file: " + empty + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apiCluster("https://a:6443")
			tt.modify(&c)
			_, err := NewProber(c)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("NewProber error = %v, want one starting %q", err, tt.want)
			}
		})
	}
}

func TestProbeOneReadyzPerAPIServerInParallel(t *testing.T) {
	slow := readyzStep{delay: 200 * time.Millisecond, status: 200}
	a, b, down := newFakeAPIServer(t, slow), newFakeAPIServer(t, slow), newFakeAPIServer(t, readyzStep{status: 500})
	c := apiCluster(a.URL, b.URL, down.URL)
	c.TLS.InsecureSkipVerify = true
	start := time.Now()
	samples := probeOnce(t, c)
	if took := time.Since(start); took > 380*time.Millisecond {
		t.Errorf("round took %s, want the two 200ms probes in parallel", took)
	}
	for _, f := range []*fakeAPIServer{a, b, down} {
		if n, _ := f.seen(); n != 1 {
			t.Errorf("%s got %d readyz GETs in one round, want 1", f.URL, n)
		}
	}
	if len(samples) != 3 || samples[0].Err != "" || samples[1].Err != "" || samples[2].Err == "" {
		t.Errorf("samples = %+v, want two ok and the last failing, in config order", samples)
	}
	if samples[2].Host != strings.TrimPrefix(down.URL, "https://") {
		t.Errorf("third sample is for %s, want %s", samples[2].Host, down.URL)
	}
}
