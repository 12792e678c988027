package lock

import "golang.org/x/sys/unix"

// mono reads CLOCK_BOOTTIME in nanoseconds for the read lease: monotonic,
// immune to wall-clock steps, and, unlike Go's monotonic clock
// (CLOCK_MONOTONIC), still running while the machine is suspended, when
// etcd's leader goes on counting the lease down.
func mono() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		panic(err) // Linux has had CLOCK_BOOTTIME since 2.6.39
	}
	return ts.Nano()
}
