// Package contrib holds no code: its tests check the files beside it that
// run scaplock in production — the Prometheus alert rules and their unit
// tests, the Grafana dashboard, the systemd units and the Debian package.
package contrib
