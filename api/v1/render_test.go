package apiv1

import (
	"testing"
	"time"
)

// The refusal text of each kind of reason, to the letter.
func TestRenderRefusal(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 50, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	host2 := "kubemaster1002.eqiad.wmnet:6443"
	manual := Reason{Kind: ReasonManual, Scope: "eqiad", Refuses: true, HoldID: "6ceb28975dd82b2e", Holder: "alice",
		Reason: "kubemaster1002 NIC saturated", Since: ago(4 * time.Minute), Until: at(2 * time.Hour), Clears: Clears{On: ClearsOnRelease}}
	deploy := Reason{Kind: ReasonDeploy, Scope: "eqiad", Refuses: true, HoldID: "9a8b7c6d5e4f3a2b", Holder: "bob",
		Reason: "sync-world", Since: ago(12 * time.Second), Until: at(30 * time.Second), Clears: Clears{On: ClearsOnDeployEnd}}
	auto := Reason{Kind: ReasonAuto, Scope: "eqiad", Refuses: true, HoldID: "auto-eqiad", Holder: "scaplock", Reason: "control plane degraded",
		Since: ago(48 * time.Second), Override: true, Signals: []SignalReading{
			{Cluster: "eqiad", APIServer: host2, Signal: SignalLatency, Level: LevelCrit, Value: 4.2, Limit: 1, Unit: UnitSeconds, Since: ago(45 * time.Second)},
			{Cluster: "eqiad", APIServer: host2, Signal: SignalCPU, Level: LevelCrit, Value: 0.98, Limit: 0.9, Unit: UnitRatio, Since: ago(30 * time.Second)},
			{Cluster: "eqiad", APIServer: "kubemaster1001.eqiad.wmnet:6443", Signal: SignalLatency, Level: LevelCrit, Value: 1, Limit: 1,
				Error: "timeout after 1s", Unit: UnitSeconds, Since: ago(10 * time.Second)},
		},
		Clears: Clears{On: ClearsOnHealthy, After: Duration(time.Minute), Evaluations: 12, NotBefore: at(4 * time.Minute)}}
	recovering := auto
	recovering.Signals, recovering.Clears.Streak = nil, 3
	cooldown := Reason{Kind: ReasonCooldown, Scope: "eqiad", Refuses: true, HoldID: "cooldown-eqiad", Holder: "scaplock",
		Reason: "eqiad is recovering from alice's deploy 7f3a", Since: ago(12 * time.Second), Until: at(9 * time.Minute),
		Deploy: &DeployRef{ID: "7f3a9c01", Owner: "alice", EndedAt: ago(12 * time.Second)}, Override: true,
		Signals: []SignalReading{{Cluster: "eqiad", APIServer: "kubemaster1001.eqiad.wmnet:6443", Signal: SignalCPU, Level: LevelWarn,
			Value: 0.97, Limit: 0.8, Unit: UnitRatio, Since: ago(12 * time.Second)}},
		Clears: Clears{On: ClearsOnBelowWarn, Evaluations: 2}}
	overridden := auto
	overridden.Refuses = false
	old := Reason{Kind: ReasonAuto, Scope: "eqiad", Refuses: true, HoldID: "auto-eqiad", Holder: "scaplock", Reason: "control plane degraded",
		Since: ago(48 * time.Second), Override: true, Notes: []string{"kubemaster1002:6443  CPU 98% (limit 90%)  for 45s"},
		Clears: Clears{Text: "clears after 1m0s healthy"}}

	tests := []struct {
		name    string
		reasons []Reason
		url     string
		want    string
	}{
		{"manual", []Reason{manual}, "http://scaplock.example/", `scaplock: deploys to eqiad are refused: locked by alice
  eqiad: "kubemaster1002 NIC saturated", since 12:46:00 UTC (4m ago, hold 6ceb), expires 14:50:00 UTC (in 2h)
  status: http://scaplock.example/
`},
		{"deploy", []Reason{deploy}, "", `scaplock: deploys to eqiad are refused: deploy in progress by bob
  eqiad: "sync-world", since 12:49:48 UTC (12s ago, hold 9a8b)
`},
		{"auto with signals", []Reason{auto}, "http://scaplock.example/", `scaplock: deploys to eqiad are refused: control plane degraded
  kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  for 45s
  kubemaster1001:6443  readyz failed (timeout after 1s)  for 10s
  held automatically since 12:49:12 UTC (48s ago, hold auto-eqiad); clears after 1m healthy and not before 12:54:00 UTC
  status: http://scaplock.example/
`},
		{"auto recovering", []Reason{recovering}, "", `scaplock: deploys to eqiad are refused: control plane degraded
  recovering: healthy for 3 of 12 evaluations
  held automatically since 12:49:12 UTC (48s ago, hold auto-eqiad); clears after 1m healthy and not before 12:54:00 UTC
`},
		{"cooldown", []Reason{cooldown}, "", `scaplock: deploys to eqiad are refused: eqiad is recovering from alice's deploy 7f3a
  kubemaster1001:6443  CPU 97% (warn 80%)  for 12s
  held automatically since 12:49:48 UTC (12s ago, hold cooldown-eqiad); clears when every signal is below warn for 2 evaluations, at the latest 12:59:00 UTC
`},
		{"several at once, most serious first as given", []Reason{auto, manual, deploy}, "", `scaplock: deploys to eqiad are refused: control plane degraded
  kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  for 45s
  kubemaster1001:6443  readyz failed (timeout after 1s)  for 10s
  held automatically since 12:49:12 UTC (48s ago, hold auto-eqiad); clears after 1m healthy and not before 12:54:00 UTC
  also: locked by alice
  eqiad: "kubemaster1002 NIC saturated", since 12:46:00 UTC (4m ago, hold 6ceb), expires 14:50:00 UTC (in 2h)
  also: deploy in progress by bob
  eqiad: "sync-world", since 12:49:48 UTC (12s ago, hold 9a8b)
`},
		{"an override lifts the auto hold: only the manual hold refuses", []Reason{manual, overridden}, "", `scaplock: deploys to eqiad are refused: locked by alice
  eqiad: "kubemaster1002 NIC saturated", since 12:46:00 UTC (4m ago, hold 6ceb), expires 14:50:00 UTC (in 2h)
`},
		{"overridden and nothing else: allowed, no text", []Reason{overridden}, "http://scaplock.example/", ""},
		{"a hold from a gate that wrote prose", []Reason{old}, "", `scaplock: deploys to eqiad are refused: control plane degraded
  kubemaster1002:6443  CPU 98% (limit 90%)  for 45s
  held automatically since 12:49:12 UTC (48s ago, hold auto-eqiad); clears after 1m0s healthy
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenderRefusal([]Scope{"eqiad"}, tt.reasons, tt.url, now); got != tt.want {
				t.Errorf("RenderRefusal\n got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// The one-line form keeps no ages, which would go stale in a file.
func TestRenderRefusalLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 34, 30, 0, time.UTC)
	since := time.Date(2026, 11, 26, 8, 33, 59, 0, time.UTC)
	until := since.Add(time.Hour)
	r := Reason{Kind: ReasonManual, Scope: "global", Refuses: true, HoldID: "8216f421382c5411", Holder: "alice",
		Reason: "T1234: kube-apiserver upgrade", Since: since, Until: &until}
	want := `deploys to global are refused: locked by alice; global: "T1234: kube-apiserver upgrade", since 08:33:59 UTC (hold 8216), expires 09:33:59 UTC`
	if got := RenderRefusalLine([]Scope{"global"}, []Reason{r}, now); got != want {
		t.Errorf("RenderRefusalLine\n got %s\nwant %s", got, want)
	}
	if got := Summary([]Reason{r}); got != "locked by alice" {
		t.Errorf("Summary = %q", got)
	}
}

func TestWhenAndSpan(t *testing.T) {
	now := time.Date(2026, 12, 7, 18, 36, 16, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{now.Add(-12 * time.Second), "18:36:04 UTC (12s ago)"},
		{now.Add(5 * time.Minute), "18:41:16 UTC (in 5m)"},
		{now.Add(-(3*time.Minute + 5*time.Second)), "18:33:11 UTC (3m5s ago)"},
		{now.Add(-(2*time.Hour + 15*time.Minute + 9*time.Second)), "16:21:07 UTC (2h15m ago)"},
		{now.Add(-(3*24*time.Hour + 4*time.Hour)), "2026-12-04 14:36:16 UTC (3d4h ago)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := When(now, tt.t); got != tt.want {
				t.Errorf("When = %q, want %q", got, tt.want)
			}
		})
	}
}
