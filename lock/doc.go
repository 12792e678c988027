// Package lock is scaplock's domain: holds on deploy scopes and the
// etcd-backed store that keeps them.
//
// A Hold is one reason not to deploy. Deploys to a scope are allowed iff no
// active hold covers it; the scope "global" covers every scope. Every
// conditional write is a single etcd transaction, expiry rides on etcd
// leases, and reads are served from an in-memory cache fed by an etcd watch,
// so each answer carries the etcd revision it reflects. Every change appends
// an Event to the history.
package lock
