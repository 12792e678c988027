package api

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	preflights *prometheus.CounterVec
	readyz     *prometheus.CounterVec
	// series caches each (route, method, code)'s counter and histogram:
	// looking them up by label values hashes the labels on every request.
	series sync.Map // seriesKey → *series
	// outcomes are scaplock_preflight_total's counters by outcome.
	outcomes map[string]prometheus.Counter
}

type seriesKey struct {
	route, method string
	code          int
}

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// Preflight outcomes, the values of scaplock_preflight_total's label.
const (
	outcomeAllowed   = "allowed"
	outcomeRefused   = "refused"
	outcomeUndecided = "undecided"
	outcomeInvalid   = "invalid"
)

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scaplock_http_request_duration_seconds", Help: "HTTP request latency by route, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		preflights: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_preflight_total",
			Help: "Preflight answers by outcome: allowed, refused, undecided (could not decide: store down or not confirmed), invalid (bad request or token).",
		}, []string{"outcome"}),
		readyz: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scaplock_readyz_failures_total",
			Help: "Failed /readyz answers by reason: store (etcd did not answer) or stale (the cache is not confirmed).",
		}, []string{"reason"}),
	}
	m.outcomes = map[string]prometheus.Counter{}
	for _, o := range []string{outcomeAllowed, outcomeRefused, outcomeUndecided, outcomeInvalid} {
		m.outcomes[o] = m.preflights.WithLabelValues(o)
	}
	for _, r := range []string{"store", "stale"} {
		m.readyz.WithLabelValues(r)
	}
	reg.MustRegister(m.requests, m.latency, m.preflights, m.readyz)
	return m
}

// methodLabel bounds the method label: anyone can send `curl -X FOO1`, and
// each new method would otherwise make a new set of series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodHead, http.MethodOptions:
		return method
	}
	return "other"
}

// middleware counts requests by route pattern (never the raw path, whose
// ids would explode the label space).
func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		s := m.seriesFor(seriesKey{route: route, method: methodLabel(r.Method), code: ww.Status()})
		s.requests.Inc()
		s.latency.Observe(time.Since(start).Seconds())
	})
}

func (m *httpMetrics) seriesFor(k seriesKey) *series {
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	code := strconv.Itoa(k.code)
	s, _ := m.series.LoadOrStore(k, &series{
		requests: m.requests.WithLabelValues(k.route, k.method, code),
		latency:  m.latency.WithLabelValues(k.route, k.method, code),
	})
	return s.(*series)
}

// preflightOutcome counts each preflight answer by what it told the caller.
// It runs inside middleware, whose wrapper already records the status.
func (m *httpMetrics) preflightOutcome(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next(ww, r)
		m.outcomes[outcomeOf(ww.Status())].Inc()
	}
}

func outcomeOf(status int) string {
	switch {
	case status == http.StatusOK:
		return outcomeAllowed
	case status == http.StatusLocked:
		return outcomeRefused
	case status >= 400 && status < 500:
		return outcomeInvalid
	}
	return outcomeUndecided
}

// streamGate counts open event streams and refuses those past its cap.
type streamGate struct {
	max      int64
	open     atomic.Int64
	gauge    prometheus.GaugeFunc
	rejected prometheus.Counter
}

func newStreamGate(max int, reg prometheus.Registerer) *streamGate {
	g := &streamGate{max: int64(max)}
	g.gauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scaplock_event_streams", Help: "Event streams open now.",
	}, func() float64 { return float64(g.open.Load()) })
	g.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scaplock_event_streams_rejected_total", Help: "Event streams refused (503) because SCAPLOCK_MAX_STREAMS were open.",
	})
	reg.MustRegister(g.gauge, g.rejected)
	return g
}

// enter takes a stream slot; false (and counted) when all are taken.
func (g *streamGate) enter() bool {
	if g.open.Add(1) > g.max {
		g.open.Add(-1)
		g.rejected.Inc()
		return false
	}
	return true
}

func (g *streamGate) leave() { g.open.Add(-1) }
