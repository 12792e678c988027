package apiv1

// ChangeKind names a message of the event stream (GET /api/v1/events); it
// is the SSE event name, and "type" in the message's data.
type ChangeKind string

const (
	// ChangeHello is the stream's first message: the revision it starts at.
	ChangeHello ChangeKind = "hello"
	// ChangeEvent is a history event: a hold created, amended, released...
	ChangeEvent ChangeKind = "event"
	// ChangeHealth is a cluster's new report: its status or a level changed,
	// or the leader's periodic heartbeat.
	ChangeHealth ChangeKind = "health"
	// ChangeSamples are one evaluation's values, every interval.
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
}
