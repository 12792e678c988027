package gate

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// View is every replica's copy of what the gate leader publishes: each
// cluster's latest report, its recent samples, and who leads. It is fed by
// the store's watch (Parts), so it reflects the same revisions as the
// holds, and it serves the API and a new leader's adoption.
type View struct {
	keys lock.Keys
	log  *slog.Logger

	mu         sync.RWMutex
	reports    map[string]apiv1.ClusterHealth
	samples    map[string]map[string]map[apiv1.Signal][]apiv1.Point // cluster, host, signal
	candidates map[string]candidate                                 // election key -> candidate
}

type candidate struct {
	createRev int64
	name      string
}

// NewView makes an empty view of the gate's keys under keys' prefix.
func NewView(keys lock.Keys, log *slog.Logger) *View {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &View{keys: keys, log: log}
	v.reset()
	return v
}

func (v *View) reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reports = map[string]apiv1.ClusterHealth{}
	v.samples = map[string]map[string]map[apiv1.Signal][]apiv1.Point{}
	v.candidates = map[string]candidate{}
}

// Parts are the view's prefixes, for lock.Options.Parts.
func (v *View) Parts() []lock.Part {
	return []lock.Part{
		{Prefix: v.keys.Health(), Reset: v.reset, Put: v.putReport, Del: v.delReport},
		{Prefix: v.keys.Samples(), Put: v.putSamples, Del: v.delSamples},
		{Prefix: v.keys.Election(), Put: v.putCandidate, Del: v.delCandidate},
	}
}

// Reports returns every cluster's latest report, with the values and the
// reason of the samples published since (withSamples), and the gate's
// leader.
func (v *View) Reports() (map[string]apiv1.ClusterHealth, string) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return maps.Clone(v.reports), v.leaderLocked()
}

// Samples returns the recent values of every cluster, host and signal,
// oldest first.
func (v *View) Samples() map[string]map[string]map[apiv1.Signal][]apiv1.Point {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make(map[string]map[string]map[apiv1.Signal][]apiv1.Point, len(v.samples))
	for cluster, hosts := range v.samples {
		c := make(map[string]map[apiv1.Signal][]apiv1.Point, len(hosts))
		for host, sigs := range hosts {
			c[host] = maps.Clone(sigs) // point slices are never changed in place
		}
		out[cluster] = c
	}
	return out
}

func (v *View) putReport(kv *mvccpb.KeyValue) *lock.Change {
	cluster := strings.TrimPrefix(string(kv.Key), v.keys.Health())
	var r apiv1.ClusterHealth
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		v.log.Warn("skipping undecodable health report", "key", string(kv.Key), "err", err)
		return nil
	}
	v.mu.Lock()
	prev, had := v.reports[cluster]
	v.reports[cluster] = r
	v.mu.Unlock()
	if had && !health.ReportChanged(prev, r) {
		// A heartbeat: readers learn nothing from it, and a fleet's
		// heartbeats would fill every stream.
		return nil
	}
	return &lock.Change{Type: apiv1.ChangeHealth, Cluster: cluster, Health: &r, Revision: kv.ModRevision}
}

func (v *View) delReport(kv *mvccpb.KeyValue) *lock.Change {
	cluster := strings.TrimPrefix(string(kv.Key), v.keys.Health())
	v.mu.Lock()
	delete(v.reports, cluster)
	v.mu.Unlock()
	return &lock.Change{Type: apiv1.ChangeHealth, Cluster: cluster, Revision: kv.ModRevision}
}

// putSamples appends one evaluation's values to the cluster's recent
// samples, keeping the last apiv1.MaxRecentSamples of each signal. They
// reach the stream only while the cluster is not wholly ok (quiet): in a
// fleet, every healthy cluster's values every interval would be most of
// what every reader receives, and none of it asks for a look.
func (v *View) putSamples(kv *mvccpb.KeyValue) *lock.Change {
	var smp apiv1.Samples
	if err := json.Unmarshal(kv.Value, &smp); err != nil {
		v.log.Warn("skipping undecodable samples", "key", string(kv.Key), "err", err)
		return nil
	}
	smp.Cluster = strings.TrimPrefix(string(kv.Key), v.keys.Samples())
	v.mu.Lock()
	defer v.mu.Unlock()
	hosts := v.samples[smp.Cluster]
	if hosts == nil {
		hosts = map[string]map[apiv1.Signal][]apiv1.Point{}
		v.samples[smp.Cluster] = hosts
	}
	for _, h := range smp.Hosts {
		sigs := hosts[h.Host]
		if sigs == nil {
			sigs = map[apiv1.Signal][]apiv1.Point{}
			hosts[h.Host] = sigs
		}
		for sig, val := range h.Values {
			pts := append(sigs[sig], apiv1.Point{At: smp.At, Value: val})
			if len(pts) > apiv1.MaxRecentSamples {
				// A fresh slice: readers hold copies of the old one.
				pts = slices.Clone(pts[len(pts)-apiv1.MaxRecentSamples:])
			}
			sigs[sig] = pts
		}
	}
	r, ok := v.reports[smp.Cluster]
	if !ok {
		return &lock.Change{Type: apiv1.ChangeSamples, Cluster: smp.Cluster, Samples: &smp, Revision: kv.ModRevision}
	}
	v.reports[smp.Cluster] = withSamples(r, smp)
	if quiet(r) {
		return nil
	}
	return &lock.Change{Type: apiv1.ChangeSamples, Cluster: smp.Cluster, Samples: &smp, Revision: kv.ModRevision}
}

// withSamples is r as of samples taken after it: their values, and their
// reason when they carry one. The gate writes a report only when a level
// changes (health.ReportChanged), while a degraded cluster's values move
// every interval and its auto hold, which preflight shows, quotes them:
// status must show the same. The page applies the same rule to the
// stream's "samples" (app.js withSamples).
func withSamples(r apiv1.ClusterHealth, smp apiv1.Samples) apiv1.ClusterHealth {
	if smp.Reason != "" {
		r.Reason = smp.Reason
	}
	// The stored report is shared with readers: a new one, not changed in place.
	hosts := slices.Clone(r.Hosts)
	for _, h := range smp.Hosts {
		i := slices.IndexFunc(hosts, func(rh apiv1.HostHealth) bool { return rh.Host == h.Host })
		if i < 0 {
			continue
		}
		sigs := maps.Clone(hosts[i].Signals)
		for sig, val := range h.Values {
			st, ok := sigs[sig]
			if !ok || st.Level == apiv1.LevelError || !smp.At.After(st.At) {
				continue
			}
			st.Value, st.At, st.Peak = val, smp.At, max(st.Peak, val)
			sigs[sig] = st
		}
		hosts[i].Signals = sigs
	}
	r.Hosts = hosts
	return r
}

// quiet reports whether a cluster is ok with every signal of every host at
// ok: nothing on it is worth watching live.
func quiet(r apiv1.ClusterHealth) bool {
	if r.Status != apiv1.StatusOK {
		return false
	}
	for _, h := range r.Hosts {
		for _, s := range h.Signals {
			if s.Level != apiv1.LevelOK {
				return false
			}
		}
	}
	return true
}

func (v *View) delSamples(kv *mvccpb.KeyValue) *lock.Change {
	v.mu.Lock()
	delete(v.samples, strings.TrimPrefix(string(kv.Key), v.keys.Samples()))
	v.mu.Unlock()
	return nil
}

// The election's candidates are kept so that every replica can name the
// leader: the candidate with the lowest create revision, as
// concurrency.Election decides.
func (v *View) putCandidate(kv *mvccpb.KeyValue) *lock.Change {
	v.mu.Lock()
	defer v.mu.Unlock()
	before := v.leaderLocked()
	v.candidates[string(kv.Key)] = candidate{createRev: kv.CreateRevision, name: string(kv.Value)}
	return v.leaderChange(before, kv.ModRevision)
}

func (v *View) delCandidate(kv *mvccpb.KeyValue) *lock.Change {
	v.mu.Lock()
	defer v.mu.Unlock()
	before := v.leaderLocked()
	delete(v.candidates, string(kv.Key))
	return v.leaderChange(before, kv.ModRevision)
}

func (v *View) leaderChange(before string, rev int64) *lock.Change {
	if after := v.leaderLocked(); after != before {
		return &lock.Change{Type: apiv1.ChangeLeader, Leader: after, Revision: rev}
	}
	return nil
}

func (v *View) leaderLocked() string {
	best := candidate{}
	for _, c := range v.candidates {
		if best.createRev == 0 || c.createRev < best.createRev {
			best = c
		}
	}
	return best.name
}
