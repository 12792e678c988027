// Package tick runs the loops that do one thing every interval until they
// are told to stop: scaplockd's memory return, defragmentation, cache
// confirmation, expiry sweep and member checks, and the bench's samplers.
package tick

import "time"

// Until calls f every interval until stop is closed; the first call is one
// interval in (a caller that wants one at once makes it first). A call in
// progress when stop closes runs to its end before Until returns.
func Until(stop <-chan struct{}, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f()
		}
	}
}
