// Package apiv1 is scaplock's wire contract, version 1: the JSON shapes of
// holds, events, health reports, request bodies, answers and errors that
// the service, its CLI and its status page exchange.
//
// It imports nothing but the standard library, so that a client (the
// scaplock CLI on every deploy host) links only this package and its HTTP
// client, never the server's etcd, gRPC or router code. Validation of these
// values is the server's business (package lock); here they are only shapes
// and the few pure methods a client needs to read them.
package apiv1
