//go:build !linux

package lock

import "time"

var monoEpoch = time.Now()

// mono is Go's monotonic clock in nanoseconds. Unlike Linux's
// CLOCK_BOOTTIME (mono_linux.go), it may stand still while the machine
// sleeps: there, do not suspend a replica that holds a read lease.
func mono() int64 { return int64(time.Since(monoEpoch)) }
