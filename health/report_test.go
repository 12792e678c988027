package health

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The gate publishes a State as JSON and every replica reads it back as the
// wire contract's ClusterHealth: nothing may be lost on the way.
func TestStateTravelsAsClusterHealth(t *testing.T) {
	at := time.Date(2024, 5, 28, 12, 49, 12, 0, time.UTC)
	st := State{
		Cluster: "eqiad", Status: StatusDegraded, Since: at, TrippedAt: at, CritStreak: 3, ClearStreak: 0, ErrorStreak: 1,
		Reason: "kubemaster1002 readyz 4.2s", UpdatedAt: at.Add(5 * time.Second),
		Hosts: []HostState{{Host: "kubemaster1002:6443", Signals: map[Signal]SignalState{
			SignalLatency: {Value: 4.2, Level: LevelCrit, Warn: 0.5, Crit: 1, At: at, Since: at, Peak: 4.2, Recent: []Point{{At: at, Value: 4.2}}},
			SignalCPU:     {Level: LevelError, Err: "scrape failed", At: at, Since: at},
		}}},
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var report apiv1.ClusterHealth
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	if back := State(report); !reflect.DeepEqual(back, st) {
		t.Fatalf("round trip changed the report:\n got %+v\nwant %+v", back, st)
	}
}
