// SPDX-License-Identifier: Apache-2.0

// Package web is Trail's HTML interface: the organization admins' audit-log
// page (/orgs/{org}/settings/audit-logs) and the viewer links that open it.
//
// Pages are rendered on the server with html/template from embedded
// templates (parsed once, rendered into a buffer before anything is
// written) and work without JavaScript; a small same-origin script only
// enhances them. Every response carries a strict Content-Security-Policy
// (no inline script or style), and every text a producer controls is
// escaped by the templates.
//
// Access: a viewer link (audit.Viewers) is spent by a POST from its
// confirmation page, which starts a session bound to one org; the session
// id lives in an HttpOnly, SameSite=Strict cookie and is stored hashed. A
// session for one org gets 404 for every other org. Forms that change
// state (download, sign out) carry a CSRF token derived from the session
// and are refused when the browser says they came from another site.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
	"github.com/trailaudit/trail/internal/ratelimit"
	"github.com/trailaudit/trail/internal/stream"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Attribution is the credit line a geolocation database requires on pages
// that show its data, such as "IP Geolocation by DB-IP".
type Attribution struct {
	Text, URL string
}

// Config configures a Handler. Service and Viewers are required; the zero
// value of every other field is its default.
type Config struct {
	Service     *audit.Service
	Viewers     *audit.Viewers
	Attribution Attribution      // none by default
	Logger      *slog.Logger     // default slog.Default()
	Now         func() time.Time // default time.Now
	// Limits are the request limits shared with the API (limits.go):
	// viewer links per client address, failed link sign-ins, concurrent
	// downloads per org. nil: none.
	Limits *ratelimit.Guard
	// Streams is the stream Manager the API uses too: the Streaming page
	// (streams.go) goes through it. nil: the page answers 503.
	Streams *stream.Manager
}

// Handler serves the web pages. It is safe for concurrent use.
type Handler struct {
	svc     *audit.Service
	viewers *audit.Viewers
	attr    Attribution
	limits  *ratelimit.Guard
	streams *stream.Manager
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	pages   map[string]*template.Template
	assets  map[string]asset

	optionsOnce sync.Once // the category and type controls, rendered once
	catOpts     string
	catList     string // the category slugs of the search help
	typeOpts    string
}

// asset is one embedded file with its validator.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New returns the web handler for cfg.
func New(cfg Config) *Handler {
	h := &Handler{svc: cfg.Service, viewers: cfg.Viewers, attr: cfg.Attribution, log: cfg.Logger, now: cfg.Now, limits: cfg.Limits, streams: cfg.Streams}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.pages = parsePages()
	h.assets = loadAssets()
	h.mux = http.NewServeMux()
	for _, rt := range h.routes() {
		h.mux.Handle(rt.pattern, h.wrap(rt))
	}
	return h
}

// route is one page of the web interface.
type route struct {
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// routes lists every web route in one place.
func (h *Handler) routes() []route {
	return []route{
		{"GET " + audit.LinkPath + "{token}", h.limitLink(h.linkConfirm)}, // limits.go
		{"POST " + audit.LinkPath + "{token}", h.limitLink(h.linkSpend)},
		{"GET /orgs/{org}/settings/audit-logs", h.auditLogs},
		{"POST /orgs/{org}/settings/audit-logs/export", h.download},
		{"GET /orgs/{org}/settings/audit-logs/streams", h.streamsList}, // streams.go
		{"POST /orgs/{org}/settings/audit-logs/streams", h.streamCreate},
		{"POST /orgs/{org}/settings/audit-logs/streams/{id}/pause", h.streamAction("paused", h.streamPause)},
		{"POST /orgs/{org}/settings/audit-logs/streams/{id}/resume", h.streamAction("resumed", h.streamResume)},
		{"POST /orgs/{org}/settings/audit-logs/streams/{id}/replay", h.streamAction("replayed", h.streamReplay)},
		{"POST /orgs/{org}/settings/audit-logs/streams/{id}/test", h.streamTest},
		{"GET /orgs/{org}/settings/audit-logs/streams/{id}/delete", h.streamDeleteConfirm},
		{"POST /orgs/{org}/settings/audit-logs/streams/{id}/delete", h.streamDelete},
		{"POST /logout", h.logout},
		{"GET /signed-out", h.signedOut},
		{"GET /assets/{name}", h.asset},
	}
}

// prefixes are the paths the web interface owns; Wrap sends the rest on.
var prefixes = []string{audit.LinkPath, "/orgs/", "/assets/", "/logout", "/signed-out"}

// Wrap returns a handler that serves the web paths with h and every other
// request with next (the JSON API).
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				h.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves a web request: security headers and X-Request-Id on
// every response, gzip for browsers that accept it, an
// HTML 404 or 405 for paths and methods no route takes, a log line that
// names the route (never the path, which can hold a link token).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	r = httpx.WithRequestID(w, r)
	if httpx.AcceptsGzip(r) {
		gz := httpx.NewGzipWriter(w, nil)
		h.serve(gz, r)
		gz.Close() // not reached when a download is cut short: it stays truncated
		return
	}
	h.serve(w, r)
}

// serve routes a request.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	_, pattern := h.mux.Handler(r)
	if pattern == "" {
		start := time.Now()
		sw := &httpx.StatusWriter{ResponseWriter: w}
		h.unrouted(sw, r)
		h.logRequest(r, "unrouted", sw.Status, start, "")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// wrap turns a route's handler into an http.Handler: a returned error
// becomes an error page, a panic a 500 page.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &httpx.StatusWriter{ResponseWriter: w}
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					h.logRequest(r, rt.pattern, sw.Status, start, info.org)
					panic(p)
				}
				h.log.ErrorContext(r.Context(), "web handler panic", "route", rt.pattern, "panic", p)
				if !sw.Wrote {
					h.errorPage(sw, r, audit.Errorf(audit.CodeInternal, "panic"))
				}
			}
			h.logRequest(r, rt.pattern, sw.Status, start, info.org)
		}()
		if err := rt.handle(sw, r); err != nil {
			h.errorPage(sw, r, err)
		}
	})
}

// requestInfo is what a handler reports for the request's log line.
type requestInfo struct{ org string }

type requestInfoKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

func (h *Handler) logRequest(r *http.Request, route string, status int, start time.Time, org string) {
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if strings.HasPrefix(route, "GET /assets/") && status < 400 {
		level = slog.LevelDebug
	}
	h.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", status), slog.Float64("duration_ms", httpx.Millis(time.Since(start))),
		slog.String("org", org), slog.String("request_id", httpx.RequestID(r.Context())))
}

// unrouted answers an unknown path with an HTML 404, a known path asked
// with another method with 405.
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request) {
	hd, _ := h.mux.Handler(r)
	probe := httpx.NewHeaderProbe()
	hd.ServeHTTP(probe, r)
	if probe.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.H.Get("Allow"))
		h.message(w, r, http.StatusMethodNotAllowed, messagePage{
			Heading: "Method not allowed", Body: "This page does not take " + r.Method + " requests.",
		})
		return
	}
	h.message(w, r, http.StatusNotFound, notFoundPage)
}

// setSecurityHeaders sets the headers every web response carries.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	hd.Set("Cache-Control", "no-store")
}

// parsePages parses each page template with the shared layout, once.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		if path.Base(name) == "layout.html" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, name))
		pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return pages
}

var funcs = template.FuncMap{
	"typeParts": typeParts,
}

// typeParts cuts an event type after each '.' and '_', where the page
// may break a long name (org.token_approval.authorization_request).
func typeParts(s string) []string {
	var parts []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "._")
		if i < 0 || i == len(s)-1 {
			break
		}
		parts = append(parts, s[:i+1])
		s = s[i+1:]
	}
	return append(parts, s)
}

// render executes page into a buffer, then writes it with status: a
// template failure never leaves a half-written page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.log.ErrorContext(r.Context(), "rendering page failed", "page", page, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><meta charset=utf-8><title>Error</title><p>Trail could not show this page. Reload it; if it persists, tell your platform's operators.</p>")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// asset serves an embedded style sheet or script, revalidated by ETag.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) error {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		h.message(w, r, http.StatusNotFound, notFoundPage)
		return nil
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	return nil
}

func loadAssets() map[string]asset {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	out := map[string]asset{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(assetFS, "assets/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = asset{body: b, contentType: types[path.Ext(e.Name())], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out
}

// assetVersion is a short hash of an asset, appended to its URL so that a
// new binary's assets are never served from an old cache.
func (h *Handler) assetVersion(name string) string {
	return strings.Trim(h.assets[name].etag, `"`)
}
