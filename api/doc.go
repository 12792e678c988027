// Package api is scaplock's HTTP interface: the chi router, JSON handlers,
// JWT authentication with roles, and the Server-Sent Events stream.
//
// Errors have one shape everywhere, {"error":{"code","message"}}, and the
// lock package's sentinel errors are mapped to status codes only here.
package api
