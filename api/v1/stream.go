package apiv1

// ChangeKind names a message of the event stream (GET /api/v1/events); it
// is the SSE event name, and "type" in the message's data.
type ChangeKind string

const (
	// ChangeHello is the stream's first message: the revision it starts at.
	ChangeHello ChangeKind = "hello"
	// ChangeEvent is a history event: a hold created, amended, released...
	ChangeEvent ChangeKind = "event"
	// ChangeHealth is a cluster's new report: its status, a level or an
	// error changed (the leader's periodic heartbeat is not sent).
	ChangeHealth ChangeKind = "health"
	// ChangeSamples are one evaluation's values (and the cluster's reason
	// when it reads otherwise), every interval, of a cluster that is not
	// wholly ok (degraded, unknown, or some signal above ok); a healthy
	// cluster's values are read with GET /api/v1/samples.
	ChangeSamples ChangeKind = "samples"
	// ChangeLeader says which replica now leads the gate.
	ChangeLeader ChangeKind = "leader"
)

// Change is one message of the event stream. Exactly the field its Type
// names is set.
type Change struct {
	Type     ChangeKind     `json:"type"`
	Event    *Event         `json:"event,omitempty"`
	Cluster  string         `json:"cluster,omitempty"`
	Health   *ClusterHealth `json:"health,omitempty"`
	Samples  *Samples       `json:"samples,omitempty"`
	Leader   string         `json:"leader,omitempty"`
	Revision int64          `json:"revision"`

	// shared, when set (Shared), encodes the message once for every
	// stream that sends it.
	shared *encoding
}
