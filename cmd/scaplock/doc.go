// Command scaplock is the command line of the scaplock deploy lock, for SREs
// and deployers: status, history, lock, unlock, amend, override, preflight,
// run, token, scap-bridge and window.
//
// Exit codes, the same for every subcommand:
//
//	0  done; for preflight: deploys allowed
//	1  refused: a hold refuses the deploy (423) or another writer or deploy
//	   got there first (409)
//	2  could not decide: the service or its store is unreachable, no answer
//	   within --timeout, 503 or another 5xx, 408/429, or an answer that is
//	   not what the call expects
//	3  misuse: bad flags, unknown scope or other bad input (400), no or bad
//	   token (401), role missing (403), no such hold or wrong URL (404), 413,
//	   422, an unreadable --token-file
//
// preflight --fail-open turns 2, and only 2, into 0 with a warning: a
// refusal or a caller's mistake is never opened. run passes its command's
// exit status through unchanged and keeps 121-127 for its own outcomes
// (121, 122, 123 for 1, 2, 3 above; see run's help and runOutcome).
package main
