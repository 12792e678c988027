//go:build e2e

// Package e2e_test runs scaplockd's gate against a real kube-apiserver
// (built by `make e2e` from contrib/e2e/kube-apiserver, its own module) on
// Debian's etcd, loads it as a helmfile apply does, and checks what the
// gate does about it.
package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/server"
	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/gate"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	debianEtcd = "/usr/bin/etcd"
	// kubeToken is the static bearer token of the apiserver's one user, in
	// group system:masters.
	kubeToken = "scaplock-e2e-token"
	cluster   = "e2e"
	workers   = 256
)

// loadEnv, when set in the environment, makes the test binary a load
// generator instead (see TestMain): "<apiserver URL> <duration>".
const loadEnv = "SCAPLOCK_E2E_LOAD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(loadEnv); spec != "" {
		os.Exit(loadMain(spec))
	}
	os.Exit(m.Run())
}

// loadMain drives the apiserver like a helmfile apply: workers concurrent
// loops creating, listing and deleting configmaps, for the duration given.
func loadMain(spec string) int {
	url, dur, ok := strings.Cut(spec, " ")
	d, err := time.ParseDuration(dur)
	if !ok || err != nil {
		fmt.Fprintln(os.Stderr, "bad", loadEnv, spec)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n := load(ctx, url)
	fmt.Fprintf(os.Stderr, "load: %d requests in %s\n", n, d)
	return 0
}

func client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the apiserver's self-signed loopback cert
			MaxIdleConnsPerHost: workers,
		},
	}
}

// load runs the workers until ctx ends and returns how many requests they made.
func load(ctx context.Context, url string) int64 {
	c := client()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("e2e-%d-%d", w, i)
				body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"payload":%q}}`, name, strings.Repeat("x", 2048))
				do(ctx, c, http.MethodPost, url+"/api/v1/namespaces/default/configmaps", body)
				do(ctx, c, http.MethodGet, url+"/api/v1/namespaces/default/configmaps?limit=50", "")
				do(ctx, c, http.MethodDelete, url+"/api/v1/namespaces/default/configmaps/"+name, "")
				n.Add(3)
			}
		}()
	}
	wg.Wait()
	return n.Load()
}

func do(ctx context.Context, c *http.Client, method, url, body string) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+kubeToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// freePorts are n distinct free loopback host:ports.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs, err := embedetcd.FreeLoopbackAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

func eventually(t *testing.T, what string, within time.Duration, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(within); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if f() {
			return time.Since(start)
		}
	}
	t.Fatalf("%s: not within %s", what, within)
	return 0
}

// start runs a process whose output goes to a file in dir, stopped (and
// waited for) at the end of the test by its pid.
func start(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		out.Close()
		if t.Failed() {
			if b, err := os.ReadFile(out.Name()); err == nil {
				t.Logf("%s log (tail):\n%s", name, tail(string(b), 3000))
			}
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// startKubeAPIServer runs Debian's etcd and the real kube-apiserver on
// loopback and returns its URL once /readyz answers 200 to the token.
func startKubeAPIServer(t *testing.T, dir string) string {
	t.Helper()
	bin := os.Getenv("SCAPLOCK_E2E_KUBE_APISERVER")
	if bin == "" {
		t.Fatal("SCAPLOCK_E2E_KUBE_APISERVER is not set: run `make e2e`, which builds the kube-apiserver")
	}
	for _, b := range []string{bin, debianEtcd} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s: %v (make e2e builds the apiserver; make deps installs Debian's etcd)", b, err)
		}
	}
	ports := freePorts(t, 2)
	etcdClient, etcdPeer := "http://"+ports[0], "http://"+ports[1]
	start(t, dir, debianEtcd, "--name", "e2e", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdClient, "--advertise-client-urls", etcdClient,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "e2e="+etcdPeer)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(kubeToken+`,scaplock-e2e,1,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePorts(t, 1)[0]
	_, port, _ := net.SplitHostPort(addr)
	start(t, dir, bin,
		"--etcd-servers", etcdClient,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", port,
		"--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--token-auth-file", tokens, "--authorization-mode", "RBAC", "--anonymous-auth=false",
		"--service-cluster-ip-range", "10.0.0.0/24",
	)
	url := "https://" + addr
	c := client()
	took := eventually(t, "kube-apiserver /readyz answers 200 to the token", 120*time.Second, func() bool {
		return get(c, url+"/readyz", kubeToken) == http.StatusOK
	})
	t.Logf("kube-apiserver ready in %s", took)
	if code := get(c, url+"/readyz", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous /readyz answered %d, want 401: the gate must be tested with the token", code)
	}
	return url
}

func get(c *http.Client, url, token string) int {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// readyzLatency is the slowest of n authenticated /readyz requests.
func readyzLatency(c *http.Client, url string, n int) time.Duration {
	var worst time.Duration
	for range n {
		start := time.Now()
		get(c, url+"/readyz", kubeToken)
		worst = max(worst, time.Since(start))
	}
	return worst
}

// clusterStatus is the gate's latest verdict on the cluster, from scaplockd's status.
func clusterStatus(t *testing.T, base string) apiv1.Status {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st apiv1.StatusResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Health[cluster].Status
}

func TestGateAgainstARealKubeAPIServer(t *testing.T) {
	dir := t.TempDir()
	url := startKubeAPIServer(t, dir)
	c := client()
	idle := readyzLatency(c, url, 10)
	t.Logf("idle readyz: slowest of 10 %s", idle)

	tokenFile := filepath.Join(dir, "scaplock.token")
	if err := os.WriteFile(tokenFile, []byte(kubeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Limits well above idle and well below what 256 workers cause
	// (measured: ~5 ms idle, 0.1-1.1 s loaded on 2 cores): four times the
	// slowest idle answer, between 40 and 250 ms, so a machine that is slow
	// when idle does not hold the gate before the load.
	warn := min(max(4*idle, 40*time.Millisecond), 250*time.Millisecond).Round(time.Millisecond)
	t.Logf("readyz limits: warn %s, crit %s", warn, 2*warn)
	hc := health.Config{Interval: time.Second, Clusters: []health.Cluster{{
		Name:            cluster,
		APIServers:      []health.APIServer{{URL: url, Name: "kube-apiserver-e2e:6443"}},
		Timeout:         time.Second,
		TLS:             health.TLSConfig{InsecureSkipVerify: true},
		BearerTokenFile: tokenFile,
		Thresholds:      health.Thresholds{Latency: health.Limits{Warn: warn.Seconds(), Crit: 2 * warn.Seconds(), Severe: 2}},
		TripAfter:       3, ClearAfter: 3, MinHold: time.Second,
		CooldownMax: 2 * time.Minute,
	}}}.WithDefaults()
	ctx := context.Background()
	cfg, err := servertest.Config(ctx, map[string]string{"SCAPLOCK_DATA_DIR": filepath.Join(dir, "scaplock")})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(ctx, cfg, slog.New(slog.DiscardHandler), server.WithGate(hc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	store := srv.Store()
	held := func(id string) (apiv1.Hold, bool) {
		h, err := store.Get(id)
		return h, err == nil
	}

	t.Run("no hold while idle", func(t *testing.T) {
		time.Sleep(8 * time.Second)
		if h, ok := held(gate.AutoHoldID(cluster)); ok {
			t.Fatalf("held while idle: %+v", h)
		}
	})

	t.Run("load trips the gate, naming the apiserver and its readyz; it clears when the load stops", func(t *testing.T) {
		lctx, stop := context.WithCancel(ctx)
		done := make(chan int64)
		go func() { done <- load(lctx, url) }()
		var h apiv1.Hold
		took := eventually(t, "the auto hold", 60*time.Second, func() bool {
			var ok bool
			h, ok = held(gate.AutoHoldID(cluster))
			return ok
		})
		loaded := readyzLatency(c, url, 3)
		stop()
		t.Logf("held %s into the load (%d requests; readyz under load up to %s): %q %q", took, <-done, loaded, h.Reason, h.Details)
		if len(h.Details) == 0 || !strings.Contains(h.Details[0], "kube-apiserver-e2e:6443") || !strings.Contains(h.Details[0], "readyz") {
			t.Errorf("hold details %q do not name the apiserver and its readyz", h.Details)
		}
		eventually(t, "the hold released after the load stopped", 90*time.Second, func() bool {
			_, ok := held(gate.AutoHoldID(cluster))
			return !ok
		})
	})

	t.Run("a deploy's load outlasting it refuses the next deploy as recovering until readyz is below warn", func(t *testing.T) {
		cli := servertest.Build(t, servertest.Scaplock)
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		deployer, err := servertest.Token(srv.SecretFile, "e2e-deployer", "deployer")
		if err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "SCAPLOCK_URL="+srv.URL(), "SCAPLOCK_TOKEN="+deployer)
		// The deploy starts 256 workers in the background and waits until the
		// test has seen its load trip the gate; then it ends, as at 12:23 a
		// helmfile apply gave up, while its load goes on until the test stops
		// it. Its output goes to a file: scaplock run's output must close
		// when the deploy command does.
		pidFile, loadLog, done := filepath.Join(dir, "load.pid"), filepath.Join(dir, "load.log"), filepath.Join(dir, "deploy.done")
		script := fmt.Sprintf(`%s=%q %q > %q 2>&1 & echo $! > %q; i=0; while [ ! -e %q ] && [ $i -lt 2400 ]; do sleep 0.1; i=$((i+1)); done`,
			loadEnv, url+" 300s", self, loadLog, pidFile, done)
		run := exec.Command(cli, "run", "--scope", cluster, "--reason", "e2e helmfile apply", "--", "/bin/sh", "-c", script)
		run.Env = env
		stopLoad := func() {
			if b, err := os.ReadFile(pidFile); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Signal(syscall.SIGTERM)
					}
				}
			}
		}
		t.Cleanup(stopLoad)
		var runOut strings.Builder
		run.Stdout, run.Stderr = &runOut, &runOut
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		ran := make(chan error, 1)
		go func() { ran <- run.Wait() }()
		// The deploy's own load trips the gate (the cluster's report says
		// degraded); the deploy hold, not an auto hold, refuses meanwhile.
		took := eventually(t, "the deploy's load trips the gate", 180*time.Second, func() bool {
			return clusterStatus(t, srv.URL()) == apiv1.StatusDegraded
		})
		t.Logf("the deploy's load tripped the gate after %s", took)
		if _, ok := held(gate.AutoHoldID(cluster)); ok {
			t.Error("an auto hold during the deploy: its trip should be answered by the deploy hold and then the cooldown")
		}
		if err := os.WriteFile(done, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-ran:
			if err != nil {
				t.Fatalf("scaplock run: %v\n%s", err, runOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("scaplock run did not end after its command did:\n%s", runOut.String())
		}
		preflight := func() (int, string) {
			cmd := exec.Command(cli, "preflight", "--scope", cluster)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return code, string(out)
		}
		var seen []string
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, out := preflight()
			first, rest, _ := strings.Cut(out, "\n")
			if code == 1 && strings.Contains(first, cluster+" is recovering from e2e-deployer's deploy") && strings.Contains(rest, "readyz") &&
				strings.Contains(rest, "(warn "+apiv1.FormatValue(apiv1.SignalLatency, warn.Seconds())+")") {
				t.Logf("successor refused:\n%s", out)
				break
			}
			seen = append(seen, fmt.Sprintf("exit %d: %s", code, out))
			if time.Now().After(deadline) {
				t.Fatalf("the successor was not refused as recovering, naming readyz above warn, within 15s; answers:\n%s", strings.Join(seen, "\n"))
			}
			time.Sleep(250 * time.Millisecond)
		}
		stopLoad()
		took = eventually(t, "deploys allowed again once readyz is below warn", 90*time.Second, func() bool {
			code, _ := preflight()
			return code == 0
		})
		after := readyzLatency(c, url, 5)
		t.Logf("allowed again after %s more; readyz now up to %s", took, after)
		if _, ok := held(gate.CooldownHoldID(cluster)); ok {
			t.Error("the cooldown hold is still there while deploys are allowed")
		}
	})
}
