package migrations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/migrations"
)

// A layout 1 store (history oldest first under history/) comes out of
// migrations 2 and 3 with every event in the newest-first layout, the old
// range gone, and the events' revisions kept; filters by actor and hold
// still find theirs.
func TestHistoryMovesToNewestFirst(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	keys := lock.NewKeys("/scaplock/")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := migrations.Run(ctx, cli, keys, migrations.All[:1], nil); err != nil {
		t.Fatal(err)
	}
	const n = 1200 // more than one copy batch
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	revs := map[string]int64{}
	for i := 0; i < n; i += 100 {
		var ops []clientv3.Op
		for j := i; j < i+100; j++ {
			ev := lock.Event{ID: fmt.Sprintf("e%04d", j), Time: base.Add(time.Duration(j) * time.Second), Actor: fmt.Sprintf("user%d", j%3),
				Action: lock.ActionCreated, Scope: "eqiad", Kind: lock.KindManual, Reason: "r", Hold: &lock.Hold{ID: fmt.Sprintf("h%d", j/2)}}
			val, _ := json.Marshal(ev)
			// layout 1's key, spelled here because no code writes it any more
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%s%020d-%s", keys.LegacyHistory(), ev.Time.UnixNano(), ev.ID), string(val)))
		}
		resp, err := cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			t.Fatal(err)
		}
		for j := i; j < i+100; j++ {
			revs[fmt.Sprintf("e%04d", j)] = resp.Header.Revision
		}
	}
	applied, err := migrations.Run(ctx, cli, keys, migrations.All, nil)
	if err != nil || len(applied) != 3 || applied[0] != 2 || applied[1] != 3 || applied[2] != 4 {
		t.Fatalf("applied %v, %v", applied, err)
	}
	old, err := cli.Get(ctx, keys.LegacyHistory(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || old.Count != 0 {
		t.Fatalf("layout 1 history left: %d keys, %v", old.Count, err)
	}
	s := locktest.OpenStore(t, cli, lock.Options{SweepEvery: time.Hour})
	var got []lock.Event
	cursor := ""
	for range n {
		page, err := s.History(ctx, lock.HistoryQuery{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Events...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(got) != n {
		t.Fatalf("%d events after migrating, want %d", len(got), n)
	}
	for i, ev := range got {
		want := fmt.Sprintf("e%04d", n-1-i)
		if ev.ID != want || ev.Revision != revs[want] {
			t.Fatalf("event %d is %s at revision %d, want %s at %d (newest first, revision kept)", i, ev.ID, ev.Revision, want, revs[want])
		}
	}
	byActor, err := s.History(ctx, lock.HistoryQuery{Actor: "user1", Limit: 1000})
	if err != nil || len(byActor.Events) != n/3 {
		t.Fatalf("actor filter after migrating: %d events, %v", len(byActor.Events), err)
	}
	byHold, err := s.History(ctx, lock.HistoryQuery{HoldID: "h7"})
	if err != nil || len(byHold.Events) != 2 || byHold.Events[0].ID != "e0015" {
		t.Fatalf("hold filter after migrating: %+v, %v", byHold.Events, err)
	}
}

// Migration 3 drops layout 2's index entries, which cost etcd memory for
// every event, and leaves the events and everything else alone.
func TestHistoryIndexesAreDropped(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	keys := lock.NewKeys("/scaplock/")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := migrations.Run(ctx, cli, keys, migrations.All[:2], nil); err != nil {
		t.Fatal(err)
	}
	const n = 300
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 30 {
		var ops []clientv3.Op
		for j := i; j < i+30; j++ {
			ev := lock.Event{ID: fmt.Sprintf("e%04d", j), Time: base.Add(time.Duration(j) * time.Second), Actor: fmt.Sprintf("user%d", j%3),
				Action: lock.ActionCreated, Scope: "eqiad", Kind: lock.KindManual, Reason: "r", Hold: &lock.Hold{ID: fmt.Sprintf("h%d", j)}}
			val, _ := json.Marshal(ev)
			pos := lock.HistoryPosition(ev.Time, ev.ID)
			// layout 2's keys, spelled here because no code writes them any more
			ops = append(ops, clientv3.OpPut(keys.History()+pos, string(val)),
				clientv3.OpPut(keys.LegacyHistoryIndexes()+"hold/"+ev.Hold.ID+"/"+pos, ""),
				clientv3.OpPut(keys.LegacyHistoryIndexes()+"actor/"+ev.Actor+"/"+pos, ""))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, keys.Hold("kept"), `{"id":"kept"}`); err != nil {
		t.Fatal(err)
	}
	applied, err := migrations.Run(ctx, cli, keys, migrations.All, nil)
	if err != nil || len(applied) != 2 || applied[0] != 3 || applied[1] != 4 {
		t.Fatalf("applied %v, %v", applied, err)
	}
	count := func(prefix string) int64 {
		r, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
	if got := count(keys.LegacyHistoryIndexes()); got != 0 {
		t.Fatalf("%d index entries left", got)
	}
	if got := count(keys.History()); got != n {
		t.Fatalf("%d events after dropping the indexes, want %d", got, n)
	}
	if got := count(keys.Holds()); got != 1 {
		t.Fatalf("%d holds after dropping the indexes, want 1", got)
	}
	layout, err := cli.Get(ctx, keys.Prefix+"schema/layout")
	if err != nil || len(layout.Kvs) != 1 || strings.Contains(string(layout.Kvs[0].Value), "events-by") ||
		!strings.Contains(string(layout.Kvs[0].Value), keys.HistoryArchive()) {
		t.Fatalf("layout names the indexes, or not the archive: %v", err)
	}
}
