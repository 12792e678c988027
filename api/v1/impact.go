package apiv1

import "time"

// DeployImpact is what one deploy did to one cluster's control plane, from
// the deploy hold's start to the end of its cooldown (back below warn on
// every signal, or cooldown_max).
type DeployImpact struct {
	Cluster string    `json:"cluster"`
	Deploy  DeployRef `json:"deploy"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// Signals are the peak of each signal over every host, and how long
	// some host had it at or above warn and crit.
	Signals map[Signal]SignalImpact `json:"signals"`
	// SecondsAboveWarn is how long some signal of some host was at or
	// above warn.
	SecondsAboveWarn float64 `json:"seconds_above_warn"`
}

// SignalImpact is one signal's part of a DeployImpact.
type SignalImpact struct {
	Peak             float64 `json:"peak"`
	SecondsAboveWarn float64 `json:"seconds_above_warn"`
	SecondsAboveCrit float64 `json:"seconds_above_crit"`
}

// ImpactReport is GET /api/v1/report: the deploys' impact per cluster,
// period by period (a week by default), oldest first.
type ImpactReport struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Period Duration  `json:"period"`
	// Headroom is the median time above warn per deploy that is flagged.
	Headroom Duration       `json:"headroom"`
	Clusters []ClusterTrend `json:"clusters"`
	// Deploys are the outcomes scaplock run recorded on its releases,
	// period by period, oldest first.
	Deploys []DeployStats `json:"deploys"`
}

// DeployStats are the deploys whose release recorded an outcome in one
// period.
type DeployStats struct {
	From    time.Time `json:"from"`
	Deploys int       `json:"deploys"`
	// Failed are the failed and abandoned deploys; FailureRatio is Failed
	// over the deploys that were not signalled (as the success SLO counts).
	Failed       int     `json:"failed"`
	Signalled    int     `json:"signalled"`
	FailureRatio float64 `json:"failure_ratio"`
	// Duration is the median and 90th percentile of duration_s.
	Duration Quantiles `json:"duration_s"`
	// FailedAtWarn counts, per cluster, the failures that came while the
	// cluster was at warn or worse (the release's peaks).
	FailedAtWarn map[string]int `json:"failed_at_warn,omitempty"`
	// Note says it for people: "3 of 4 failures came while eqiad was at warn".
	Note string `json:"note,omitempty"`
}

// ClusterTrend is one cluster's deploy impact over time.
type ClusterTrend struct {
	Cluster string        `json:"cluster"`
	Periods []ImpactStats `json:"periods"`
	// Flag says, for people, that the latest period's median time above
	// warn has reached the headroom; empty when it has not.
	Flag string `json:"flag,omitempty"`
}

// ImpactStats are the deploys of one period: median and 90th percentile of
// the peak CPU, the peak readyz latency (seconds) and the seconds above
// warn, per deploy.
type ImpactStats struct {
	From             time.Time `json:"from"`
	Deploys          int       `json:"deploys"`
	PeakCPU          Quantiles `json:"peak_cpu"`
	PeakLatency      Quantiles `json:"peak_latency"`
	SecondsAboveWarn Quantiles `json:"seconds_above_warn"`
	// CPUAboveWarn and LatencyAboveWarn split SecondsAboveWarn by signal.
	CPUAboveWarn     Quantiles `json:"cpu_above_warn"`
	LatencyAboveWarn Quantiles `json:"latency_above_warn"`
}

// Quantiles are a median and a 90th percentile.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}
