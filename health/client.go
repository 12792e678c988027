package health

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// newAPIServerClient is the client for readyz. The CA file, when set,
// replaces the system roots, as in a kubeconfig.
func newAPIServerClient(c TLSConfig, timeout time.Duration) (*http.Client, error) {
	cfg := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr := newTransport(cfg, timeout)
	// One connection per apiserver, ever: readyz once per round, and over
	// HTTP/2 (which kube-apiserver speaks) a readyz that times out resets
	// its stream, not the connection, so a struggling apiserver is not
	// made to shake hands again every interval.
	tr.MaxConnsPerHost = 1
	tr.ForceAttemptHTTP2 = true
	return &http.Client{Transport: tr}, nil
}

// newTransport never uses a proxy: each apiserver and host is probed
// directly, not through whatever sits in between. A probe must add no load
// to a struggling control plane: connections are kept alive across rounds
// (an idle one lives far longer than any interval), and no step of opening
// one waits longer than the probe's timeout, which is at most the interval.
func newTransport(cfg *tls.Config, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
}

// tokenFile is a bearer token re-read on every request so that a rotated
// token is picked up; if a re-read fails, the last good token is used. The
// token never appears in errors or logs.
type tokenFile struct {
	path string
	mu   sync.Mutex
	last string
}

func newTokenFile(path string) (*tokenFile, error) {
	t := &tokenFile{path: path}
	tok, err := t.read()
	if err != nil {
		return nil, err
	}
	t.last = tok
	return t, nil
}

func (t *tokenFile) read() (string, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("bearer_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("bearer_token_file: " + t.path + " is empty")
	}
	return tok, nil
}

// Token is the current token.
func (t *tokenFile) Token() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok, err := t.read(); err == nil {
		t.last = tok
	}
	return t.last
}
