// Package health watches the Kubernetes control plane of each cluster and
// decides whether it is healthy enough to deploy to.
//
// It has three parts:
//
//   - configuration: the clusters file (ParseConfig, LoadConfig), strictly
//     validated, with defaults applied in one place;
//   - probes and sources (Prober): a readyz GET on each apiserver, and the
//     control-plane hosts' CPU, TCP retransmits and NIC egress, either scraped
//     from node_exporter directly or queried from Prometheus;
//   - the evaluator (Evaluate): a pure function from the previous State, one
//     round of Samples and the time to the next State, with warn and crit
//     thresholds, trip_after / clear_after hysteresis, min_hold and a policy
//     for failing sources.
//
// The gate in package server runs one Prober per cluster at the configured
// interval, feeds the samples to Evaluate and turns a degraded State into an
// automatic hold.
package health
