// Package migrations versions scaplock's etcd key layout. The version lives
// at <prefix>schema/version; Run applies the missing migrations in order,
// under an etcd mutex, each in one transaction with the version bump, so
// replicas starting together apply each migration exactly once. A store
// newer than this binary is refused rather than silently downgraded.
package migrations
