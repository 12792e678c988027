// Package linear keeps scaplock's one consistency rule:
//
//	Every answer, on any replica, reflects every write etcd acknowledged
//	before its request arrived.
//
// A replica answers from a cache that an etcd watch keeps current. Before
// it answers a read, it confirms etcd's current revision with one
// linearizable read (etcd's ReadIndex: the leader checks with a quorum that
// it still leads) that starts after the request arrived, and waits until
// its cache has applied that revision. A write acknowledged before the
// request arrived has a revision at or below the confirmed one, so the
// answer reflects it. An answer given earlier, on any replica, showed a
// revision etcd had already committed, so at or below the confirmed one:
// no answer shows an older state than one already given.
//
// Writes are etcd transactions, and their answers (201, 404, 409, 423) are
// etcd's own linearizable answers or decisions on a cache confirmed this
// way. Nothing here trusts a clock: a timeout only turns a slow answer into
// "could not decide" (503), never into an older one. A replica's death
// delays no other replica, since no replica waits for another.
//
// Callers share reads: every caller that arrived before a read started
// joins it, so a storm of verdicts costs one read per etcd round trip, not
// one per verdict.
package linear
