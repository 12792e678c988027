package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Bridge is a deploy host whose scap bridge a person released.
type Bridge = apiv1.Bridge

const (
	ActionBridgeUnlocked = apiv1.ActionBridgeUnlocked
	ActionBridgeGuarded  = apiv1.ActionBridgeGuarded
)

// BridgeReport is a scap bridge saying whether it guards scap's lock on
// its host, from Actor, the identity of its token.
type BridgeReport struct {
	Host  string
	Actor string
	apiv1.BridgeBody
}

// hostPattern is a host name as the bridge's host tells it (RFC 1123
// labels, dots between them).
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$`)

// maxNameLen bounds a releaser's or user's name.
const maxNameLen = 256

func (r BridgeReport) validate(known KnownScopes) error {
	if len(r.Host) > 253 || !hostPattern.MatchString(r.Host) {
		return invalid("host", "%q is not a host name", r.Host)
	}
	if len(r.Scopes) == 0 {
		return invalid("scopes", "are required: the scopes the bridge guards")
	}
	for _, s := range r.Scopes {
		if _, err := known.Parse(string(s)); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{"releaser": r.Releaser, "user": r.User} {
		if len(v) > maxNameLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return invalid(field, "must be one line of at most %d bytes", maxNameLen)
		}
	}
	if r.Reason != "" {
		if err := ValidateReason(r.Reason); err != nil {
			return err
		}
	}
	if !r.Guarded && r.Since.IsZero() {
		return invalid("since", "is required when guarded is false: when the lock was broken")
	}
	return nil
}

// ReportBridge records a bridge's report: an unguarded host is stored
// under Keys.Bridge with a bridge_unlocked event, and a guarded one
// deletes it with a bridge_guarded event, in one transaction each. A
// report that changes nothing (a retry, or guarded when nothing was
// recorded) writes nothing; recorded says whether an event was written.
func (s *Store) ReportBridge(ctx context.Context, r BridgeReport) (recorded bool, err error) {
	if err := r.validate(s.scopes); err != nil {
		return false, err
	}
	key := s.keys.Bridge(r.Host)
	for range 5 {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return false, unavailable("read bridge "+r.Host, err)
		}
		var cur *Bridge
		var rev int64
		if len(resp.Kvs) > 0 {
			cur, rev = new(Bridge), resp.Kvs[0].ModRevision
			if err := json.Unmarshal(resp.Kvs[0].Value, cur); err != nil {
				return false, fmt.Errorf("decode bridge %s: %w", r.Host, err)
			}
		}
		var ops []clientv3.Op
		e := Event{ID: newID(), Time: s.now().UTC(), Actor: r.Actor, Scope: r.Scopes[0], Reason: r.Reason}
		if r.Guarded {
			if cur == nil {
				return false, nil
			}
			e.Action, e.Bridge = ActionBridgeGuarded, cur
			ops = append(ops, clientv3.OpDelete(key))
		} else {
			if cur != nil && cur.Since.Equal(r.Since) {
				return false, nil
			}
			b := Bridge{Host: r.Host, ReportedBy: r.Actor, BridgeBody: r.BridgeBody}
			b.Since = b.Since.UTC()
			val, err := json.Marshal(b)
			if err != nil {
				return false, err
			}
			e.Action, e.Bridge = ActionBridgeUnlocked, &b
			ops = append(ops, clientv3.OpPut(key, string(val)))
		}
		if e.Reason == "" {
			e.Reason = "no reason given"
		}
		eops, err := HistoryOps(s.keys, e)
		if err != nil {
			return false, err
		}
		txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(append(ops, eops...)...).Commit()
		if err != nil {
			return false, outcomeUnknown("report bridge", r.Host, err)
		}
		if txn.Succeeded {
			return true, s.WaitRevision(ctx, txn.Header.Revision)
		}
		// Another report for this host came first: look again.
	}
	return false, fmt.Errorf("bridge %s kept changing: %w", r.Host, ErrConflict)
}

// bridgesLocked are the hosts whose bridge a person released, by host
// (Snapshot.Bridges).
func (s *Store) bridgesLocked() []Bridge {
	out := make([]Bridge, 0, len(s.bridges))
	for _, b := range s.bridges {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

func (s *Store) putBridge(kv *mvccpb.KeyValue) *Change {
	var b Bridge
	if err := json.Unmarshal(kv.Value, &b); err != nil {
		s.log.Warn("skipping undecodable bridge report", "key", string(kv.Key), "err", err)
		return nil
	}
	s.bridges[string(kv.Key)] = b
	return nil // the history event that comes with it tells
}

func (s *Store) delBridge(kv *mvccpb.KeyValue) *Change {
	delete(s.bridges, string(kv.Key))
	return nil
}
