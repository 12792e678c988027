package lock_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// countingKV counts the key-values etcd returns to the store, in ranges
// and in transactions: a machine-independent measure of a read's cost.
type countingKV struct {
	clientv3.KV
	n *atomic.Int64
}

func (c countingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	r, err := c.KV.Get(ctx, key, opts...)
	if err == nil {
		c.n.Add(int64(len(r.Kvs)))
	}
	return r, err
}

func (c countingKV) Txn(ctx context.Context) clientv3.Txn {
	return &countingTxn{Txn: c.KV.Txn(ctx), n: c.n}
}

type countingTxn struct {
	clientv3.Txn
	n *atomic.Int64
}

func (t *countingTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *countingTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *countingTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }
func (t *countingTxn) Commit() (*clientv3.TxnResponse, error) {
	r, err := t.Txn.Commit()
	if err == nil {
		for _, resp := range r.Responses {
			if rr := resp.GetResponseRange(); rr != nil {
				t.n.Add(int64(len(rr.Kvs)))
			}
		}
	}
	return r, err
}

// historyEvents are n events one millisecond apart ending at end: actor
// user<i%50>, two events per hold, scopes alternating eqiad and codfw,
// created then released.
func historyEvents(n int, end time.Time) []lock.Event {
	evs := make([]lock.Event, n)
	for i := range evs {
		scope, action := lock.Scope("eqiad"), lock.ActionCreated
		if i%2 == 1 {
			scope, action = "codfw", lock.ActionReleased
		}
		evs[i] = lock.Event{
			ID: fmt.Sprintf("e%06d", i), Time: end.Add(time.Duration(i-n+1) * time.Millisecond),
			Actor: fmt.Sprintf("user%d", i%50), Action: action, Scope: scope, Kind: lock.KindManual,
			Reason: "an event of the load test", Hold: &lock.Hold{ID: fmt.Sprintf("h%d", i/2), Scope: scope, Kind: lock.KindManual},
		}
	}
	return evs
}

// chunkKeys is how many archive chunk keys a query reads first (their
// names tell where the archive is) besides the events and chunks it reads.
const chunkKeys = 4

// At the default retention (100,000 events, all but the newest 2,000
// archived) every page reads about as many keys as it returns (a page in
// the archive: a few chunk keys and one chunk), and a filter stops after
// HistoryScanBudget events with a cursor.
func TestHistoryAtFullRetention(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	var read atomic.Int64
	cli.KV = countingKV{KV: cli.KV, n: &read}
	s := locktest.OpenStore(t, cli, lock.Options{SweepEvery: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 100000
	end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	evs := historyEvents(n, end)
	for i := 0; i < n; i += 10000 {
		if err := s.AppendEvents(ctx, evs[i:i+10000]); err != nil {
			t.Fatal(err)
		}
	}
	// All but the newest 2,000 are folded into chunks, as the sweep does.
	began := time.Now()
	folded, err := s.ArchiveHistory(ctx)
	if err != nil || folded != n-2000 {
		t.Fatalf("archived %d events, want %d: %v", folded, n-2000, err)
	}
	took := time.Since(began)
	chunks, err := cli.Get(ctx, s.Keys().HistoryArchive(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var size int
	for _, kv := range chunks.Kvs {
		size += len(kv.Value)
	}
	t.Logf("archived %d events in %s: %d chunks of %d bytes in all", folded, took, len(chunks.Kvs), size)
	if live, chunks := countKeys(t, cli, s.Keys().History()), countKeys(t, cli, s.Keys().HistoryArchive()); live != 2000 || chunks != 98 {
		t.Fatalf("%d live events and %d chunks, want 2000 and 98", live, chunks)
	}

	for _, tc := range []struct {
		name     string
		q        lock.HistoryQuery
		events   int
		first    string
		next     bool
		maxRead  int64
		maxWall  time.Duration
		matchAll func(lock.Event) bool
	}{
		{"newest page", lock.HistoryQuery{Limit: 50}, 50, "e099999", true, 51, 2 * time.Second, nil},
		{"a cursor page", lock.HistoryQuery{Limit: 50, Cursor: lock.HistoryPosition(evs[50000].Time, evs[50000].ID)}, 50, "e049999", true, 8, 2 * time.Second, nil},
		{"a live cursor page", lock.HistoryQuery{Limit: 50, Cursor: lock.HistoryPosition(evs[99900].Time, evs[99900].ID)}, 50, "e099899", true, 51 + chunkKeys, 2 * time.Second, nil},
		{"a cursor page across live and archive", lock.HistoryQuery{Limit: 50, Cursor: lock.HistoryPosition(evs[98020].Time, evs[98020].ID)}, 50, "e098019", true, 20 + chunkKeys + 1, 2 * time.Second, nil},
		{"actor, one in 50 events", lock.HistoryQuery{Actor: "user7", Limit: 50}, lock.HistoryScanBudget / 50, "e099957", true, lock.HistoryScanBudget + chunkKeys, 5 * time.Second,
			func(e lock.Event) bool { return e.Actor == "user7" }},
		{"actor, a page's worth", lock.HistoryQuery{Actor: "user7", Limit: 10}, 10, "e099957", true, 2*256 + chunkKeys, 2 * time.Second,
			func(e lock.Event) bool { return e.Actor == "user7" }},
		{"actor, nobody", lock.HistoryQuery{Actor: "nobody"}, 0, "", true, lock.HistoryScanBudget + chunkKeys, 5 * time.Second, nil},
		{"recent hold", lock.HistoryQuery{HoldID: "h49990"}, 2, "e099981", true, lock.HistoryScanBudget + chunkKeys, 5 * time.Second, nil},
		{"actor and scope", lock.HistoryQuery{Actor: "user7", Scope: "codfw", Limit: 10}, 10, "e099957", true, 2*256 + chunkKeys, 2 * time.Second,
			func(e lock.Event) bool { return e.Actor == "user7" && e.Scope == "codfw" }},
		{"scanned action, nothing matches", lock.HistoryQuery{Action: lock.ActionWouldClear}, 0, "", true, lock.HistoryScanBudget + chunkKeys, 5 * time.Second, nil},
		{"scanned scope", lock.HistoryQuery{Scope: "codfw", Limit: 20}, 20, "e099999", true, 256 + chunkKeys, 2 * time.Second,
			func(e lock.Event) bool { return e.Scope == "codfw" }},
		{"actor, nobody, deep in the archive", lock.HistoryQuery{Actor: "nobody", Cursor: lock.HistoryPosition(evs[50500].Time, evs[50500].ID)}, 0, "", true, 2*chunkKeys + 3, 5 * time.Second, nil},
		{"hold, deep in the archive", lock.HistoryQuery{HoldID: "h25001", Cursor: lock.HistoryPosition(evs[50500].Time, evs[50500].ID)}, 2, "e050003", true, 2*chunkKeys + 3, 5 * time.Second, nil},
		{"time range", lock.HistoryQuery{Since: evs[1000].Time, Until: evs[1009].Time}, 10, "e001009", false, 11, 2 * time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read.Store(0)
			began := time.Now()
			page, err := s.History(ctx, tc.q)
			took := time.Since(began)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Events) != tc.events {
				t.Fatalf("%d events, want %d", len(page.Events), tc.events)
			}
			if tc.events > 0 && page.Events[0].ID != tc.first {
				t.Errorf("first event %s, want %s", page.Events[0].ID, tc.first)
			}
			if (page.Next != "") != tc.next {
				t.Errorf("next %q, want a cursor: %v", page.Next, tc.next)
			}
			if got := read.Load(); got > tc.maxRead {
				t.Errorf("read %d keys, want at most %d", got, tc.maxRead)
			}
			if took > tc.maxWall {
				t.Errorf("took %s, want under %s even on a slow machine", took, tc.maxWall)
			}
			for i, e := range page.Events {
				if i > 0 && !e.Time.Before(page.Events[i-1].Time) {
					t.Fatalf("not newest first at %d", i)
				}
				if tc.matchAll != nil && !tc.matchAll(e) {
					t.Fatalf("event %s does not match the filter", e.ID)
				}
			}
		})
	}

	// Following the cursor of a filter reaches the end in bounded steps,
	// and finds an old hold's events on the way.
	var old []lock.Event
	for q := (lock.HistoryQuery{HoldID: "h123"}); ; {
		page, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, page.Events...)
		if q.Cursor = page.Next; q.Cursor == "" {
			break
		}
	}
	if len(old) != 2 || old[0].ID != "e000247" || old[1].ID != "e000246" {
		t.Fatalf("hold h123 across cursors: %+v", old)
	}
	q := lock.HistoryQuery{Action: lock.ActionWouldClear}
	for steps := 0; ; steps++ {
		read.Store(0)
		page, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := read.Load(); got > lock.HistoryScanBudget+chunkKeys {
			t.Fatalf("step %d read %d keys", steps, got)
		}
		if page.Next == "" {
			// A step that ends exactly on the last event may not know it is the last.
			if steps+1 < n/lock.HistoryScanBudget || steps+1 > n/lock.HistoryScanBudget+1 {
				t.Fatalf("reached the end after %d steps, want %d or one more", steps+1, n/lock.HistoryScanBudget)
			}
			break
		}
		q.Cursor = page.Next
	}
}

// Pruning by count and by age deletes events oldest first.
func TestHistoryPrune(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := end
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: time.Hour})
	ctx := ctxT(t)
	evs := historyEvents(300, end)
	if err := w.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	keys := w.Keys()
	count := func(prefix string) int64 {
		r, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
	waitFor := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count(keys.History()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("history kept %d events, want %d", count(keys.History()), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	_ = locktest.OpenStore(t, cli, lock.Options{Now: clock, SweepEvery: 50 * time.Millisecond, Retention: lock.Retention{MaxAge: time.Hour, MaxCount: 100}})
	waitFor(100)
	page, err := w.History(ctx, lock.HistoryQuery{Limit: 1000})
	if err != nil || len(page.Events) != 100 || page.Events[99].ID != "e000200" || page.Next != "" {
		t.Fatalf("after pruning by count: %d events, next %q, %v", len(page.Events), page.Next, err)
	}
	// The page above came from the watch-fed cache; etcd agrees.
	fromEtcd, err := w.History(ctx, lock.HistoryQuery{Limit: 1000, Until: end.Add(time.Hour)})
	if err != nil || len(fromEtcd.Events) != 100 || fromEtcd.Events[0].ID != page.Events[0].ID || fromEtcd.Events[99].ID != "e000200" {
		t.Fatalf("etcd's page after pruning: %d events, %v", len(fromEtcd.Events), err)
	}
	// An hour after the 250th event, the 50 from it on are within the age limit.
	mu.Lock()
	now = evs[250].Time.Add(time.Hour)
	mu.Unlock()
	waitFor(50)
}

// A filter finds values that JSON escapes (the scan first looks for the
// value's JSON spelling in the stored bytes), and only them.
func TestHistoryFilterOnEscapedValues(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	s := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: time.Hour})
	ctx := ctxT(t)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	actors := []string{`o'brien <ops> & co`, `"quoted" \ back`, "zoë", "plain"}
	var evs []lock.Event
	for i, a := range actors {
		evs = append(evs, lock.Event{ID: fmt.Sprintf("x%d", i), Time: at.Add(time.Duration(i) * time.Second), Actor: a, Action: lock.ActionCreated,
			Scope: "eqiad", Kind: lock.KindManual, Reason: "r", Hold: &lock.Hold{ID: fmt.Sprintf("h<%d>", i), Owner: a, Reason: "r"}})
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for i, a := range actors {
		for _, q := range []lock.HistoryQuery{{Actor: a}, {HoldID: fmt.Sprintf("h<%d>", i)}, {Actor: a, Scope: "eqiad", Kind: lock.KindManual, Action: lock.ActionCreated}} {
			page, err := s.History(ctx, q)
			if err != nil || len(page.Events) != 1 || page.Events[0].ID != fmt.Sprintf("x%d", i) {
				t.Fatalf("%+v: %+v, %v", q, page.Events, err)
			}
		}
	}
	if page, err := s.History(ctx, lock.HistoryQuery{Actor: "brien"}); err != nil || len(page.Events) != 0 {
		t.Fatalf("a part of a value matched: %+v, %v", page.Events, err)
	}
}
