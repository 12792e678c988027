package locktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/server/embedetcd"
)

// DebianEtcd is where Debian's etcd-server package puts the server.
const DebianEtcd = "/usr/bin/etcd"

// Cluster is an etcd cluster of Debian's etcd-server processes on
// loopback, each member in its own data directory.
type Cluster struct {
	dir     string
	members []*member
	mu      sync.Mutex
}

type member struct {
	name, client, peer string
	cmd                *exec.Cmd
	exited             chan struct{}
}

// StartCluster starts n members under dir on free loopback ports and waits
// until the cluster answers a linearizable read.
func StartCluster(ctx context.Context, dir string, n int) (*Cluster, error) {
	c := &Cluster{dir: dir}
	var initial []string
	addrs, err := embedetcd.FreeLoopbackAddrs(2 * n)
	if err != nil {
		return nil, err
	}
	for i := range n {
		m := &member{name: fmt.Sprintf("m%d", i), client: "http://" + addrs[2*i], peer: "http://" + addrs[2*i+1]}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	for i := range c.members {
		if err := c.start(i, strings.Join(initial, ",")); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitHealthy(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StartClusterT starts a cluster stopped when the test ends.
func StartClusterT(t testing.TB, n int) *Cluster {
	t.Helper()
	if _, err := os.Stat(DebianEtcd); err != nil {
		t.Fatalf("Debian's etcd-server is needed (make deps installs it): %v", err)
	}
	// A free port can be taken by another process between the probe that
	// found it and etcd binding it: a start that fails is tried again on
	// other ports, up to three times.
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var c *Cluster
		c, err = StartCluster(ctx, t.TempDir(), n)
		cancel()
		if err == nil {
			t.Cleanup(c.Stop)
			return c
		}
		t.Logf("etcd cluster did not start, trying other ports: %v", err)
	}
	t.Fatalf("etcd cluster: %v", err)
	return nil
}

func (c *Cluster) start(i int, initial string) error {
	m := c.members[i]
	args := []string{
		"--name", m.name, "--data-dir", filepath.Join(c.dir, m.name),
		"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster-token", "scaplock-test", "--initial-cluster-state", "new",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--log-level", "error", "--logger", "zap",
	}
	if initial != "" {
		args = append(args, "--initial-cluster", initial)
	} else {
		var all []string
		for _, o := range c.members {
			all = append(all, o.name+"="+o.peer)
		}
		args = append(args, "--initial-cluster", strings.Join(all, ","))
	}
	cmd := exec.Command(DebianEtcd, args...)
	cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH="+goarch())
	log, err := os.OpenFile(filepath.Join(c.dir, m.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start etcd member %s: %w", m.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	c.mu.Lock()
	m.cmd, m.exited = cmd, exited
	c.mu.Unlock()
	return nil
}

func goarch() string {
	if out, err := exec.Command("uname", "-m").Output(); err == nil && strings.TrimSpace(string(out)) == "aarch64" {
		return "arm64"
	}
	return ""
}

// Endpoints are the members' client URLs, in member order.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.client)
	}
	return eps
}

// Kill stops member i with SIGKILL and waits for it to exit.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	m := c.members[i]
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts a killed member i again on its data directory.
func (c *Cluster) Restart(i int) error {
	return c.start(i, "")
}

// Stop kills every member still running.
func (c *Cluster) Stop() {
	for i := range c.members {
		c.Kill(i)
	}
}

// Client opens a client on every member's endpoint.
func (c *Cluster) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// WaitHealthy waits until a linearizable read succeeds through every
// running member, or ctx ends.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var last error
	for ctx.Err() == nil {
		last = nil
		for i, m := range c.members {
			c.mu.Lock()
			running := m.cmd != nil
			c.mu.Unlock()
			if !running {
				continue
			}
			if err := readThrough(ctx, m.client); err != nil {
				last = fmt.Errorf("member %d (%s): %w", i, m.client, err)
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.Join(fmt.Errorf("etcd cluster not healthy: %w", ctx.Err()), last)
}

// Leader is the index of the member that leads, or -1.
func (c *Cluster) Leader(ctx context.Context) int {
	for i, m := range c.members {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.client}, DialTimeout: time.Second, Logger: zap.NewNop()})
		if err != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cli.Status(sctx, m.client)
		cancel()
		cli.Close()
		if err == nil && st.Header.MemberId == st.Leader {
			return i
		}
	}
	return -1
}

func readThrough(ctx context.Context, endpoint string) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = cli.Get(rctx, "health-check")
	return err
}
