package embedetcd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// Member is this replica's place in an etcd cluster made of the replicas
// themselves, bootstrapped statically.
type Member struct {
	// Name is this member's name in InitialCluster.
	Name string
	// InitialCluster is "name=peerURL,..." for every member, this one included.
	InitialCluster string
	// State is "new" to bootstrap the cluster, "existing" to join one that
	// runs (after `etcdctl member add`).
	State string
	// PeerListenURL is where this member listens for its peers; empty: its
	// own URL in InitialCluster (a host name there listens on every address).
	PeerListenURL string
	// ClientURL is the client listener, on loopback; empty: a free port.
	ClientURL string
	// Options bound the member's memory and disk as for a single node.
	Options Options
	// PeerTLS, when CertFile is set, makes peers talk TLS and present
	// certificates signed by TrustedCAFile.
	PeerTLS transport.TLSInfo
	// Ready bounds the wait for the cluster to elect a leader; other
	// members must start within it. 5 minutes when zero.
	Ready time.Duration
}

// ParseInitialCluster reads "name=URL,name=URL" into names and peer URLs,
// in order. Every error names the entry.
func ParseInitialCluster(s string) (names []string, urls []*url.URL, err error) {
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, raw, ok := strings.Cut(entry, "=")
		if !ok || name == "" {
			return nil, nil, fmt.Errorf("%q is not name=peerURL", entry)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("member %q is listed twice", name)
		}
		seen[name] = true
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" || u.Path != "" {
			return nil, nil, fmt.Errorf("member %s: %q is not an http(s)://host:port peer URL", name, raw)
		}
		names, urls = append(names, name), append(urls, u)
	}
	return names, urls, nil
}

// StartMember starts this replica's member of the cluster in dir and waits
// until the cluster serves, which needs a quorum of members up.
func StartMember(dir string, m Member) (*Etcd, error) {
	return StartMemberContext(context.Background(), dir, m)
}

// StartMemberContext is StartMember that gives up when ctx ends (a SIGTERM
// while scaplockd waits for a quorum).
func StartMemberContext(ctx context.Context, dir string, m Member) (*Etcd, error) {
	names, urls, err := ParseInitialCluster(m.InitialCluster)
	if err != nil {
		return nil, err
	}
	var advertise *url.URL
	for i, n := range names {
		if n == m.Name {
			advertise = urls[i]
		}
	}
	if advertise == nil {
		return nil, fmt.Errorf("member %q is not in the initial cluster %s", m.Name, m.InitialCluster)
	}
	listen := *advertise
	if m.PeerListenURL != "" {
		u, err := url.Parse(m.PeerListenURL)
		if err != nil {
			return nil, fmt.Errorf("peer listen URL: %w", err)
		}
		listen = *u
	} else if net.ParseIP(listen.Hostname()) == nil {
		// etcd listens on addresses, not names.
		listen.Host = net.JoinHostPort("0.0.0.0", listen.Port())
	}
	clientURL, err := freeLoopbackURL()
	if err != nil {
		return nil, err
	}
	if m.ClientURL != "" {
		if clientURL, err = url.Parse(m.ClientURL); err != nil {
			return nil, fmt.Errorf("client URL: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = m.Name
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.LogLevel = "fatal"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{listen}, []url.URL{*advertise}
	cfg.InitialCluster = m.InitialCluster
	cfg.InitialClusterToken = "scaplock"
	cfg.ClusterState = embed.ClusterStateFlagNew
	if m.State == embed.ClusterStateFlagExisting {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	// Refuse membership changes that would lose the quorum.
	cfg.StrictReconfigCheck = true
	if m.PeerTLS.CertFile != "" {
		m.PeerTLS.ClientCertAuth = m.PeerTLS.TrustedCAFile != ""
		cfg.PeerTLSInfo = m.PeerTLS
	}
	ready := m.Ready
	if ready == 0 {
		ready = 5 * time.Minute
	}
	return serve(ctx, cfg, clientURL, ready, m.Options)
}
