package sim

import (
	"net/http"
	"time"
)

// apiserverHandler answers /readyz for one host after the scripted latency,
// with the scripted status.
func (cp *ControlPlane) apiserverHandler(hs *hostServers) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		hs.readyzHits.Add(1)
		v := cp.scenario.At(hs.name, cp.clock())
		d := cp.sleepFor(v.ReadyzLatency)
		if v.ReadyzStatus == 0 {
			// No answer: hold the request until the client gives up (its
			// timeout, as a blackbox probe sees it) or MaxLatency passes, then
			// drop the connection without a response.
			d = cp.opts.maxLatency
		}
		if d > 0 {
			timer := time.NewTimer(d)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			case <-cp.closing:
				panic(http.ErrAbortHandler)
			}
		}
		if v.ReadyzStatus == 0 {
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(v.ReadyzStatus)
		if v.ReadyzStatus == http.StatusOK {
			_, _ = w.Write([]byte("ok"))
			return
		}
		_, _ = w.Write([]byte("[-]etcd failed: reason withheld\nreadyz check failed\n"))
	})
	return mux
}

// sleepFor applies LatencyScale and MaxLatency to a scripted latency.
func (cp *ControlPlane) sleepFor(latency time.Duration) time.Duration {
	d := time.Duration(float64(latency) * cp.opts.latencyScale)
	return min(d, cp.opts.maxLatency)
}
