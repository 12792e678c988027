// Package contrib holds no code: its tests check the files beside it that
// run scaplock in production — the Prometheus alert rules and their unit
// tests, the SLOs (Pyrra objectives in pyrra/ and the rules generated from
// them), the Grafana dashboard, the systemd units and the Debian package.
package contrib

//go:generate go run ../cmd/scaplock-slo -pyrra pyrra -out prometheus/scaplock-slo.rules.yaml
