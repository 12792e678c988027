package lock_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// allPages follows a query's cursors to the end of the history.
func allPages(t *testing.T, s *lock.Store, q lock.HistoryQuery) []lock.Event {
	t.Helper()
	var all []lock.Event
	for range 10000 {
		page, err := s.History(ctxT(t), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if q.Cursor = page.Next; q.Cursor == "" {
			return all
		}
	}
	t.Fatalf("query %+v did not reach the end", q)
	return nil
}

func countKeys(t *testing.T, cli *clientv3.Client, prefix string) int64 {
	t.Helper()
	r, err := cli.Get(ctxT(t), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return r.Count
}

// sameEvents fails unless got and want are the same events in the same order.
func sameEvents(t *testing.T, what string, got, want []lock.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: event %d is %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// Archived events read back exactly as they were live: every page and
// every filter, across chunks and with cursors inside them, and with
// stragglers (events appended with old times) in their place.
func TestHistoryArchive(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	s := locktest.OpenStore(t, cli, lock.Options{SweepEvery: time.Hour})
	ctx := ctxT(t)
	const n = 6000
	end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	evs := historyEvents(n, end)
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	queries := map[string]lock.HistoryQuery{
		"everything":         {Limit: 1000},
		"a page of 37":       {Limit: 37},
		"actor":              {Actor: "user7", Limit: 50},
		"scope":              {Scope: "codfw", Limit: 500},
		"action":             {Action: lock.ActionReleased, Limit: 1000},
		"hold":               {HoldID: "h123"},
		"kind, none":         {Kind: lock.KindDeploy},
		"since":              {Since: evs[1500].Time, Limit: 333},
		"until":              {Until: evs[4500].Time, Limit: 333},
		"since, until, user": {Since: evs[100].Time, Until: evs[5000].Time, Actor: "user3", Limit: 20},
	}
	before := map[string][]lock.Event{}
	for name, q := range queries {
		before[name] = allPages(t, s, q)
	}
	if len(before["everything"]) != n || len(before["hold"]) != 2 || len(before["since"]) != n-1500 {
		t.Fatalf("before archiving: %d events, %d of h123, %d since", len(before["everything"]), len(before["hold"]), len(before["since"]))
	}

	folded, err := s.ArchiveHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if folded != 4000 {
		t.Fatalf("folded %d events, want 4000 (all but the newest 2000)", folded)
	}
	if live, chunks := countKeys(t, cli, s.Keys().History()), countKeys(t, cli, s.Keys().HistoryArchive()); live != 2000 || chunks != 4 {
		t.Fatalf("after archiving: %d live events and %d chunks, want 2000 and 4", live, chunks)
	}
	for name, q := range queries {
		sameEvents(t, name, allPages(t, s, q), before[name])
	}

	// Stragglers: one among archived events, one older than all.
	inside := lock.Event{ID: "late1", Time: evs[1234].Time.Add(time.Microsecond), Actor: "importer", Action: lock.ActionCreated, Scope: "eqiad", Kind: lock.KindManual}
	oldest := lock.Event{ID: "late2", Time: evs[0].Time.Add(-time.Hour), Actor: "importer", Action: lock.ActionCreated, Scope: "eqiad", Kind: lock.KindManual}
	if err := s.AppendEvents(ctx, []lock.Event{inside, oldest}); err != nil {
		t.Fatal(err)
	}
	all := allPages(t, s, lock.HistoryQuery{Limit: 1000})
	if len(all) != n+2 || all[n-1234-1].ID != "late1" || all[n+1].ID != "late2" {
		t.Fatalf("stragglers out of place: %d events", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i].Time.Before(all[i-1].Time) {
			t.Fatalf("not newest first at %d: %s after %s", i, all[i].ID, all[i-1].ID)
		}
	}
	byImporter := allPages(t, s, lock.HistoryQuery{Actor: "importer"})
	if len(byImporter) != 2 || byImporter[0].ID != "late1" || byImporter[1].ID != "late2" {
		t.Fatalf("stragglers by actor: %+v", byImporter)
	}

	// The next archiving folds them too: one into the chunk whose span it
	// falls in, the other into a chunk of its own, older than all.
	newer := historyEvents(1000, end.Add(time.Hour))
	for i := range newer {
		newer[i].ID = "n" + newer[i].ID
	}
	if err := s.AppendEvents(ctx, newer); err != nil {
		t.Fatal(err)
	}
	want := allPages(t, s, lock.HistoryQuery{Limit: 1000})
	if folded, err := s.ArchiveHistory(ctx); err != nil || folded != 1000 {
		t.Fatalf("folded %d events, want 1000 (998 and 2 stragglers): %v", folded, err)
	}
	// 3,002 live: the 1,000 oldest folded, 998 of them into a new chunk.
	if live, chunks := countKeys(t, cli, s.Keys().History()), countKeys(t, cli, s.Keys().HistoryArchive()); live != 2002 || chunks != 6 {
		t.Fatalf("after folding stragglers: %d live events and %d chunks, want 2002 and 6", live, chunks)
	}
	for _, id := range []string{"late1", "late2"} {
		r, err := cli.Get(ctx, s.Keys().History(), clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range r.Kvs {
			if strings.HasSuffix(string(kv.Key), "-"+id) {
				t.Fatalf("straggler %s still live", id)
			}
		}
	}
	sameEvents(t, "after folding stragglers", allPages(t, s, lock.HistoryQuery{Limit: 1000}), want)
	sameEvents(t, "after folding stragglers, by a page of 37", allPages(t, s, lock.HistoryQuery{Limit: 37}), want)
}

// Two replicas archiving at once never lose or duplicate an event.
func TestHistoryArchiveConcurrent(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	a := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: time.Hour})
	b := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: time.Hour})
	ctx := ctxT(t)
	const n = 12000
	if err := a.AppendEvents(ctx, historyEvents(n, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	want := allPages(t, a, lock.HistoryQuery{Limit: 1000})
	var wg sync.WaitGroup
	folded := make([]int, 4)
	start := make(chan struct{})
	for i, s := range []*lock.Store{a, b, a, b} {
		wg.Go(func() {
			<-start
			// A guard that fails leaves the rest to the next call, as to the next sweep.
			for range 20 {
				n, err := s.ArchiveHistory(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				folded[i] += n
			}
		})
	}
	close(start)
	wg.Wait()
	sameEvents(t, "after archiving at once", allPages(t, b, lock.HistoryQuery{Limit: 1000}), want)
	t.Logf("folded by each archiver: %v", folded)
	cli := e.Client(t)
	if live, chunks := countKeys(t, cli, a.Keys().History()), countKeys(t, cli, a.Keys().HistoryArchive()); live != 2000 || chunks != 10 {
		t.Fatalf("%d live events and %d chunks, want 2000 and 10", live, chunks)
	}
	if got := folded[0] + folded[1] + folded[2] + folded[3]; got != n-2000 {
		t.Fatalf("folded %d events in all, want %d", got, n-2000)
	}
}

// The sweep archives; retention counts archived events and drops chunks
// whole, oldest first.
func TestHistoryPruneArchive(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := end.Add(time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: time.Hour})
	ctx := ctxT(t)
	evs := historyEvents(7000, end)
	if err := w.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, want func(live, chunks int64) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			live, chunks := countKeys(t, cli, w.Keys().History()), countKeys(t, cli, w.Keys().HistoryArchive())
			if want(live, chunks) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d live events and %d chunks", what, live, chunks)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The sweep archives, here without retention.
	_ = locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: 50 * time.Millisecond})
	waitFor("archived by the sweep", func(live, chunks int64) bool { return live == 2000 && chunks == 5 })
	// 4,500 kept: the two oldest chunks go, the third (500 too many) stays.
	_ = locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: 50 * time.Millisecond, Retention: lock.Retention{MaxCount: 4500}})
	waitFor("by count", func(live, chunks int64) bool { return live == 2000 && chunks == 3 })
	all := allPages(t, w, lock.HistoryQuery{Limit: 1000})
	if len(all) != 5000 || all[4999].ID != "e002000" {
		t.Fatalf("after pruning by count: %d events, oldest %s", len(all), all[len(all)-1].ID)
	}
	// By age: a chunk goes once its newest event is past the limit, then
	// the live events past it.
	mu.Lock()
	now = evs[3500].Time.Add(time.Hour) // chunk 3000..3999 straddles it
	mu.Unlock()
	_ = locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: 50 * time.Millisecond, Retention: lock.Retention{MaxAge: time.Hour}})
	waitFor("by age", func(live, chunks int64) bool { return live == 2000 && chunks == 2 })
	mu.Lock()
	now = evs[5500].Time.Add(time.Hour)
	mu.Unlock()
	waitFor("by age, live", func(live, chunks int64) bool { return live == 1500 && chunks == 0 })
	all = allPages(t, w, lock.HistoryQuery{Limit: 1000})
	if len(all) != 1500 || all[1499].ID != "e005500" {
		t.Fatalf("after pruning by age: %d events", len(all))
	}
}
