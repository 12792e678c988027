package lock

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Keys builds every etcd key scaplock uses under one prefix. It is the only
// place key names are spelled.
type Keys struct {
	Prefix string
}

// NewKeys normalises prefix to end in "/".
func NewKeys(prefix string) Keys {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return Keys{Prefix: prefix}
}

// SchemaVersion holds the key-layout version (see package migrations).
func (k Keys) SchemaVersion() string { return k.Prefix + "schema/version" }

// MigrationLock is the etcd mutex prefix migrations run under.
func (k Keys) MigrationLock() string { return k.Prefix + "schema/lock" }

// Holds is the prefix of live holds; a hold key lives on the hold's lease.
func (k Keys) Holds() string { return k.Prefix + "holds/" }

// Hold is one live hold.
func (k Keys) Hold(id string) string { return k.Holds() + id }

// Ledger is the prefix of lease-free copies of holds: a ledger entry whose
// hold is gone means the hold's lease expired.
func (k Keys) Ledger() string { return k.Prefix + "ledger/" }

// LedgerEntry is the lease-free copy of one hold.
func (k Keys) LedgerEntry(id string) string { return k.Ledger() + id }

// History is the prefix of history events, newest first: an ascending
// range, the only one etcd can stop early, reads the newest events first.
func (k Keys) History() string { return k.Prefix + "events/" }

// HistoryEvent names an event: its HistoryPosition, so keys sort newest first.
func (k Keys) HistoryEvent(t time.Time, id string) string {
	return k.History() + HistoryPosition(t, id)
}

// HistoryArchive is the prefix of the history's archive chunks: older
// events folded up to a thousand a key (see archive.go).
func (k Keys) HistoryArchive() string { return k.Prefix + "events-archive/" }

// HistoryChunk names a chunk by the positions of its oldest and newest
// events and its count. '!' sorts below every character of an id, so
// chunks sort by their oldest position, newest first as events do.
func (k Keys) HistoryChunk(oldest, newest string, count int) string {
	return fmt.Sprintf("%s%s!%s!%d", k.HistoryArchive(), oldest, newest, count)
}

// chunkKeyAfter follows a position in a chunk key: a range that ends at
// a position plus it takes every chunk whose oldest event is that one.
const chunkKeyAfter = "\""

// LegacyHistoryIndexes is the prefix of layout 2's indexes of the history
// by hold and actor; migration 3 drops them.
func (k Keys) LegacyHistoryIndexes() string { return k.Prefix + "events-by/" }

// LegacyHistory is the prefix of layout 1's history (oldest first, keyed
// by the nanosecond); migration 2 moves it to History.
func (k Keys) LegacyHistory() string { return k.Prefix + "history/" }

// HistoryPosition orders events newest first: the nanoseconds from t to
// the end of int64 time, zero padded, then the id. Cursors are positions.
func HistoryPosition(t time.Time, id string) string {
	return historyStamp(t) + "-" + id
}

// historyStamp is the part of a position that only depends on time; every
// position at t or older sorts at or after it.
func historyStamp(t time.Time) string {
	return fmt.Sprintf("%019d", int64(math.MaxInt64)-max(t.UnixNano(), 0))
}

// Replicas is the prefix of the replicas holding a read lease (see
// readlease.go); a replica's key lives on its lease.
func (k Keys) Replicas() string { return k.Prefix + "replicas/" }

// Windows is the prefix of deployment windows.
func (k Keys) Windows() string { return k.Prefix + "windows/" }

// Window is one deployment window.
func (k Keys) Window(id string) string { return k.Windows() + id }

// Queue is the prefix of deployers waiting for a scope, in FIFO order of creation.
func (k Keys) Queue() string { return k.Prefix + "queue/" }

// Health is the prefix of per-cluster health reports published by the gate leader.
func (k Keys) Health() string { return k.Prefix + "health/" }

// HealthReport is one cluster's latest report.
func (k Keys) HealthReport(cluster string) string { return k.Health() + cluster }

// Samples is the prefix of each cluster's latest evaluated values,
// published by the gate leader every interval.
func (k Keys) Samples() string { return k.Prefix + "samples/" }

// ClusterSamples is one cluster's latest values.
func (k Keys) ClusterSamples(cluster string) string { return k.Samples() + cluster }

// Election is the prefix of the gate leader election.
func (k Keys) Election() string { return k.Prefix + "election/gate" }

// Bridges is the prefix of the deploy hosts whose scap bridge a person
// released (see bridge.go).
func (k Keys) Bridges() string { return k.Prefix + "bridges/" }

// Bridge is one deploy host's released bridge.
func (k Keys) Bridge(host string) string { return k.Bridges() + host }

// Idempotency is the prefix of recorded write outcomes, by idempotency key.
func (k Keys) Idempotency() string { return k.Prefix + "idem/" }

// IdempotencyRecord is the outcome of the write made with one key (a hash
// of actor and key).
func (k Keys) IdempotencyRecord(id string) string { return k.Idempotency() + id }
