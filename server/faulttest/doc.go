// Package faulttest holds the fault suite: Debian's etcd-server as a
// 3-member cluster on loopback under two scaplockd replicas (in-process,
// or real processes where one is killed with SIGKILL under load or frozen
// with SIGSTOP), with members killed and restarted,
// quorum lost and regained (the scaplock CLI's preflight among the
// clients), and the histories that clients saw checked for
// linearizability with porcupine. It has no non-test code beyond this
// comment.
package faulttest
