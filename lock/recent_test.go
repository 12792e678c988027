package lock

import (
	"fmt"
	"testing"
	"time"
)

func TestRecentKeepsTheNewest(t *testing.T) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ev := func(i int) (string, Event) {
		e := Event{ID: fmt.Sprintf("e%04d", i), Time: base.Add(time.Duration(i) * time.Second)}
		return HistoryPosition(e.Time, e.ID), e
	}
	r := recent{complete: true}
	for _, i := range []int{3, 1, 2, 0, 4} { // out of order, as a watch after a reload may deliver
		r.put(ev(i))
	}
	got, next, ok := r.page(3)
	if !ok || len(got) != 3 || got[0].ID != "e0004" || got[2].ID != "e0002" || next == "" {
		t.Fatalf("page of 3 of 5: %v %q %v", got, next, ok)
	}
	if got, next, ok := r.page(10); !ok || len(got) != 5 || next != "" {
		t.Fatalf("the whole (complete) history: %d events, next %q, ok %v", len(got), next, ok)
	}
	pos, _ := ev(4)
	r.del(pos)
	if got, _, _ := r.page(1); got[0].ID != "e0003" {
		t.Fatalf("after deleting the newest: %s", got[0].ID)
	}
	// Past recentCap the oldest go and the cache no longer answers pages it cannot fill.
	for i := 5; i < recentCap+10; i++ {
		r.put(ev(i))
	}
	if len(r.events) != recentCap || r.complete {
		t.Fatalf("%d cached, complete %v; want %d, false", len(r.events), r.complete, recentCap)
	}
	if _, _, ok := r.page(recentCap); !ok {
		t.Fatal("a page of recentCap must come from the cache")
	}
	r.del(r.events[0].pos)
	if _, _, ok := r.page(recentCap); ok {
		t.Fatal("an incomplete cache answered a page it cannot fill")
	}
}
