// Package healthtest starts Debian's real node_exporter and Prometheus on
// loopback for tests of the health probes, the simulator and the gate.
//
// The binaries come from the Debian packages prometheus-node-exporter and
// prometheus; `make test` installs them when they are missing. A test that
// needs one fails, rather than skips, when it is not there.
package healthtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The binaries' paths as the Debian packages install them.
const (
	NodeExporterBinary = "/usr/bin/prometheus-node-exporter"
	PrometheusBinary   = "/usr/bin/prometheus"
)

// startTimeout bounds how long a binary may take to answer after start.
const startTimeout = 30 * time.Second

// StartNodeExporter starts node_exporter on a free loopback port with the
// collectors the health signals need (cpu, netstat, netdev, netclass, plus
// loadavg and meminfo) and returns its base URL, e.g. "http://127.0.0.1:40123";
// the metrics are under /metrics. It is stopped when the test ends.
func StartNodeExporter(t testing.TB) string {
	t.Helper()
	bin := binary(t, NodeExporterBinary, "prometheus-node-exporter")
	addr := freeAddr(t)
	start(t, "node_exporter", exec.Command(bin,
		"--web.listen-address="+addr,
		"--collector.disable-defaults",
		"--collector.cpu", "--collector.netstat", "--collector.netdev",
		"--collector.netclass", "--collector.loadavg", "--collector.meminfo",
		"--log.level=warn",
	), "http://"+addr+"/metrics")
	return "http://" + addr
}

// StartPrometheus starts Prometheus on a free loopback port, scraping
// scrapeTarget (a base URL such as StartNodeExporter returns, or a
// host:port) every second as job "node", with its data in a temporary
// directory. It returns Prometheus's base URL once it is ready; use
// WaitForData before expecting query results. It is stopped when the test
// ends.
func StartPrometheus(t testing.TB, scrapeTarget string) string {
	t.Helper()
	bin := binary(t, PrometheusBinary, "prometheus")
	target := scrapeTarget
	if u, err := url.Parse(scrapeTarget); err == nil && u.Host != "" {
		target = u.Host
	}
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: [%q]
`, target)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	start(t, "prometheus", exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	), "http://"+addr+"/-/ready")
	return "http://" + addr
}

// WaitForData polls Prometheus until query returns at least one series, or
// fails the test after timeout.
func WaitForData(t testing.TB, promURL, query string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		n, err := seriesCount(promURL, query)
		if err == nil && n > 0 {
			return
		}
		last = fmt.Sprintf("%d series, err %v", n, err)
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("prometheus at %s had no data for %s after %s (last: %s)", promURL, query, timeout, last)
}

func seriesCount(promURL, query string) (int, error) {
	resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query failed: %s", body.Error)
	}
	return len(body.Data.Result), nil
}

// binary is the path of a Debian package's binary, or fails the test.
func binary(t testing.TB, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(filepath.Base(path)); err == nil {
		return p
	}
	t.Fatalf("%s is not installed: `make test` installs the Debian package %s (apt-get install %s)", path, pkg, pkg)
	return ""
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// SyncBuffer collects a process's output (or a log) while it runs: safe
// for the writer's goroutines and the test's reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs cmd until the test ends and waits until readyURL answers 200.
// The process's output is logged if the test fails.
func start(t testing.TB, name string, cmd *exec.Cmd, readyURL string) {
	t.Helper()
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, readyURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("%s exited before it was ready: %v\n%s", name, err, strings.TrimSpace(out.String()))
		case <-ctx.Done():
			t.Fatalf("%s not ready at %s after %s", name, readyURL, startTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
