package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/etcdserverpb"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock/tick"
)

// clusterWatch checks every etcd member every checkEvery, so that status
// shows a dead member as dead without waiting on it, and runs this
// replica's registration (replicas.go). Its goroutines stop with stop.
type clusterWatch struct {
	s        *Server
	replicas *replicas
	stop     context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	members []apiv1.MemberState
}

const checkEvery = 2 * time.Second

func (s *Server) startClusterWatch(r *replicas, url string) *clusterWatch {
	ctx, stop := context.WithCancel(context.Background())
	w := &clusterWatch{s: s, replicas: r, stop: stop}
	w.wg.Go(func() { r.run(ctx, s.cli, url) })
	w.wg.Go(func() {
		check := func() {
			states := s.memberStates(ctx)
			w.mu.Lock()
			w.members = states
			w.mu.Unlock()
		}
		check()
		tick.Until(ctx.Done(), checkEvery, check)
	})
	return w
}

func (w *clusterWatch) close() {
	w.stop()
	w.wg.Wait()
}

// info is the store as status shows it: info with the members' and
// replicas' last known states.
func (w *clusterWatch) info(info apiv1.StoreInfo) apiv1.StoreInfo {
	w.mu.Lock()
	info.MemberStates = w.members
	w.mu.Unlock()
	info.MembersUp = 0
	for _, m := range info.MemberStates {
		if m.OK {
			info.MembersUp++
		}
	}
	if len(info.MemberStates) > 0 {
		info.Members = len(info.MemberStates)
	}
	info.Replicas = w.replicas.States()
	return info
}

// memberStates asks every etcd member for its status, at once: the
// members etcd lists, or the configured endpoints when the list cannot be
// had (no quorum). An embedded replica's client knows only its own member;
// the member list names the others.
func (s *Server) memberStates(ctx context.Context) []apiv1.MemberState {
	type target struct{ name, endpoint string }
	var targets []target
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	list, err := s.cli.MemberList(lctx)
	cancel()
	if err == nil {
		for _, m := range list.Members {
			targets = append(targets, target{name: m.Name, endpoint: firstURL(m)})
		}
	} else {
		for _, ep := range s.cli.Endpoints() {
			targets = append(targets, target{endpoint: ep})
		}
	}
	out := make([]apiv1.MemberState, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			out[i] = apiv1.MemberState{Name: t.name, Endpoint: t.endpoint}
			if t.endpoint == "" {
				out[i].Error = "member has not started (no client URL)"
				return
			}
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			st, err := s.cli.Status(sctx, t.endpoint)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].OK = true
			out[i].Leader = st.Header.MemberId == st.Leader
		})
	}
	wg.Wait()
	return out
}

func firstURL(m *etcdserverpb.Member) string {
	if len(m.ClientURLs) == 0 {
		return ""
	}
	return m.ClientURLs[0]
}

var (
	replicasDesc = prometheus.NewDesc("scaplock_replicas",
		"Replicas sharing the store as this one sees them, by state: alive, dead (registration expired without a clean stop), stopped.", []string{"state"}, nil)
	membersDesc = prometheus.NewDesc("scaplock_etcd_members",
		"etcd members by whether they answered the last status check: up, down.", []string{"state"}, nil)
)

// Describe and Collect export what info shows, read at scrape time.
func (w *clusterWatch) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicasDesc
	ch <- membersDesc
}

func (w *clusterWatch) Collect(ch chan<- prometheus.Metric) {
	info := w.info(apiv1.StoreInfo{})
	n := map[string]int{"alive": 0, "dead": 0, "stopped": 0}
	for _, r := range info.Replicas {
		n[r.State]++
	}
	for state, c := range n {
		ch <- prometheus.MustNewConstMetric(replicasDesc, prometheus.GaugeValue, float64(c), state)
	}
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(info.MembersUp), "up")
	ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(len(info.MemberStates)-info.MembersUp), "down")
}
