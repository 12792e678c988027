// Command scaplock-slo turns the Pyrra ServiceLevelObjective files in
// contrib/pyrra into a Prometheus rule file of multi-window, multi-burn-rate
// alerts (the SRE workbook's: page at 1h/5m 14.4x and 6h/30m 6x, ticket at
// 1d/2h 3x and 3d/6h 1x), for sites that run no Pyrra. One source: the
// objectives are written once, in Pyrra's format, and both paths read them.
//
//	go run ./cmd/scaplock-slo -pyrra contrib/pyrra -out contrib/prometheus/scaplock-slo.rules.yaml
//
// It reads the part of Pyrra's format the objectives use (ratio and latency
// indicators, grouping, target, window) and rejects anything else by name.
package main
