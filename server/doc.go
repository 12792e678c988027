// Package server wires scaplock together and runs it: configuration,
// embedded or external etcd, migrations, the lock store, the gate's leader
// election and loop, and the HTTP server, with a graceful shutdown in
// reverse order of start.
package server
