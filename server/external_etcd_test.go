package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/servertest"
)

// debianEtcd is where Debian's etcd-server package puts the server.
const debianEtcd = "/usr/bin/etcd"

// certs writes a CA and, signed by it, a server certificate for 127.0.0.1
// and a client certificate; it returns the PEM file paths.
// The peer certificate serves and authenticates as a client (etcd peers).
type certs struct{ ca, serverCert, serverKey, clientCert, clientKey, peerCert, peerKey string }

func writeCerts(t *testing.T) certs {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scaplock test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, name string, usage ...x509.ExtKeyUsage) (cert, key string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(k)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	c := certs{ca: write("ca.pem", "CERTIFICATE", caDER)}
	c.serverCert, c.serverKey = leaf(2, "etcd", x509.ExtKeyUsageServerAuth)
	c.clientCert, c.clientKey = leaf(3, "scaplock", x509.ExtKeyUsageClientAuth)
	c.peerCert, c.peerKey = leaf(4, "peer", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return c
}

// freePorts are n distinct free loopback host:ports.
func freePorts(t *testing.T, n int) []string {
	addrs, err := embedetcd.FreeLoopbackAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// startDebianEtcd runs Debian's etcd with client TLS and client
// certificate authentication on loopback; it returns the client URL.
func startDebianEtcd(t *testing.T, c certs) string {
	t.Helper()
	if _, err := os.Stat(debianEtcd); err != nil {
		t.Fatalf("%s is missing: `make test` installs Debian's etcd-server (%v)", debianEtcd, err)
	}
	ports := freePorts(t, 2)
	client, peer := "https://"+ports[0], "http://"+ports[1]
	cmd := exec.Command(debianEtcd,
		"--name", "scaplock-test", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "scaplock-test="+peer,
		"--cert-file", c.serverCert, "--key-file", c.serverKey,
		"--trusted-ca-file", c.ca, "--client-cert-auth",
	)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	host := strings.TrimPrefix(client, "https://")
	eventually(t, "etcd listens", 20*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	return client
}

// An external etcd over mutual TLS, as a production cluster runs it:
// Debian's etcd-server with client certificate auth.
func TestExternalEtcdOverMutualTLS(t *testing.T) {
	// It starts its own scaplockd and etcd and mostly waits: it runs beside the others.
	t.Parallel()
	c := writeCerts(t)
	endpoint := startDebianEtcd(t, c)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)
	env := map[string]string{
		"SCAPLOCK_DATA_DIR": t.TempDir(), "SCAPLOCK_ETCD_ENDPOINTS": endpoint,
		"SCAPLOCK_ETCD_CA_FILE": c.ca, "SCAPLOCK_JWT_SECRET_FILE": secretFile, "SCAPLOCK_SCOPES": "eqiad",
	}
	ctx := context.Background()

	// Without a client certificate etcd refuses us, and the start says where.
	if srv, err := servertest.Start(ctx, env); err == nil {
		srv.Stop()
		t.Fatal("started against a client-cert-auth etcd without a client certificate")
	} else if !strings.Contains(err.Error(), "SCAPLOCK_ETCD_ENDPOINTS") {
		t.Fatalf("error does not name the variable: %v", err)
	}

	env["SCAPLOCK_ETCD_CERT_FILE"], env["SCAPLOCK_ETCD_KEY_FILE"] = c.clientCert, c.clientKey
	srv, err := servertest.Start(ctx, env)
	if err != nil {
		t.Fatalf("start over mutual TLS: %v", err)
	}
	defer srv.Stop()
	token, err := servertest.Token(secretFile, "alice", api.RoleSRE)
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, srv.URL()+"/api/v1/holds", token, api.HoldBody{Scope: "eqiad", Reason: "over TLS", Duration: "1h"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create over TLS: %d", resp.StatusCode)
	}
	var pf api.PreflightResponse
	if code := getJSON(t, srv.URL()+"/api/v1/preflight?scope=eqiad", &pf); code != http.StatusLocked || !strings.Contains(pf.Message, "over TLS") {
		t.Fatalf("preflight over TLS: %d %+v", code, pf)
	}
}
