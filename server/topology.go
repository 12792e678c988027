package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scaplock/scaplock/api"
)

// Store topologies, as /api/v1/status, the page and scaplock_store_members say.
const (
	TopologyEmbeddedSingle  = "embedded-single"  // one embedded node: no redundancy
	TopologyEmbeddedCluster = "embedded-cluster" // this replica is one member of the replicas' cluster
	TopologyExternal        = "external"
)

// topology lists etcd's members once, at start.
func (s *Server) topology(ctx context.Context) (api.StoreInfo, error) {
	info := api.StoreInfo{Topology: TopologyExternal}
	if s.embedded != nil {
		info.Topology = TopologyEmbeddedSingle
		if s.cfg.EtcdInitialCluster != "" {
			info.Topology = TopologyEmbeddedCluster
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := s.cli.MemberList(ctx)
	if err != nil {
		return info, err
	}
	info.Members = len(resp.Members)
	return info, nil
}

func registerTopology(reg prometheus.Registerer, info api.StoreInfo) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scaplock_store_members",
		Help: "etcd members of this replica's store at start, by topology (embedded-single, embedded-cluster, external).",
	}, []string{"topology"})
	g.WithLabelValues(info.Topology).Set(float64(info.Members))
	reg.MustRegister(g)
}
