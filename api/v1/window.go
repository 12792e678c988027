package apiv1

import "time"

// WindowKind says whether a window refuses deploys or permits them.
type WindowKind string

const (
	// WindowDeny refuses deploys in its scope while it is active (a freeze).
	WindowDeny WindowKind = "deny"
	// WindowAllow permits deploys: once a scope has allow windows, deploys
	// outside all of them are refused (the deploy calendar).
	WindowAllow WindowKind = "allow"
)

// KindWindow is the kind of history events about windows.
const KindWindow Kind = "window"

// ActionDeleted is a window removed by an SRE.
const ActionDeleted Action = "deleted"

// Window is a scheduled reason (deny) or permission (allow) to deploy.
type Window struct {
	ID    string     `json:"id"`
	Scope Scope      `json:"scope"`
	Kind  WindowKind `json:"kind"`
	// Schedule is a 5-field cron expression: when each occurrence starts,
	// in TimeZone.
	Schedule string   `json:"schedule"`
	Duration Duration `json:"duration"`
	// TimeZone is an IANA name; UTC by default.
	TimeZone string `json:"time_zone"`
	Reason   string `json:"reason"`
	// Until is the last day (YYYY-MM-DD, in TimeZone) an occurrence may
	// start on; empty means no end.
	Until     string    `json:"until,omitempty"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	// Revision is the etcd revision the window was written at.
	Revision int64 `json:"revision"`
}

// WindowBody is the body of POST /api/v1/windows.
type WindowBody struct {
	Scope    string `json:"scope"`
	Kind     string `json:"kind"`
	Schedule string `json:"schedule"`
	// Duration in Go syntax ("2h").
	Duration string `json:"duration"`
	TimeZone string `json:"time_zone,omitempty"`
	Reason   string `json:"reason"`
	Until    string `json:"until,omitempty"`
}

// WindowState is a window with when it applies, as of the answer's time.
type WindowState struct {
	Window
	Active bool `json:"active"`
	// ActiveEnd is when the current occurrence ends, while active.
	ActiveEnd *time.Time `json:"active_end,omitempty"`
	// NextStart and NextEnd are the next occurrence after the current one;
	// absent when none is left (Until passed).
	NextStart *time.Time `json:"next_start,omitempty"`
	NextEnd   *time.Time `json:"next_end,omitempty"`
	// Week are the stretches of occurrences in the coming seven days,
	// for the status page's strip.
	Week []Stretch `json:"week,omitempty"`
}

// Stretch is a stretch of time.
type Stretch struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// WindowsResponse is GET /api/v1/windows.
type WindowsResponse struct {
	Time     time.Time     `json:"time"`
	Windows  []WindowState `json:"windows"`
	Revision int64         `json:"revision"`
}

// WindowRefusal is a window that refuses a deploy now: an active deny
// window, or the allow windows of Scope when none is active.
type WindowRefusal struct {
	Window Window `json:"window"`
	// Scope is the scope whose windows refuse: the deny window's scope,
	// or the scope outside all of whose allow windows the deploy falls.
	Scope Scope `json:"scope"`
	// Until is when this refusal ends: the deny occurrence's end, or the
	// next allow window's start; absent when it never ends.
	Until *time.Time `json:"until,omitempty"`
}
