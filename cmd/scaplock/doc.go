// Command scaplock is the command line of the scaplock deploy lock, for SREs
// and deployers: status, history, lock, unlock, amend, override, preflight,
// run and token.
//
// Exit codes, the same for every subcommand:
//
//	0  done; for preflight: deploys allowed
//	1  refused or rejected: the service said no (a hold, a conflict, any 4xx answer)
//	2  could not decide: the service is unreachable or answered 5xx or
//	   something unexpected; also a usage error (bad flags)
//
// run passes its command's exit status through instead (see run's help).
package main
