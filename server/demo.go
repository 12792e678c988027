package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scaplock/scaplock/health/sim"
)

// DemoOptions choose what `scaplockd --demo` plays.
type DemoOptions struct {
	Scenario string
	// Compression is scenario seconds per real second. Low enough that a
	// 10-40 s CPU burst lasts several gate intervals.
	Compression float64
	// Offset is where in the scenario play starts, so something happens
	// within the first minute.
	Offset time.Duration
}

// DefaultDemo plays the 2024-05-28 incident six times faster than it
// happened, starting a couple of minutes before the first failed deploy.
var DefaultDemo = DemoOptions{Scenario: "incident-2024-05-28", Compression: 6, Offset: 14 * time.Minute}

// Demo is a simulated control plane playing a scenario in a loop, and the
// clusters file that points the gate at it.
type Demo struct {
	Scenario     *sim.Scenario
	ClustersFile string
	opts         DemoOptions
	started      time.Time
	plane        *sim.ControlPlane
}

// StartDemo serves the scenario's apiservers and node_exporters on loopback
// and writes a clusters file for them into dir.
func StartDemo(dir string, opts DemoOptions) (*Demo, error) {
	s, err := sim.Load(opts.Scenario)
	if err != nil {
		return nil, err
	}
	d := &Demo{Scenario: s, opts: opts, started: time.Now()}
	d.plane, err = sim.Serve(s, d.Now, sim.CounterCompression(opts.Compression), sim.MaxLatency(2*time.Second))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	// Timings scaled to the compression: evaluated every second (6 s of
	// scenario time), tripping after 2 evaluations, clearing after 10.
	b.WriteString("interval: 1s\nmode: enforce\nclusters:\n  - name: eqiad\n    timeout: 1s\n    trip_after: 2\n    clear_after: 10\n    min_hold: 30s\n    apiservers:\n")
	for _, e := range d.plane.Endpoints() {
		fmt.Fprintf(&b, "      - url: %s\n        node_exporter: %s\n        name: %s\n", e.APIServerURL, e.NodeExporterURL, e.Target())
	}
	d.ClustersFile = filepath.Join(dir, "demo-clusters.yaml")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		d.Close()
		return nil, err
	}
	if err := os.WriteFile(d.ClustersFile, []byte(b.String()), 0o600); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Now is the scenario offset being played: Offset plus real time elapsed
// times Compression, looping over the scenario.
func (d *Demo) Now() time.Duration {
	t := d.opts.Offset + time.Duration(float64(time.Since(d.started))*d.opts.Compression)
	return t % d.Scenario.Duration()
}

// WallClock is the scenario's own time of day being played, for display.
func (d *Demo) WallClock() time.Time { return d.Scenario.Start().Add(d.Now()) }

// Close stops the simulated control plane.
func (d *Demo) Close() error { return d.plane.Close() }
