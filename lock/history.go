package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// HistoryQuery filters the history. Zero fields match everything.
type HistoryQuery struct {
	Scope  Scope
	Kind   Kind
	Actor  string
	Action Action
	// HoldID keeps the events of one hold.
	HoldID string
	Since  time.Time
	Until  time.Time
	// Limit is the page size: 50 by default, at most 1000.
	Limit int
	// Cursor continues from a previous page's Next.
	Cursor string
}

// HistoryPage is one page of events, newest first.
type HistoryPage = apiv1.HistoryPage

// MaxHistoryLimit is the largest page.
const MaxHistoryLimit = apiv1.MaxHistoryLimit

// History returns the events matching q, newest first.
func (s *Store) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 0 || q.Limit > MaxHistoryLimit {
		return HistoryPage{}, invalid("limit", "must be between 1 and %d", MaxHistoryLimit)
	}
	from := s.keys.History()
	if !q.Since.IsZero() {
		from = s.keys.historyAt(q.Since)
	}
	end := clientv3.GetPrefixRangeEnd(s.keys.History())
	if !q.Until.IsZero() {
		end = s.keys.historyAt(q.Until.Add(time.Nanosecond))
	}
	if q.Cursor != "" {
		cursor := s.keys.History() + q.Cursor
		if !strings.HasPrefix(cursor, s.keys.History()) || cursor <= from {
			return HistoryPage{}, invalid("cursor", "is not a cursor from this history")
		}
		if cursor < end {
			end = cursor
		}
	}
	page := HistoryPage{}
	var rev int64
	for len(page.Events) < q.Limit && end > from {
		opts := []clientv3.OpOption{
			clientv3.WithRange(end), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend),
			clientv3.WithLimit(200),
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return HistoryPage{}, unavailable("read history", err)
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			end = string(kv.Key)
			var e Event
			if json.Unmarshal(kv.Value, &e) != nil {
				continue
			}
			e.Revision = kv.ModRevision
			if q.matches(e) {
				page.Events = append(page.Events, e)
				if len(page.Events) == q.Limit {
					page.Next = strings.TrimPrefix(end, s.keys.History())
					break
				}
			}
		}
		if !resp.More {
			break
		}
	}
	if page.Events == nil {
		page.Events = []Event{}
	}
	page.Revision = rev
	return page, nil
}

func (q HistoryQuery) matches(e Event) bool {
	return (q.Scope == "" || e.Scope == q.Scope) &&
		(q.Kind == "" || e.Kind == q.Kind) &&
		(q.Actor == "" || e.Actor == q.Actor) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.HoldID == "" || (e.Hold != nil && e.Hold.ID == q.HoldID))
}

// prune enforces the retention: events older than MaxAge go, then the
// oldest beyond MaxCount.
func (s *Store) prune(ctx context.Context) error {
	if s.retention.MaxAge > 0 {
		cut := s.keys.historyAt(s.now().Add(-s.retention.MaxAge))
		if _, err := s.cli.Delete(ctx, s.keys.History(), clientv3.WithRange(cut)); err != nil {
			return fmt.Errorf("prune history by age: %w", err)
		}
	}
	if s.retention.MaxCount > 0 {
		count, err := s.cli.Get(ctx, s.keys.History(), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return err
		}
		excess := count.Count - int64(s.retention.MaxCount)
		if excess <= 0 {
			return nil
		}
		oldest, err := s.cli.Get(ctx, s.keys.History(), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(excess))
		if err != nil {
			return err
		}
		if len(oldest.Kvs) == 0 {
			return nil
		}
		last := string(oldest.Kvs[len(oldest.Kvs)-1].Key) + "\x00"
		if _, err := s.cli.Delete(ctx, s.keys.History(), clientv3.WithRange(last)); err != nil {
			return fmt.Errorf("prune history by count: %w", err)
		}
	}
	return nil
}
