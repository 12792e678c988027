package lock

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Description is what the gate's auto hold says of its cluster at one
// evaluation: the measured signals and what ends the hold, and the same
// in prose (Details, Hint) for replicas older than those fields.
type Description struct {
	Reason  string
	Details []string
	Hint    string
	Signals []apiv1.SignalReading
	Clears  *apiv1.Clears
}

// Describe updates an auto hold's description without a history event:
// the values change every evaluation, the state does not.
func (s *Store) Describe(ctx context.Context, id string, d Description, guard *Leadership) (Hold, error) {
	h, err := s.Get(id)
	if err != nil {
		return Hold{}, err
	}
	h.Reason, h.Details, h.Hint, h.Signals, h.Clears, h.UpdatedAt = d.Reason, d.Details, d.Hint, d.Signals, d.Clears, s.now().UTC()
	val, err := json.Marshal(h)
	if err != nil {
		return Hold{}, err
	}
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.keys.Hold(id)), "=", h.Revision)}, guard.cmps()...)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(append([]clientv3.Op{clientv3.OpPut(s.keys.Hold(id), string(val))}, s.ledgerOps(h, val)...)...).Commit()
	if err != nil {
		return Hold{}, unavailable("describe hold "+id, err)
	}
	if !resp.Succeeded {
		return Hold{}, fmt.Errorf("hold %s changed while describing: %w", id, ErrConflict)
	}
	h.Revision = resp.Header.Revision
	return h, nil
}

// Describes reports whether h already says what d says, so that an
// unchanged description is not written again.
func (d Description) Describes(h Hold) bool {
	b1, _ := json.Marshal(Description{h.Reason, h.Details, h.Hint, h.Signals, h.Clears})
	b2, _ := json.Marshal(d)
	return string(b1) == string(b2)
}
