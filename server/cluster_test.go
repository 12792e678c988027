package server_test

import (
	"context"
	"encoding/json"
	"net/http"
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

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/servertest"
)

// clusterReplica is one scaplockd process of an embedded etcd cluster.
type clusterReplica struct {
	name, url, etcdURL string
	cmd                *exec.Cmd
	log                *os.File
}

// Three scaplockd processes on loopback form one etcd cluster over peer TLS,
// each with its own embedded member. A lock taken on one refuses deploys on
// all three; SIGKILL the process whose member leads etcd, and the other two
// keep taking locks and answering verdicts that include every write.
func TestEmbeddedClusterOfThreeReplicas(t *testing.T) {
	bin := servertest.Build(t, servertest.Scaplockd)
	c := writeCerts(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("k", 40)), 0o600)

	names := []string{"scaplock1", "scaplock2", "scaplock3"}
	var members []string
	replicas := map[string]*clusterReplica{}
	ports := freePorts(t, 3*len(names))
	for i, n := range names {
		members = append(members, n+"=https://"+ports[3*i])
		replicas[n] = &clusterReplica{name: n, url: "http://" + ports[3*i+1], etcdURL: "http://" + ports[3*i+2]}
	}
	logs := t.TempDir()
	for _, n := range names {
		r := replicas[n]
		r.cmd = exec.Command(bin)
		r.cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "SCAPLOCK_LOG_FORMAT=text",
			"SCAPLOCK_LISTEN=" + strings.TrimPrefix(r.url, "http://"), "SCAPLOCK_DATA_DIR=" + t.TempDir(),
			"SCAPLOCK_REPLICA_NAME=" + n, "SCAPLOCK_ETCD_INITIAL_CLUSTER=" + strings.Join(members, ","),
			"SCAPLOCK_ETCD_CLIENT_URL=" + r.etcdURL,
			"SCAPLOCK_ETCD_PEER_CERT_FILE=" + c.peerCert, "SCAPLOCK_ETCD_PEER_KEY_FILE=" + c.peerKey, "SCAPLOCK_ETCD_PEER_CA_FILE=" + c.ca,
			"SCAPLOCK_JWT_SECRET_FILE=" + secretFile, "SCAPLOCK_SCOPES=eqiad,codfw",
		}
		var err error
		if r.log, err = os.Create(filepath.Join(logs, n+".log")); err != nil {
			t.Fatal(err)
		}
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		})
	}
	defer func() {
		if t.Failed() {
			for _, n := range names {
				raw, _ := os.ReadFile(filepath.Join(logs, n+".log"))
				t.Logf("%s log:\n%s", n, raw)
			}
		}
	}()
	// The members start together and bootstrap the cluster; each replica
	// answers once its member serves.
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func(r *clusterReplica) {
			defer wg.Done()
			waitReady(t, r.url, 120*time.Second)
		}(replicas[n])
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, n := range names {
		var st api.StatusResponse
		if code := getJSON(t, replicas[n].url+"/api/v1/status", &st); code != 200 || st.Store.Topology != "embedded-cluster" || st.Store.Members != 3 {
			t.Fatalf("%s status: %d store %+v", n, code, st.Store)
		}
		if raw, _ := os.ReadFile(filepath.Join(logs, n+".log")); strings.Contains(string(raw), "single-node store") {
			t.Errorf("%s calls itself a single-node store", n)
		}
	}

	tok, err := servertest.Token(secretFile, "alice", api.RoleSRE)
	if err != nil {
		t.Fatal(err)
	}
	hold := createHold(t, replicas["scaplock1"].url, tok, "eqiad", "before the kill")
	// Every replica's watch cache follows the one store. (Each verdict is
	// bounded here by the watch's delivery; a linearizable confirm before
	// answering makes it immediate.)
	for _, n := range names {
		eventually(t, "preflight eqiad refused on "+n+" after a lock on scaplock1", 10*time.Second, func() bool {
			return preflight(t, replicas[n].url, "eqiad") == http.StatusLocked
		})
	}

	// Kill the replica whose member leads etcd: the hardest one to lose.
	doomed := etcdLeader(t, replicas, names)
	t.Logf("SIGKILL %s, whose member leads etcd", doomed)
	replicas[doomed].cmd.Process.Signal(syscall.SIGKILL)
	replicas[doomed].cmd.Wait()
	var alive []string
	for _, n := range names {
		if n != doomed {
			alive = append(alive, n)
		}
	}
	// A new etcd leader is elected within seconds; until then writes may 503.
	var second string
	killed := time.Now()
	eventually(t, "a lock taken on a surviving replica", 60*time.Second, func() bool {
		id, code := tryCreateHold(t, replicas[alive[0]].url, tok, "codfw", "after the kill")
		second = id
		return code == http.StatusCreated
	})
	t.Logf("first write accepted %s after the SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	for _, n := range alive {
		for _, scope := range []string{"eqiad", "codfw"} {
			eventually(t, "preflight "+scope+" refused on "+n+" after the kill", 10*time.Second, func() bool {
				return preflight(t, replicas[n].url, scope) == http.StatusLocked
			})
		}
	}
	// Release both through the other survivor: deploys allowed on both.
	for _, id := range []string{hold, second} {
		if code := release(t, replicas[alive[1]].url, tok, id); code != http.StatusOK {
			t.Fatalf("release %s on %s: %d", id, alive[1], code)
		}
	}
	for _, n := range alive {
		eventually(t, "preflight allowed on "+n+" after the releases", 10*time.Second, func() bool {
			return preflight(t, replicas[n].url, "eqiad&scope=codfw") == http.StatusOK
		})
	}
	// Status and readyz on a survivor show the dead replica and its member
	// as dead, and its peers log the outage once, not at every retry.
	for _, n := range alive {
		eventually(t, n+"'s status shows "+doomed+" dead", 30*time.Second, func() bool {
			var st api.StatusResponse
			if getJSON(t, replicas[n].url+"/api/v1/status", &st) != http.StatusOK {
				return false
			}
			dead := false
			for _, r := range st.Store.Replicas {
				dead = dead || r.Name == doomed && r.State == "dead"
			}
			down := false
			for _, m := range st.Store.MemberStates {
				down = down || m.Name == doomed && !m.OK
			}
			return dead && down && st.Store.Members == 3 && st.Store.MembersUp == 2
		})
		var ready api.ReadyResponse
		if code := getJSON(t, replicas[n].url+"/readyz", &ready); code != http.StatusOK || len(ready.Endpoints) != 3 {
			t.Errorf("%s readyz: %d, endpoints %+v; want 200 and all 3 members", n, code, ready.Endpoints)
		}
		okCount := 0
		for _, e := range ready.Endpoints {
			if e.OK {
				okCount++
			}
		}
		if okCount != 2 {
			t.Errorf("%s readyz lists %d members answering, want 2: %+v", n, okCount, ready.Endpoints)
		}
		raw, _ := os.ReadFile(filepath.Join(logs, n+".log"))
		interrupted := strings.Count(string(raw), `msg="etcd watch interrupted`)
		resumed := strings.Count(string(raw), `msg="etcd watch resumed"`)
		if interrupted > resumed+1 {
			t.Errorf("%s logged the watch interrupted %d times and resumed %d times: an outage is logged once", n, interrupted, resumed)
		}
	}
}

func waitReady(t *testing.T, url string, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("%s not ready within %s", url, within)
}

func preflight(t *testing.T, base, scope string) int {
	t.Helper()
	var pf api.PreflightResponse
	return getJSON(t, base+"/api/v1/preflight?scope="+scope, &pf)
}

func tryCreateHold(t *testing.T, base, tok, scope, reason string) (string, int) {
	t.Helper()
	resp := post(t, base+"/api/v1/holds", tok, api.HoldBody{Scope: scope, Reason: reason})
	defer resp.Body.Close()
	var h lock.Hold
	json.NewDecoder(resp.Body).Decode(&h)
	return h.ID, resp.StatusCode
}

func createHold(t *testing.T, base, tok, scope, reason string) string {
	t.Helper()
	id, code := tryCreateHold(t, base, tok, scope, reason)
	if code != http.StatusCreated {
		t.Fatalf("create hold on %s via %s: %d", scope, base, code)
	}
	return id
}

func release(t *testing.T, base, tok, id string) int {
	t.Helper()
	req, _ := http.NewRequest("DELETE", base+"/api/v1/holds/"+id, strings.NewReader(`{"reason":"done"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// etcdLeader asks the members which of them leads.
func etcdLeader(t *testing.T, replicas map[string]*clusterReplica, names []string) string {
	t.Helper()
	ids := map[uint64]string{}
	var leader uint64
	for _, n := range names {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{replicas[n].etcdURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, replicas[n].etcdURL)
		cancel()
		cli.Close()
		if err != nil {
			t.Fatalf("etcd status of %s: %v", n, err)
		}
		ids[st.Header.MemberId] = n
		leader = st.Leader
	}
	name, ok := ids[leader]
	if !ok {
		t.Fatalf("leader %x is none of %v", leader, ids)
	}
	return name
}
