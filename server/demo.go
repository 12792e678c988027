package server

import (
	"time"

	"github.com/scaplock/scaplock/health"
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
// gate configuration that points at it.
type Demo struct {
	Scenario *sim.Scenario
	// Gate is the configuration to start the server with (WithGate).
	Gate    health.Config
	opts    DemoOptions
	started time.Time
	plane   *sim.ControlPlane
}

// StartDemo serves the scenario's apiservers and node_exporters on
// loopback and builds the gate configuration that watches them.
func StartDemo(opts DemoOptions) (*Demo, error) {
	s, err := sim.Load(opts.Scenario)
	if err != nil {
		return nil, err
	}
	d := &Demo{Scenario: s, opts: opts, started: time.Now()}
	d.plane, err = sim.Serve(s, d.Now, sim.CounterCompression(opts.Compression), sim.MaxLatency(2*time.Second))
	if err != nil {
		return nil, err
	}
	// Timings scaled to the compression: evaluated every second (6 s of
	// scenario time), tripping after 2 evaluations, clearing after 10.
	c := health.Cluster{Name: "eqiad", Timeout: time.Second, TripAfter: 2, ClearAfter: 10, MinHold: 30 * time.Second}
	for _, e := range d.plane.Endpoints() {
		c.APIServers = append(c.APIServers, health.APIServer{URL: e.APIServerURL, NodeExporter: e.NodeExporterURL, Name: e.Target()})
	}
	d.Gate = health.Config{Interval: time.Second, Mode: health.ModeEnforce, Clusters: []health.Cluster{c}}.WithDefaults()
	if err := d.Gate.Validate(); err != nil {
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
