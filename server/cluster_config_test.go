package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/server"
)

// Each mistake in the embedded cluster's variables is refused with a
// message naming the variable, before anything starts.
func TestClusterConfigErrors(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(strings.Repeat("k", 40)), 0o600)
	three := "a=http://127.0.0.1:2380,b=http://127.0.0.2:2380,c=http://127.0.0.3:2380"
	base := map[string]string{"SCAPLOCK_DATA_DIR": dir, "SCAPLOCK_JWT_SECRET_FILE": secret, "SCAPLOCK_REPLICA_NAME": "a", "SCAPLOCK_ETCD_INITIAL_CLUSTER": three}
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not a member", map[string]string{"SCAPLOCK_REPLICA_NAME": "d"}, `SCAPLOCK_REPLICA_NAME: "d" is not a member of SCAPLOCK_ETCD_INITIAL_CLUSTER (a, b, c)`},
		{"no name=url", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=http://127.0.0.1:2380,http://127.0.0.2:2380"}, `SCAPLOCK_ETCD_INITIAL_CLUSTER: "http://127.0.0.2:2380" is not name=peerURL`},
		{"duplicate", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=http://127.0.0.1:2380,a=http://127.0.0.2:2380"}, `SCAPLOCK_ETCD_INITIAL_CLUSTER: member "a" is listed twice`},
		{"no port", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=http://127.0.0.1"}, `SCAPLOCK_ETCD_INITIAL_CLUSTER: member a: "http://127.0.0.1" is not an http(s)://host:port peer URL`},
		{"with endpoints", map[string]string{"SCAPLOCK_ETCD_ENDPOINTS": "http://127.0.0.1:2379"}, "SCAPLOCK_ETCD_INITIAL_CLUSTER and SCAPLOCK_ETCD_ENDPOINTS: set only one"},
		{"state", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER_STATE": "fresh"}, `SCAPLOCK_ETCD_INITIAL_CLUSTER_STATE: "fresh" is not new or existing`},
		{"peer listen on a name", map[string]string{"SCAPLOCK_ETCD_PEER_URL": "http://scaplock1.example:2380"}, "SCAPLOCK_ETCD_PEER_URL:"},
		{"client URL off loopback", map[string]string{"SCAPLOCK_ETCD_CLIENT_URL": "http://10.0.0.1:2379"}, "SCAPLOCK_ETCD_CLIENT_URL:"},
		{"https without peer TLS", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=https://127.0.0.1:2380"}, "SCAPLOCK_ETCD_INITIAL_CLUSTER: member a is https but peer TLS is not configured"},
		{"peer TLS half set", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=https://127.0.0.1:2380", "SCAPLOCK_ETCD_PEER_CERT_FILE": secret}, "SCAPLOCK_ETCD_PEER_CERT_FILE, SCAPLOCK_ETCD_PEER_KEY_FILE and SCAPLOCK_ETCD_PEER_CA_FILE: set all three"},
		{"peer certificate unreadable", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "a=https://127.0.0.1:2380", "SCAPLOCK_ETCD_PEER_CERT_FILE": secret, "SCAPLOCK_ETCD_PEER_KEY_FILE": secret, "SCAPLOCK_ETCD_PEER_CA_FILE": secret}, "SCAPLOCK_ETCD_PEER_CERT_FILE:"},
		{"no shared JWT key", map[string]string{"SCAPLOCK_JWT_SECRET_FILE": ""}, "SCAPLOCK_JWT_SECRET_FILE: with SCAPLOCK_ETCD_INITIAL_CLUSTER every replica must verify tokens with the same key"},
		{"peer URL without a cluster", map[string]string{"SCAPLOCK_ETCD_INITIAL_CLUSTER": "", "SCAPLOCK_ETCD_PEER_URL": "http://127.0.0.1:2380"}, "SCAPLOCK_ETCD_PEER_URL: only used with SCAPLOCK_ETCD_INITIAL_CLUSTER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range c.env {
				env[k] = v
			}
			_, err := server.LoadConfig(context.Background(), env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
	if _, err := server.LoadConfig(context.Background(), base); err != nil {
		t.Fatalf("a valid member: %v", err)
	}
}
