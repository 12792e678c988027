package lock

import "time"

func newEvent(now time.Time, actor string, action Action, h Hold, reason string) Event {
	snap := h
	return Event{
		ID: newID(), Time: now, Actor: actor, Action: action,
		Scope: h.Scope, Kind: h.Kind, Reason: reason, Hold: &snap,
	}
}
