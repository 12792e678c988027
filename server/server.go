package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/migrations"
	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/gate"
	"github.com/scaplock/scaplock/web"
)

// ErrShuttingDown ends event streams, queued deploys and requests still
// waiting for their body when the server stops; writes under way finish.
var ErrShuttingDown = errors.New("scaplockd is shutting down")

// MaxHeaderBytes bounds a request's headers; past it the answer is 431.
const MaxHeaderBytes = 64 << 10

// Server is a running scaplockd.
type Server struct {
	opts     options
	cfg      Config
	log      *slog.Logger
	embedded *embedetcd.Etcd
	cli      *clientv3.Client
	store    *lock.Store
	gate     *gateRunner
	http     *http.Server
	listener net.Listener
	served   chan error
	cluster  *clusterWatch
	// stops stop what Start started, in the order it started them
	// (stopBackends runs them last first).
	stops []func()
	// SecretFile is the HS256 secret in use, if any.
	SecretFile string
}

// Start brings scaplockd up: etcd, migrations, the store, the gate and the
// HTTP server. On error everything started so far is stopped again.
func Start(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log, served: make(chan error, 1)}
	for _, o := range opts {
		o(&s.opts)
	}
	defer func() {
		if err != nil {
			s.stopBackends()
		}
	}()
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	auth, err := s.authenticator()
	if err != nil {
		return nil, err
	}
	keys := lock.NewKeys(cfg.EtcdPrefix)
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := migrations.Run(mctx, s.cli, keys, migrations.All, log); err != nil {
		return nil, err
	}
	// The clusters are known scopes: read them before the store opens.
	gateCfg := s.opts.gate
	if gateCfg == nil && cfg.ClustersFile != "" {
		loaded, err := health.LoadConfig(cfg.ClustersFile)
		if err != nil {
			return nil, fmt.Errorf("SCAPLOCK_CLUSTERS_FILE: %w", err)
		}
		gateCfg = &loaded
	}
	scopes, err := knownScopes(cfg, gateCfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	view := gate.NewView(keys, log)
	calendar := lock.NewCalendar(keys, log)
	peers := newReplicas(keys, cfg.ReplicaName, log)
	if cfg.Build.Version == "" {
		cfg.Build = ReadBuildInfo("", "")
	}
	registerBuildInfo(reg, cfg.Build)
	storeOpts := lock.Options{
		Prefix: cfg.EtcdPrefix, Logger: log, Parts: append(append(view.Parts(), peers.Part()), calendar.Parts()...),
		Retention:  lock.Retention{MaxAge: cfg.HistoryMaxAge, MaxCount: cfg.HistoryMaxEvents},
		Registerer: reg, Scopes: scopes,
	}
	if s.embedded != nil {
		storeOpts.CurrentRevision = s.embedded.CurrentRevision
		storeOpts.LocalRevision = s.embedded.LocalRevision
	} else {
		tlsCfg, err := etcdTLS(s.cfg)
		if err != nil {
			return nil, err
		}
		// The read barrier's reads go to the etcd leader.
		reader := newLeaderReader(s.cli, keys.SchemaVersion(), tlsCfg)
		s.started(reader.Close)
		storeOpts.CurrentRevision = reader.CurrentRevision
	}
	s.store, err = lock.Open(ctx, s.cli, storeOpts)
	if err != nil {
		return nil, err
	}
	s.started(s.store.Close)
	storeInfo, err := s.topology(ctx)
	if err != nil {
		return nil, fmt.Errorf("etcd member list: %w", err)
	}
	registerTopology(reg, storeInfo)
	gateInfo := api.GateInfo{Mode: "off"}
	if cfg.ClustersFile != "" || s.opts.gate != nil {
		if s.gate, err = startGate(cfg, gateCfg, s.cli, s.store, view, reg, log); err != nil {
			return nil, err
		}
		s.started(s.gate.stop)
		gateInfo = s.gate.info()
	}
	s.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("SCAPLOCK_LISTEN: %w", err)
	}
	statusURL := cfg.PublicURL
	if statusURL == "" {
		statusURL = "http://" + displayAddr(s.listener.Addr()) + "/"
	}
	handler := api.New(api.Config{
		Limits: cfg.APILimits(), Store: s.store, Auth: auth, AnonymousRead: cfg.AnonymousRead,
		StatusURL: statusURL, Gate: gateInfo, View: view, Calendar: calendar, StoreInfo: storeInfo, Cluster: func(i api.StoreInfo) api.StoreInfo { return s.cluster.info(i) }, Ready: s.ready, Endpoints: s.memberStates, Page: web.Handler(), Logger: log, Registry: reg,
	})
	baseCtx, cancelRequests := context.WithCancelCause(context.Background())
	s.http = &http.Server{
		Handler: handler,
		// Every client is bounded: headers and body within ReadTimeout
		// (event streams lift the read deadline, they have no body), idle
		// keep-alives for 2 minutes, headers within 64 KiB (431 past it).
		ReadHeaderTimeout: cfg.ReadTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ConnContext:       api.ConnContext,
	}
	waiting := newUnstarted()
	s.http.ConnState = waiting.track
	// Streams and queued deploys never go idle: end them when shutdown starts.
	s.http.RegisterOnShutdown(func() {
		cancelRequests(ErrShuttingDown)
		waiting.closeAll()
	})
	s.cluster = s.startClusterWatch(peers, statusURL)
	s.started(s.cluster.close)
	reg.MustRegister(s.cluster)
	go func() { s.served <- s.http.Serve(s.listener) }()
	s.started(startMemoryReturner(10*time.Second, 4<<20).close)
	log.Info("scaplockd listening", "addr", s.listener.Addr().String(), "status_page", statusURL,
		"etcd", s.etcdDescription(), "store", storeInfo.Topology, "members", storeInfo.Members,
		"prefix", cfg.EtcdPrefix, "replica", cfg.ReplicaName, "version", cfg.Build.Version)
	if storeInfo.Topology == TopologyEmbeddedSingle {
		log.Warn("single-node store: this replica's etcd is embedded and alone; other replicas would each have their own lock store. For more than one replica set SCAPLOCK_ETCD_INITIAL_CLUSTER or SCAPLOCK_ETCD_ENDPOINTS (docs/production.md)")
	}
	return s, nil
}

// URL is the base URL the server answers on.
func (s *Server) URL() string { return "http://" + displayAddr(s.listener.Addr()) }

// Store is the server's lock store.
func (s *Server) Store() *lock.Store { return s.store }

// Stop shuts down in reverse order of start, bounded by ShutdownTimeout:
// stop accepting and drain requests, stop the gate, close the store and
// etcd.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.stopBackends()
	return errors.Join(errs...)
}

// started records how to stop what Start has just started.
func (s *Server) started(stop func()) { s.stops = append(s.stops, stop) }

// stopBackends stops what Start started, in reverse order: the memory
// returner, the cluster watch, the gate, the store, the leader reader,
// the etcd client, the embedded etcd, the data dir's lock.
func (s *Server) stopBackends() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// Run starts the server and stops it when ctx is done.
func Run(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) error {
	s, err := Start(ctx, cfg, log, opts...)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case err := <-s.served:
		s.served <- err
		log.Error("http server stopped", "err", err)
	}
	err = s.Stop()
	log.Info("stopped")
	return err
}

// connect starts the embedded etcd or dials the configured cluster.
// client keeps the etcd client connect made.
func (s *Server) client(cli *clientv3.Client, err error) error {
	if err != nil {
		return err
	}
	s.cli = cli
	s.started(func() { cli.Close() })
	return nil
}

func (s *Server) connect(ctx context.Context) error {
	if len(s.cfg.EtcdEndpoints) == 0 {
		// Two embedded etcds on one data dir would wait on each other's
		// database lock forever: refuse at once instead.
		l, err := lockDataDir(s.cfg.DataDir)
		if err != nil {
			return err
		}
		s.started(l.release)
		start := func() (*embedetcd.Etcd, error) {
			return embedetcd.StartContext(ctx, s.cfg.DataDir, embedetcd.Options{CompactionRetention: s.cfg.EtcdCompactionRetention})
		}
		if s.cfg.EtcdInitialCluster != "" {
			s.log.Info("starting this replica's etcd member; the cluster serves once a quorum of members runs",
				"member", s.cfg.ReplicaName, "initial_cluster", s.cfg.EtcdInitialCluster, "state", s.cfg.EtcdInitialClusterState)
			start = func() (*embedetcd.Etcd, error) {
				return embedetcd.StartMemberContext(ctx, s.cfg.DataDir, s.cfg.member())
			}
		}
		e, err := start()
		if err != nil {
			return err
		}
		s.embedded = e
		s.started(e.Close)
		return s.client(e.Client())
	}
	tlsCfg, err := etcdTLS(s.cfg)
	if err != nil {
		return err
	}
	if err := s.client(newClient(clientv3.Config{Endpoints: s.cfg.EtcdEndpoints, TLS: tlsCfg})); err != nil {
		return fmt.Errorf("SCAPLOCK_ETCD_ENDPOINTS: %w", err)
	}
	// Any quorum will do: a linearizable read through the client, which
	// balances over every endpoint, not a status call to the first one.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.ready(rctx); err != nil {
		var down []string
		for _, e := range s.memberStates(ctx) {
			if !e.OK {
				down = append(down, e.Endpoint+" ("+e.Error+")")
			}
		}
		return fmt.Errorf("SCAPLOCK_ETCD_ENDPOINTS: no etcd quorum answers: %w; unreachable: %s", err, strings.Join(down, ", "))
	}
	return nil
}

func etcdTLS(c Config) (*tls.Config, error) {
	if c.EtcdCAFile == "" && c.EtcdCertFile == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.EtcdCAFile != "" {
		pem, err := os.ReadFile(c.EtcdCAFile)
		if err != nil {
			return nil, fmt.Errorf("SCAPLOCK_ETCD_CA_FILE: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SCAPLOCK_ETCD_CA_FILE: no certificates in %s", c.EtcdCAFile)
		}
	}
	if c.EtcdCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.EtcdCertFile, c.EtcdKeyFile)
		if err != nil {
			return nil, fmt.Errorf("SCAPLOCK_ETCD_CERT_FILE: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// authenticator loads the configured key or, with the embedded etcd and
// nothing configured, a secret generated in the data dir on first start.
func (s *Server) authenticator() (*api.Authenticator, error) {
	ac := api.AuthConfig{
		SecretFile: s.cfg.JWTSecretFile, PublicKeyFile: s.cfg.JWTPublicKeyFile,
		Issuer: s.cfg.JWTIssuer, Audience: s.cfg.JWTAudience, MaxTTL: s.cfg.JWTMaxTTL,
	}
	if ac.SecretFile == "" && ac.PublicKeyFile == "" {
		path, created, err := ensureSecret(s.cfg.DataDir)
		if err != nil {
			return nil, err
		}
		ac.SecretFile = path
		if created {
			s.log.Info("generated a JWT secret; mint tokens with `scaplock token --secret-file` on it", "secret_file", path)
		} else {
			s.log.Info("using the JWT secret in the data dir", "secret_file", path)
		}
	}
	s.SecretFile = ac.SecretFile
	auth, err := api.NewAuthenticator(ac)
	if err != nil {
		return nil, err
	}
	s.log.Info("JWT verification", "algorithm", auth.Method(), "issuer", ac.Issuer, "audience", ac.Audience, "anonymous_read", s.cfg.AnonymousRead)
	return auth, nil
}

// ready reports whether etcd answers.
func (s *Server) ready(ctx context.Context) error {
	_, err := s.cli.Get(ctx, lock.NewKeys(s.cfg.EtcdPrefix).SchemaVersion(), clientv3.WithCountOnly())
	return err
}

func (s *Server) etcdDescription() string {
	if s.embedded != nil && s.cfg.EtcdInitialCluster != "" {
		return "embedded member " + s.cfg.ReplicaName + " (" + s.cfg.DataDir + ", client " + s.embedded.Endpoint + ")"
	}
	if s.embedded != nil {
		return "embedded (" + s.cfg.DataDir + ")"
	}
	return fmt.Sprint(s.cfg.EtcdEndpoints)
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
