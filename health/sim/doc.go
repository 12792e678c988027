// Package sim is a simulated Kubernetes control plane for demos, tests and
// benchmark replays of the health gate.
//
// A Scenario is a data file (YAML, see scenarios/*.yaml) that scripts, per
// control-plane host and over scenario time, the signals the gate watches:
// CPU utilisation, TCP retransmits/s, NIC egress bytes/s against the link
// speed, and the apiserver's /readyz latency and failure windows. It also
// lists the moments deploys start and yields the ground truth of when each
// host was degraded, so a replay can score which deploys the gate should have
// refused.
//
// Everything about a scenario is a pure function of (scenario, host, t):
// At gives the signal values, Counters the node_exporter counters, Degraded
// the ground truth. Noise is derived from the seed and the second of scenario
// time, never from a random source, so a given (scenario, t) always yields the
// same values.
//
// Serve turns a scenario into loopback HTTP servers: one apiserver (/readyz)
// and one node_exporter (/metrics, Prometheus text format) per host, whose
// answers follow a Clock (LiveClock for demos, ManualClock for replays).
//
// # Time
//
// Scenario time t is an offset from the scenario's start (Start gives the
// wall-clock anchor used for display). Compression C says how many scenario
// seconds pass per real second when played live. Past the end of a scenario
// the values hold their final level.
//
// # Counters and compression
//
// A prober turns counters into rates by dividing counter deltas by the REAL
// time between its scrapes. With compression C, Δt of scenario time passes in
// Δt/C of real time, so for the prober to see the scripted rate r the counter
// must advance by r × Δt/C. Counters therefore returns the integral of the
// scripted rates over scenario time divided by the compression it is given.
// Serve uses the scenario's compression unless told otherwise with
// CounterCompression; a replay whose prober measures scenario time (an
// injected clock) passes CounterCompression(1).
//
// Integration uses a fixed step of one scenario second (the value at the start
// of each second holds for that second) and is cached per host, so a counter
// at t=5h costs one lookup. Two scrapes Δt apart give, per real second, the
// average of the per-second scripted values over that window.
//
// When a looping clock wraps back to the start, the control plane keeps
// accumulating (it adds one lap's worth of counter per wrap), so the exposed
// counters never reset. A clock that steps backwards is taken as a wrap.
//
// # Latency
//
// /readyz answers after the scripted latency, measured in real time: the
// prober times the request, so the latency is slept as is, not divided by the
// compression. LatencyScale multiplies it (a fast replay may use 0.01 and scale
// its thresholds likewise) and MaxLatency caps it. A status of 0 in a failure
// window means no answer: the request is held until the client gives up (its
// timeout) or MaxLatency passes, then the connection is dropped without a
// response.
package sim
