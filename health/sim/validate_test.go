package sim

import (
	"errors"
	"strings"
	"testing"
)

// validBase is a valid scenario; each rejection case appends or replaces one
// part of it.
const validBase = `name: t
duration: 1h
compression: 60
hosts:
  - {name: a, cores: 4, link_speed_bytes: 1.25e8}
  - {name: b, cores: 4, link_speed_bytes: 1.25e9}
baseline: {cpu: 0.3, retransmits: 10, nic_bytes_per_s: 1e6, readyz_latency: 40ms, noise: 0.05}
`

func TestParseValidCombinations(t *testing.T) {
	s, err := Parse([]byte(validBase + `
limits:
  cpu: {warn: 0.7, crit: 0.8}
  readyz_latency: {warn: 200ms, crit: 400ms}
  sustain: 10s
segments:
  - {host: "*", from: 0, to: 30m, cpu: {from: 0.1, to: 0.5}}
  - {host: a, from: 10m, to: 20m, nic_utilisation: {min: 0.2, max: 0.4, period: 1m}, link_speed_bytes: 2e8}
  - {host: b, from: 10m, to: 20m, readyz_latency: {from: 10ms, to: 1s}}
bursts:
  - {host: "*", at: 5m, length: 20s, cpu: 1}
deploy_bursts:
  - {host: a, delay: 5s, length: {min: 5s, max: 10s}, retransmits: 2000}
probe_failures:
  - {host: "*", from: 40m, to: 41m, status: 0}
deploys: [1m, 2m, 59m]
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := s.Limits().CPU.Crit; got != 0.8 {
		t.Errorf("limits.cpu.crit = %v, want 0.8", got)
	}
	if got := s.Limits().Retransmits.Crit; got != 1000 {
		t.Errorf("limits.retransmits.crit = %v, want the default 1000", got)
	}
	// "*" bursts and failures cover every host; deploy bursts follow every deploy.
	if len(s.bursts) != 2+3 || len(s.failures) != 2 {
		t.Errorf("%d bursts, %d failures; want 5 and 2", len(s.bursts), len(s.failures))
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"empty", "", "empty document"},
		{"unknown top-level key", validBase + "colour: blue\n", "field colour not found"},
		{"unknown baseline key", strings.Replace(validBase, "noise: 0.05", "noise: 0.05, jitter: 1", 1), "field jitter not found"},
		{"unknown curve key", validBase + "segments:\n  - {host: a, from: 0, to: 1m, cpu: {from: 0.1, too: 0.2}}\n", "field too not allowed"},
		{"missing name", strings.Replace(validBase, "name: t", "name: ''", 1), "name: must be a non-empty word"},
		{"missing duration", strings.Replace(validBase, "duration: 1h\n", "", 1), "duration: is required"},
		{"zero duration", strings.Replace(validBase, "duration: 1h", "duration: 0s", 1), "duration: must be in"},
		{"duration not a duration", strings.Replace(validBase, "duration: 1h", "duration: 60", 1), `"60" is not a duration`},
		{"zero compression", strings.Replace(validBase, "compression: 60", "compression: 0", 1), "compression: must be > 0, got 0"},
		{"negative compression", strings.Replace(validBase, "compression: 60", "compression: -2", 1), "compression: must be > 0, got -2"},
		{"bad start", validBase + "start: yesterday\n", `start: "yesterday" is not an RFC 3339 time`},
		{"no hosts", strings.Replace(strings.Replace(validBase, "  - {name: a, cores: 4, link_speed_bytes: 1.25e8}\n", "", 1), "  - {name: b, cores: 4, link_speed_bytes: 1.25e9}\n", "", 1), "hosts: at least one host is required"},
		{"duplicate host", strings.Replace(validBase, "name: b,", "name: a,", 1), `hosts[1].name: "a" is listed twice`},
		{"zero cores", strings.Replace(validBase, "{name: a, cores: 4", "{name: a, cores: 0", 1), "hosts[0].cores: must be in [1, 1024], got 0"},
		{"no link speed", strings.Replace(validBase, "cores: 4, link_speed_bytes: 1.25e8", "cores: 4", 1), "hosts[0].link_speed_bytes: is required"},
		{"baseline cpu above 1", strings.Replace(validBase, "cpu: 0.3", "cpu: 1.3", 1), "baseline.cpu: must be in [0, 1], got 1.3"},
		{"baseline missing latency", strings.Replace(validBase, ", readyz_latency: 40ms", "", 1), "baseline.readyz_latency: is required"},
		{"noise too large", strings.Replace(validBase, "noise: 0.05", "noise: 0.9", 1), "baseline.noise: must be in [0, 0.5], got 0.9"},
		{"limits warn above crit", validBase + "limits: {cpu: {warn: 0.95, crit: 0.9}}\n", "limits.cpu: want 0 < warn <= crit <= 1"},
		{"segment unknown host", validBase + "segments:\n  - {host: c, from: 0, to: 1m, cpu: 0.5}\n", `segments[0].host: unknown host "c"`},
		{"segment to before from", validBase + "segments:\n  - {host: a, from: 2h, to: 1h, cpu: 0.5}\n", "segments[0].to: 1h0m0s is not after from 2h0m0s"},
		{"segment past end", validBase + "segments:\n  - {host: a, from: 0, to: 2h, cpu: 0.5}\n", "segments[0].to: 2h0m0s is past the scenario's duration 1h0m0s"},
		{"segment missing to", validBase + "segments:\n  - {host: a, from: 0, cpu: 0.5}\n", "segments[0].to: is required"},
		{"segment cpu above 1", validBase + "segments:\n  - {host: a, from: 0, to: 1m, cpu: {from: 0.5, to: 1.5}}\n", "segments[0].cpu: values must be in [0, 1]"},
		{"segment sets nothing", validBase + "segments:\n  - {host: a, from: 0, to: 1m}\n", "segments[0]: sets no value"},
		{"segment both nic fields", validBase + "segments:\n  - {host: a, from: 0, to: 1m, nic_bytes_per_s: 1, nic_utilisation: 0.5}\n", "segments[0]: set nic_bytes_per_s or nic_utilisation, not both"},
		{"wave without period", validBase + "segments:\n  - {host: a, from: 0, to: 1m, cpu: {min: 0.1, max: 0.2}}\n", "a wave {min, max} needs a period"},
		{"wave min above max", validBase + "segments:\n  - {host: a, from: 0, to: 1m, cpu: {min: 0.5, max: 0.2, period: 1m}}\n", "segments[0].cpu: min 0.5 is above max 0.2"},
		{"ramp with half", validBase + "segments:\n  - {host: a, from: 0, to: 1m, cpu: {from: 0.5}}\n", "from and to must be given together"},
		{"burst past end", validBase + "bursts:\n  - {host: a, at: 59m50s, length: 20s, cpu: 1}\n", "bursts[0].length: burst at 59m50s for 20s ends past"},
		{"burst cpu above 1", validBase + "bursts:\n  - {host: a, at: 1m, length: 20s, cpu: 2}\n", "bursts[0].cpu: must be in [0, 1], got 2"},
		{"burst unknown host", validBase + "bursts:\n  - {host: zz, at: 1m, length: 20s, cpu: 1}\n", `bursts[0].host: unknown host "zz"`},
		{"deploy burst bad length", validBase + "deploy_bursts:\n  - {host: a, length: {min: 30s, max: 10s}, cpu: 1}\n", "deploy_bursts[0].length: want 0 < min <= max"},
		{"deploy burst no length", validBase + "deploy_bursts:\n  - {host: a, cpu: 1}\n", "deploy_bursts[0].length: is required"},
		{"failure bad status", validBase + "probe_failures:\n  - {host: a, from: 0, to: 1m, status: 200}\n", "probe_failures[0].status: must be 0 (no answer) or an HTTP status 400-599, got 200"},
		{"failure latency with no answer", validBase + "probe_failures:\n  - {host: a, from: 0, to: 1m, status: 0, readyz_latency: 1s}\n", "probe_failures[0].readyz_latency: has no effect with status 0"},
		{"failure no status", validBase + "probe_failures:\n  - {host: a, from: 0, to: 1m}\n", "probe_failures[0].status: is required"},
		{"deploy outside duration", validBase + "deploys: [10m, 1h]\n", "deploys[1]: 1h0m0s is outside the scenario [0, 1h0m0s)"},
		{"deploy negative", validBase + "deploys: [-1m]\n", "deploys[0]: -1m0s is outside the scenario"},
		{"deploys out of order", validBase + "deploys: [10m, 5m]\n", "deploys[1]: 5m0s is not after deploys[0] 10m0s"},
		{"two documents", validBase + "---\nname: u\n", "want one YAML document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse accepted it; want error containing %q", tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(validBase, "compression: 60", "compression: 0", 1) + "deploys: [2h]\n"))
	if err == nil || !strings.Contains(err.Error(), "compression:") || !strings.Contains(err.Error(), "deploys[0]:") {
		t.Fatalf("error = %v, want both compression and deploys[0] named", err)
	}
}
