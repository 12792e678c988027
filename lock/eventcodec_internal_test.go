package lock

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Every event comes back from its stored form exactly as it went in, the
// stored form is smaller, and events stored whole (before the encoding)
// read the same.
func TestStoredEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 55, 28, 675557435, time.UTC)
	later := at.Add(2 * time.Hour)
	created := Hold{ID: "8a7b6c5d4e3f2a1b", Scope: "eqiad", Kind: KindManual, Owner: "alice", Reason: "investigating apiserver latency",
		CreatedAt: at, UpdatedAt: at, ExpiresAt: &later, Lease: 7587883469587412345}
	released := created
	released.UpdatedAt = at.Add(time.Minute)
	for _, tc := range []struct {
		name string
		e    Event
	}{
		{"created", Event{ID: "3f9a1c2e4b5d6e7f", Time: at, Actor: "alice", Action: ActionCreated, Scope: "eqiad", Kind: KindManual, Reason: created.Reason, Hold: &created}},
		{"released by another", Event{ID: "0000000000000001", Time: at.Add(time.Hour), Actor: "bob", Action: ActionReleased, Scope: "eqiad", Kind: KindManual, Reason: "done", Hold: &released}},
		{"hold fields zero and unlike the event's", Event{ID: "z", Time: at, Actor: "gate", Action: ActionExpired, Scope: "codfw", Kind: KindAuto, Reason: "r",
			Hold: &Hold{ID: "auto-codfw", Scope: "eqiad", Kind: KindDeploy}}},
		{"revision kept", Event{ID: "r", Time: at, Actor: "a", Action: ActionAmended, Scope: "eqiad", Kind: KindManual, Reason: "x", Revision: 42,
			Hold: &Hold{ID: "h", Scope: "eqiad", Kind: KindManual, Owner: "a", Reason: "x", Revision: 41, CreatedAt: at, UpdatedAt: at}}},
		{"no hold", Event{ID: "n", Time: at, Actor: "gate", Action: ActionWouldTrip, Scope: "eqiad", Kind: KindAuto, Reason: "cpu"}},
		{"deploy impact", Event{ID: "d", Time: at, Actor: "gate", Action: apiv1.ActionDeployImpact, Scope: "eqiad", Kind: KindDeploy, Reason: "impact",
			Impact: &apiv1.DeployImpact{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pos := HistoryPosition(tc.e.Time, tc.e.ID)
			stored, err := encodeStoredEvent(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			whole, _ := json.Marshal(tc.e)
			if len(stored) >= len(whole) {
				t.Errorf("stored form is %d bytes, the whole event %d", len(stored), len(whole))
			}
			want := tc.e
			if want.Revision == 0 {
				want.Revision = 99 // the key's ModRevision
			}
			for form, val := range map[string][]byte{"stored": stored, "whole": whole} {
				got, err := decodeStoredEvent(pos, val, 99)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s form read back as\n%+v\nwant\n%+v\n(stored %s)", form, got, want, val)
				}
			}
		})
	}
	e := Event{ID: "3f9a1c2e4b5d6e7f", Time: at, Actor: "alice", Action: ActionCreated, Scope: "eqiad", Kind: KindManual, Reason: created.Reason, Hold: &created}
	stored, _ := encodeStoredEvent(e)
	whole, _ := json.Marshal(e)
	if 2*len(stored) > len(whole)+len(whole)/5 {
		t.Errorf("a created hold's event is %d bytes stored, %d whole: want about half", len(stored), len(whole))
	}
	if strings.Contains(string(stored), at.Format(time.RFC3339Nano)) {
		t.Errorf("stored form repeats the time the key holds: %s", stored)
	}
}

// A value that is not an event, or a key that is not a position, is an
// error, never a zero event.
func TestStoredEventErrors(t *testing.T) {
	if _, err := decodeStoredEvent("0000000000000000001-x", []byte("{"), 1); err == nil {
		t.Error("broken JSON decoded")
	}
	for _, pos := range []string{"", "x", "12-x", "0000000000000000001-", "000000000000000000a-x"} {
		if _, err := decodeStoredEvent(pos, []byte(`{"actor":"a"}`), 1); err == nil {
			t.Errorf("position %q accepted", pos)
		}
	}
}
