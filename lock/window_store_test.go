package lock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// A window written through one replica is in the other's calendar once
// that replica has synced: windows follow the same watch and revision as
// holds, so a verdict after Sync reflects every window acknowledged.
func TestCalendarFollowsTheWatchOnEveryReplica(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	ctx := context.Background()
	keys := lock.NewKeys("/scaplock/")
	calA, calB := lock.NewCalendar(keys, nil), lock.NewCalendar(keys, nil)
	a := locktest.OpenStore(t, e.Client(t), lock.Options{Parts: calA.Parts()})
	b := locktest.OpenStore(t, e.Client(t), lock.Options{Parts: calB.Parts()})

	w, err := a.AddWindow(ctx, lock.WindowRequest{
		Scope: "eqiad", Kind: lock.WindowDeny, Schedule: "0 * * * *", Duration: time.Hour, Reason: "always", Owner: "alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := calB.List()
	if len(got) != 1 || got[0].ID != w.ID || got[0].Revision != w.Revision || got[0].TimeZone != "UTC" {
		t.Fatalf("replica b's calendar after Sync: %+v, want %+v", got, w)
	}
	v := lock.ApplyWindows(b.Verdict([]lock.Scope{"eqiad"}), calB.List(), b.Now())
	if v.Allowed || len(v.Windows) != 1 {
		t.Fatalf("verdict on b: %+v", v)
	}

	if _, err := b.RemoveWindow(ctx, w.ID, "bob", "not needed", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := calA.List(); len(got) != 0 {
		t.Fatalf("replica a still has %+v", got)
	}
	page, err := a.History(ctx, lock.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].Kind != lock.KindWindow || page.Events[1].Window == nil || page.Events[1].Window.ID != w.ID {
		t.Fatalf("history: %+v", page.Events)
	}
}

// Cut off from etcd, a replica refuses what its last confirmed state
// refuses: a deny window in force counts as a hold does, so an outage
// never turns a freeze into "could not decide" (which --fail-open opens).
func TestKnownRefusalCountsWindows(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{})
	cut := fmt.Errorf("confirm the cache: %w", lock.ErrNotConfirmed)
	freeze := lock.Window{ID: "f", Scope: "global", Kind: lock.WindowDeny, Schedule: "* * * * *", Duration: lock.Duration(time.Hour), TimeZone: "UTC", Reason: "freeze"}

	if err := s.KnownRefusal(cut, []lock.Scope{"eqiad"}); !errors.Is(err, lock.ErrNotConfirmed) || errors.Is(err, lock.ErrRefused) {
		t.Fatalf("no hold, no window: %v, want the outage itself", err)
	}
	err := s.KnownRefusal(cut, []lock.Scope{"eqiad"}, freeze)
	var refused *lock.RefusedError
	if !errors.As(err, &refused) || len(refused.Verdict.Windows) != 1 || refused.Verdict.LastConfirmed.IsZero() {
		t.Fatalf("with a deny window in force: %v, want a refusal naming it", err)
	}
}
