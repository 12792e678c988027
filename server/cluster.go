package server

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/scaplock/scaplock/server/embedetcd"
)

// validateCluster checks the embedded cluster's variables: this replica is
// a member of SCAPLOCK_ETCD_INITIAL_CLUSTER under its SCAPLOCK_REPLICA_NAME,
// peer TLS is all or nothing and matches the URLs' scheme, the client
// listener stays on loopback, and all replicas share one JWT key.
func (c Config) validateCluster() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.EtcdClientURL != "" {
		u, err := checkURL(c.EtcdClientURL, "http")
		if err != nil || u.Port() == "" || !isLoopback(u.Hostname()) {
			bad("SCAPLOCK_ETCD_CLIENT_URL: %q is not an http://<loopback address>:port URL (the embedded etcd's clients are on this host)", c.EtcdClientURL)
		}
	}
	peerTLS := c.EtcdPeerCertFile != "" || c.EtcdPeerKeyFile != "" || c.EtcdPeerCAFile != ""
	if c.EtcdInitialCluster == "" {
		for name, v := range map[string]string{"SCAPLOCK_ETCD_PEER_URL": c.EtcdPeerURL, "SCAPLOCK_ETCD_CLIENT_URL": c.EtcdClientURL, "SCAPLOCK_ETCD_PEER_CERT_FILE": c.EtcdPeerCertFile,
			"SCAPLOCK_ETCD_PEER_KEY_FILE": c.EtcdPeerKeyFile, "SCAPLOCK_ETCD_PEER_CA_FILE": c.EtcdPeerCAFile} {
			if v != "" {
				bad("%s: only used with SCAPLOCK_ETCD_INITIAL_CLUSTER", name)
			}
		}
		return errs
	}
	if len(c.EtcdEndpoints) > 0 {
		bad("SCAPLOCK_ETCD_INITIAL_CLUSTER and SCAPLOCK_ETCD_ENDPOINTS: set only one (embedded cluster or external etcd)")
	}
	names, urls, err := embedetcd.ParseInitialCluster(c.EtcdInitialCluster)
	if err != nil {
		bad("SCAPLOCK_ETCD_INITIAL_CLUSTER: %v", err)
		return errs
	}
	if !slices.Contains(names, c.ReplicaName) {
		bad("SCAPLOCK_REPLICA_NAME: %q is not a member of SCAPLOCK_ETCD_INITIAL_CLUSTER (%s): each replica's name is its member name", c.ReplicaName, strings.Join(names, ", "))
	}
	switch c.EtcdInitialClusterState {
	case "new", "existing":
	default:
		bad("SCAPLOCK_ETCD_INITIAL_CLUSTER_STATE: %q is not new or existing", c.EtcdInitialClusterState)
	}
	if c.EtcdPeerURL != "" {
		u, err := checkURL(c.EtcdPeerURL, "http", "https")
		if err != nil || u.Port() == "" || net.ParseIP(u.Hostname()) == nil {
			bad("SCAPLOCK_ETCD_PEER_URL: %q is not an http(s)://<IP address>:port URL to listen on", c.EtcdPeerURL)
		}
	}
	for i, u := range urls {
		if err := checkPort(u.Port()); err != nil {
			bad("SCAPLOCK_ETCD_INITIAL_CLUSTER: member %s: %v", names[i], err)
		}
	}
	for i, u := range urls {
		if (u.Scheme == "https") != peerTLS {
			bad("SCAPLOCK_ETCD_INITIAL_CLUSTER: member %s is %s but peer TLS is %s (SCAPLOCK_ETCD_PEER_CERT_FILE, _KEY_FILE, _CA_FILE): https needs them, http must not have them",
				names[i], u.Scheme, map[bool]string{true: "configured", false: "not configured"}[peerTLS])
			break
		}
	}
	if peerTLS && (c.EtcdPeerCertFile == "" || c.EtcdPeerKeyFile == "" || c.EtcdPeerCAFile == "") {
		bad("SCAPLOCK_ETCD_PEER_CERT_FILE, SCAPLOCK_ETCD_PEER_KEY_FILE and SCAPLOCK_ETCD_PEER_CA_FILE: set all three (peers verify each other's certificates)")
	}
	if c.JWTSecretFile == "" && c.JWTPublicKeyFile == "" {
		bad("SCAPLOCK_JWT_SECRET_FILE: with SCAPLOCK_ETCD_INITIAL_CLUSTER every replica must verify tokens with the same key (or SCAPLOCK_JWT_PUBLIC_KEY_FILE)")
	}
	return errs
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// member is this replica's embedded etcd member.
func (c Config) member() embedetcd.Member {
	m := embedetcd.Member{
		Name: c.ReplicaName, InitialCluster: c.EtcdInitialCluster, State: c.EtcdInitialClusterState,
		PeerListenURL: c.EtcdPeerURL, ClientURL: c.EtcdClientURL,
		Options: embedetcd.Options{CompactionRetention: c.EtcdCompactionRetention},
	}
	if c.EtcdPeerCertFile != "" {
		m.PeerTLS = transport.TLSInfo{CertFile: c.EtcdPeerCertFile, KeyFile: c.EtcdPeerKeyFile, TrustedCAFile: c.EtcdPeerCAFile}
	}
	return m
}
