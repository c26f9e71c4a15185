// SPDX-License-Identifier: Apache-2.0

// Package api is Trail's HTTP JSON API: ingest, query, export, the activity
// counts, the catalog, health and metrics, on the standard library's
// net/http with Go 1.22 method-and-path patterns.
//
// Every route is declared in one table (routes). A route names the scope it
// needs; the router authenticates the bearer key on every request (no
// caching: a key revoked from the CLI stops working at once), then checks
// the key's org binding before anything else about the org, so that an org
// outside the binding answers 404 exactly as an absent one would. Errors are
// *audit.Error values mapped to statuses in one place (errors.go) and
// written as {"error": {"code", "message", "details"}}.
//
// Events go out as the exact bytes the store keeps; the API never decodes
// and re-encodes an event.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
	"github.com/trailaudit/trail/internal/ratelimit"
	"github.com/trailaudit/trail/internal/stream"
)

// Config configures an API. Service is required (here or through
// SetService); the zero value of every other field is its default.
type Config struct {
	// Service is the write path and the source of reads (Service.Store()).
	Service *audit.Service
	Logger  *slog.Logger // default slog.Default()
	// Registry receives the API's metrics, and the Go and process
	// collectors; nil: a new registry.
	Registry *prometheus.Registry
	// Ready reports whether the server may take traffic (e.g. once demo
	// data is loaded); nil: ready once the store answers Ping.
	Ready func() bool
	Now   func() time.Time // default time.Now
	// Viewers mints viewer links and ends sessions (viewer.go); nil: one
	// over the service's store, building relative link URLs.
	Viewers *audit.Viewers
	// Limits are the request limits and the bound on concurrent exports
	// (limits.go), shared with the web pages; nil: none. Its refusals are
	// counted in the registry.
	Limits *ratelimit.Guard
}

// API is the HTTP handler of the JSON API. It is safe for concurrent use.
type API struct {
	svc     *audit.Service
	store   audit.Store
	log     *slog.Logger
	reg     *prometheus.Registry
	ready   func() bool
	now     func() time.Time
	metrics *metrics
	prom    http.Handler // the /metrics exposition
	mux     *http.ServeMux
	catalog []byte // the encoded GET /api/v1/catalog reply
	touch   *keyToucher
	viewers *audit.Viewers
	limits  *ratelimit.Guard
	streams *stream.Manager // the stream routes (streams.go); nil: 503
}

// New returns the API for cfg and registers its metrics in cfg.Registry.
//
// cfg.Service may be nil when the service must be built after the API (to
// hand it a.Metrics()); SetService must then be called before the API
// serves. Until then every route but /healthz answers 503.
func New(cfg Config) *API {
	a := &API{
		log: cfg.Logger, reg: cfg.Registry, ready: cfg.Ready, now: cfg.Now,
		mux: http.NewServeMux(), viewers: cfg.Viewers,
		limits: cfg.Limits,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
	}
	if a.ready == nil {
		a.ready = func() bool { return true }
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.metrics = newMetrics(a.reg)
	a.reg.MustRegister(quarantineCollector{a}) // integrity.go
	if a.limits != nil {
		register(a.reg, a.limits) // metrics.go: APIs sharing a registry share it
	}
	a.prom = promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
	a.touch = &keyToucher{log: a.log, last: map[string]time.Time{}}
	for _, rt := range a.routes() {
		a.mux.Handle(rt.method+" "+rt.pattern, a.handler(rt))
	}
	if cfg.Service != nil {
		a.SetService(cfg.Service)
	}
	return a
}

// SetService sets the service of an API built without one. It must be
// called once, before the API serves its first request.
func (a *API) SetService(svc *audit.Service) {
	a.svc, a.store = svc, svc.Store()
	a.catalog = encodeCatalog(svc.Catalog())
	a.touch.store = a.store
}

// Metrics returns the audit.Metrics to hand to audit.Config.Metrics, so
// that group commits are recorded in the API's registry: commit latency,
// events committed, group size and store errors.
func (a *API) Metrics() audit.Metrics { return a.metrics.commit }

// Close waits for background work (recording keys' last use) to finish.
// Call it after the HTTP server has shut down and before closing the store.
func (a *API) Close() { a.touch.wait() }

// route is one entry of the route table.
type route struct {
	method  string
	pattern string      // a net/http path pattern; {org} marks an org route
	scope   audit.Scope // "" : no key needed
	handle  handlerFunc
}

// handlerFunc serves one request for an authenticated caller (the zero
// caller on public routes). A returned error is written as the JSON error
// response; a handler returns one only before writing anything.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

// routes is the route table: every route the API serves, in one place.
// The OpenAPI test and the isolation test walk it.
func (a *API) routes() []route {
	return []route{
		{"POST", "/api/v1/orgs/{org}/events", audit.ScopeIngest, a.ingest},
		{"GET", "/api/v1/orgs/{org}/events", audit.ScopeRead, a.list},
		{"GET", "/api/v1/orgs/{org}/events/{id}", audit.ScopeRead, a.event},
		{"GET", "/api/v1/orgs/{org}/export", audit.ScopeRead, a.export},
		{"GET", "/api/organizations/{org}/audit-log/export", audit.ScopeRead, a.hubExport}, // export.go
		{"GET", "/api/v1/orgs/{org}/activity", audit.ScopeRead, a.activity},
		{"GET", "/api/v1/orgs/{org}/checkpoint", audit.ScopeRead, a.checkpoint},
		{"GET", "/api/v1/orgs/{org}/events/{id}/proof", audit.ScopeRead, a.proof},
		{"GET", "/api/v1/orgs/{org}/consistency", audit.ScopeRead, a.consistency},
		{"GET", "/api/v1/verifier-key", "", a.verifierKey},
		{"POST", "/api/v1/orgs/{org}/viewer-links", audit.ScopeAdmin, a.createViewerLink},
		{"DELETE", "/api/v1/orgs/{org}/sessions", audit.ScopeAdmin, a.endSessions},
		{"POST", "/api/v1/orgs/{org}/streams", audit.ScopeAdmin, a.createStream},             // streams.go
		{"GET", "/api/v1/orgs/{org}/streams", audit.ScopeAdmin, a.listStreams},               // streams.go
		{"GET", "/api/v1/orgs/{org}/streams/{id}", audit.ScopeAdmin, a.getStream},            // streams.go
		{"POST", "/api/v1/orgs/{org}/streams/{id}/pause", audit.ScopeAdmin, a.pauseStream},   // streams.go
		{"POST", "/api/v1/orgs/{org}/streams/{id}/resume", audit.ScopeAdmin, a.resumeStream}, // streams.go
		{"POST", "/api/v1/orgs/{org}/streams/{id}/replay", audit.ScopeAdmin, a.replayStream}, // streams.go
		{"POST", "/api/v1/orgs/{org}/streams/{id}/test", audit.ScopeAdmin, a.testStream},     // streams.go
		{"DELETE", "/api/v1/orgs/{org}/streams/{id}", audit.ScopeAdmin, a.deleteStream},      // streams.go
		{"GET", "/api/v1/orgs", audit.ScopeAdmin, a.listOrgs},                                // admin.go
		{"POST", "/api/v1/keys", audit.ScopeAdmin, a.createKey},                              // admin.go
		{"GET", "/api/v1/keys", audit.ScopeAdmin, a.listKeys},                                // admin.go
		{"DELETE", "/api/v1/keys/{id}", audit.ScopeAdmin, a.revokeKey},                       // admin.go
		{"GET", "/api/v1/catalog", "", a.catalogHandler},
		{"GET", "/openapi.yaml", "", a.openapi},
		{"GET", "/healthz", "", a.healthz},
		{"GET", "/readyz", "", a.readyz},
		{"GET", "/metrics", "", a.metricsHandler},
	}
}

// handler wraps a route's handlerFunc with authentication and error
// writing.
func (a *API) handler(rt route) http.Handler {
	orgRoute := strings.Contains(rt.pattern, "{org}")
	name := rt.method + " " + rt.pattern
	needsService := rt.pattern != "/healthz"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoOf(r.Context()).route = name
		if needsService && a.svc == nil {
			a.writeError(w, r, audit.Errorf(audit.CodeUnavailable, "Trail is starting; not ready yet"))
			return
		}
		c, err := a.admit(r, rt, name, orgRoute) // limits.go
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := rt.handle(w, r, c); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// ServeHTTP serves the API: security headers and X-Request-Id on every
// response, gzip for clients that accept it, routing
// (unknown routes get a JSON 404, a wrong method a JSON 405), a log line
// and metrics per request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	setSecurityHeaders(w.Header())
	r = httpx.WithRequestID(w, r)
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	if httpx.AcceptsGzip(r) {
		// /metrics negotiates its own compression.
		info.gz = httpx.NewGzipWriter(w, func() bool { return info.route == "GET /metrics" })
		w = info.gz
	}
	sw := &httpx.StatusWriter{ResponseWriter: w}
	defer a.finish(sw, r, info, start)
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.unrouted(sw, r)
		return
	}
	a.mux.ServeHTTP(sw, r)
}

// finish logs and counts the request; it turns a handler's panic into a
// 500 when nothing was written yet, and lets http.ErrAbortHandler (an
// export cut short on purpose) through.
func (a *API) finish(sw *httpx.StatusWriter, r *http.Request, info *requestInfo, start time.Time) {
	p := recover()
	status := sw.Status
	if p != nil && p != http.ErrAbortHandler {
		a.log.ErrorContext(r.Context(), "handler panic", "route", info.route, "panic", p)
		if !sw.Wrote {
			a.writeError(sw, r, audit.Errorf(audit.CodeInternal, "panic"))
			status, p = sw.Status, nil
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	// Only the table's patterns become labels: r.Pattern can hold a
	// client's path (the mux's redirects for unclean paths).
	route := info.route
	if route == "" {
		route = "unrouted"
	}
	took := time.Since(start)
	a.metrics.observe(route, status, took)
	level := slog.LevelInfo
	if probeRoutes[route] && status < 500 {
		level = slog.LevelDebug // probes and scrapes would drown the log
	}
	a.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", status), slog.Float64("duration_ms", httpx.Millis(took)),
		slog.String("org", info.org), slog.String("key", info.keyID),
		slog.String("code", string(info.code)),
		slog.String("request_id", httpx.RequestID(r.Context())),
		slog.Bool("aborted", p != nil))
	if p != nil {
		panic(http.ErrAbortHandler) // with the gzip stream left unclosed: truncated
	}
	if info.gz != nil {
		info.gz.Close()
	}
}

// probeRoutes are logged at debug level unless they fail.
var probeRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

// unrouted answers a request no route matches: 405 with Allow when the
// path exists for other methods, else 404, both as JSON errors.
func (a *API) unrouted(w http.ResponseWriter, r *http.Request) {
	h, _ := a.mux.Handler(r)
	probe := httpx.NewHeaderProbe()
	h.ServeHTTP(probe, r)
	if probe.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.H.Get("Allow"))
		a.writeError(w, r, audit.Errorf(codeMethodNotAllowed, "method %s is not allowed here; allowed: %s", r.Method, probe.H.Get("Allow")))
		return
	}
	a.writeError(w, r, errNoRoute)
}

// setSecurityHeaders sets the headers every response carries. The API
// serves no HTML, so the strictest CSP applies everywhere.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
}

// requestInfo carries what the request log line reports, filled in by
// the route's handler and by authorization.
type requestInfo struct {
	route string     // the route's "METHOD pattern"
	org   string     // set once the caller may act on it
	keyID string     // set once the key is known
	code  audit.Code // the error code answered, if any
	// gz compresses the response when the client accepts gzip; finish
	// closes it unless the response was cut short on purpose.
	gz *httpx.GzipWriter
}

type requestInfoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}
