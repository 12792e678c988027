package lock

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// SyncBody is a scap sync the bridge saw; see apiv1.SyncBody.
type SyncBody = apiv1.SyncBody

// syncClockSkew is how far in the future a deploy host's clock may put a
// sync's end.
const syncClockSkew = time.Minute

// syncMaxAge is how late a sync may be reported.
const syncMaxAge = 24 * time.Hour

// RecordSync appends a synced event for b, reported by actor. The event's
// key is b's end and id, so a retry rewrites the same entry.
func (s *Store) RecordSync(ctx context.Context, actor string, b SyncBody) (Event, error) {
	if err := validateSync(b, s.now()); err != nil {
		return Event{}, err
	}
	d := b.DurationS
	return s.Record(ctx, Event{
		ID: b.ID, Time: b.EndedAt.UTC(), Actor: actor, Action: ActionSynced, Scope: Global, Kind: KindDeploy,
		Reason: syncReason(b), DeployOutcome: DeployOutcome{DurationS: &d}, Host: b.Host, Pid: b.Pid,
	})
}

func validateSync(b SyncBody, now time.Time) error {
	switch {
	case ValidateID(b.ID) != nil:
		return ValidateID(b.ID)
	case len(b.Host) > 253 || !hostPattern.MatchString(b.Host): // the bridge reports' host names
		return invalid("host", "%q is not a host name", b.Host)
	case b.Pid < 0 || b.Pid > 1<<22:
		return invalid("pid", "%d is outside 0..%d", b.Pid, 1<<22)
	case !printable(b.User, 64):
		return invalid("user", "must be at most 64 printable characters")
	case !printable(b.Command, 4096):
		return invalid("command", "must be at most 4096 printable characters")
	case b.EndedAt.IsZero():
		return invalid("ended_at", "is required")
	case b.EndedAt.After(now.Add(syncClockSkew)) || b.EndedAt.Before(now.Add(-syncMaxAge)):
		return invalid("ended_at", "%s is not within the past %s", b.EndedAt.UTC().Format(time.RFC3339), syncMaxAge)
	case math.IsNaN(b.DurationS) || b.DurationS < 0 || b.DurationS > apiv1.MaxDeployDuration:
		return invalid("duration_s", "%v is outside 0..%v", b.DurationS, apiv1.MaxDeployDuration)
	}
	return nil
}

func printable(s string, max int) bool {
	return utf8.ValidString(s) && len(s) <= max && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// syncReason says, for people, whose sync it was.
func syncReason(b SyncBody) string {
	who := "scap sync"
	if b.User != "" {
		who += " by " + b.User
	}
	if b.Pid > 0 {
		who += fmt.Sprintf(" (pid %d)", b.Pid)
	}
	who += " on " + b.Host
	if b.Command != "" {
		who += ": " + b.Command
	}
	if r := []rune(who); len(r) > ReasonMaxLen {
		who = string(r[:ReasonMaxLen-3]) + "..."
	}
	return who
}
