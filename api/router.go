package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// GateInfo is what the API shows of the gate; the server provides it.
type GateInfo struct {
	Mode     string   `json:"mode"`
	Clusters []string `json:"clusters"`
}

// Limits bound what a request may ask and hold. Every field is required:
// the configuration (server.Config, SCAPLOCK_*) is the one place their
// defaults are set.
type Limits struct {
	// MaxHoldDuration bounds manual holds.
	MaxHoldDuration time.Duration
	// MaxOverrideDuration bounds overrides.
	MaxOverrideDuration time.Duration
	// RequestTimeout bounds every request's answer.
	RequestTimeout time.Duration
	// StreamStallTimeout disconnects an event stream whose reader has not
	// taken a message for this long.
	StreamStallTimeout time.Duration
	// MaxStreams caps concurrent event streams; past it, 503.
	MaxStreams int
}

// Config wires the API.
type Config struct {
	Limits
	Store *lock.Store
	Auth  *Authenticator
	// AnonymousRead lets reads through without a token.
	AnonymousRead bool
	// StatusURL is printed in refusal messages.
	StatusURL string
	Gate      GateInfo
	// View serves the gate's reports, leader and samples.
	View GateView
	// Calendar has the deployment windows, fed by the store's watch; nil
	// means no windows.
	Calendar *lock.Calendar
	// StoreInfo is shown in /api/v1/status; Cluster, when set, adds the
	// members' and replicas' last known states to it.
	StoreInfo StoreInfo
	Cluster   func(StoreInfo) StoreInfo
	// Ready reports whether etcd is reachable.
	Ready func(ctx context.Context) error
	// Endpoints reports which etcd members answer, now; nil leaves them
	// out of /readyz.
	Endpoints func(ctx context.Context) []EndpointState
	// Page serves "/"; nil serves nothing there.
	Page     http.Handler
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// API holds the handlers' dependencies.
type API struct {
	cfg     Config
	store   *lock.Store
	log     *slog.Logger
	metrics *httpMetrics
	deploys *deployMetrics
	streams *streamGate
	newest  newestPages
}

// New builds the router.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	a := &API{cfg: cfg, store: cfg.Store, log: cfg.Logger, metrics: newHTTPMetrics(cfg.Registry), deploys: newDeployMetrics(cfg.Registry), streams: newStreamGate(cfg.MaxStreams, cfg.Registry)}
	fail := a.fail

	r := chi.NewRouter()
	r.Use(middleware.Recoverer, a.metrics.middleware, securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		fail(w, fmt.Errorf("no route %s: %w", r.URL.Path, lock.ErrNotFound))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: "method_not_allowed", Message: "method not allowed on this route"}})
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", a.readyz)
	r.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry}))
	if cfg.Page != nil {
		r.Handle("/", cfg.Page)
		r.Handle("/static/*", cfg.Page)
	}

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(cfg.Auth.authenticate(fail))
		r.Group(func(r chi.Router) {
			if !cfg.AnonymousRead {
				r.Use(require(fail))
			}
			r.Get("/status", a.status)
			r.Get("/preflight", a.metrics.preflightOutcome(a.preflight))
			r.Get("/holds", a.listHolds)
			r.Get("/holds/{id}", a.getHold)
			r.Get("/history", a.history)
			r.Get("/samples", a.samples)
			r.Get("/report", a.report)
			r.Get("/events", a.events)
			r.Get("/windows", a.listWindows)
			r.Get("/windows.ics", a.windowsCalendar)
		})
		r.Group(func(r chi.Router) {
			r.Use(require(fail, RoleSRE))
			r.Post("/holds", a.createHold)
			r.Patch("/holds/{id}", a.amendHold)
			r.Delete("/holds/{id}", a.releaseHold)
			r.Post("/overrides", a.createOverride)
			r.Delete("/overrides/{id}", a.cancelOverride)
			r.Post("/windows", a.createWindow)
			r.Delete("/windows/{id}", a.deleteWindow)
		})
		r.Group(func(r chi.Router) {
			r.Use(require(fail, RoleDeployer))
			r.Post("/deploys", a.acquireDeploy)
			r.Put("/deploys/{id}/keepalive", a.keepAlive)
			r.Delete("/deploys/{id}", a.releaseDeploy)
			r.Post("/syncs", a.recordSync)
			r.Put("/bridges/{host}", a.reportBridge)
		})
	})
	return r
}

func (a *API) fail(w http.ResponseWriter, err error) {
	writeError(w, a.log, err, a.cfg.StatusURL, a.store.Now)
}

// EndpointState is one etcd member as /readyz sees it.
type EndpointState = apiv1.MemberState

// ReadyResponse is GET /readyz: ready when a quorum answers and the cache
// is confirmed; Endpoints says which endpoints answer either way.
type ReadyResponse struct {
	Status    string          `json:"status,omitempty"`
	Revision  int64           `json:"revision,omitempty"`
	Error     *ErrorDetail    `json:"error,omitempty"`
	Endpoints []EndpointState `json:"endpoints,omitempty"`
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var resp ReadyResponse
	if a.cfg.Endpoints != nil {
		resp.Endpoints = a.cfg.Endpoints(ctx)
	}
	reason, err := "stale", a.store.Fresh()
	if a.cfg.Ready != nil {
		if rerr := a.cfg.Ready(ctx); rerr != nil {
			reason, err = "store", fmt.Errorf("%w: %w", lock.ErrUnavailable, rerr)
		}
	}
	if err != nil {
		a.metrics.readyz.WithLabelValues(reason).Inc()
		resp.Error = &ErrorDetail{Code: "unavailable", Message: err.Error()}
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	}
	resp.Status, resp.Revision = "ready", a.store.Revision()
	writeJSON(w, http.StatusOK, resp)
}

// securityHeaders sets conservative headers on every answer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
