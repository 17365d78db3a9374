// Package web serves shequ over HTTP: the JSON API under /api/v1 with its
// OpenAPI document, the server-rendered pages, health and metrics. It turns
// requests into calls on the domain and store, and errors into problems.
package web

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/media"
)

// Config configures a Server.
type Config struct {
	Store   Store
	Clock   shequ.Clock
	Logger  *slog.Logger
	Version string
	// SecureCookies marks cookies Secure; set it when served over HTTPS.
	SecureCookies bool
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// Registry receives the metrics; nil makes a private one.
	Registry *prometheus.Registry
	// Hub wakes the live streams after a commit; nil polls only.
	Hub *live.Hub
	// PanelsChanged is called after a panel is registered, so the SIA
	// receiver learns its account and key.
	PanelsChanged func()
	// LoginBurst sign-in attempts are allowed at once from one address, then
	// one every LoginEvery. Zero values mean 10 and 6 seconds.
	LoginBurst int
	LoginEvery time.Duration
	// ReceiptSecret is the secret the SMS gateway signs its delivery
	// callbacks with; without it they are refused.
	ReceiptSecret []byte
	// Media keeps the bytes of photos and files; without it they are
	// refused.
	Media media.Blobs
	// Broadcast is the running loudspeaker broadcast; without it the
	// library refuses uploads, emergencies and streams are refused.
	Broadcast Broadcaster
	// AccessWebhookSecret signs the calls of door controllers that call
	// out; without it they are refused.
	AccessWebhookSecret []byte
	// Ready, when set, is a further readiness check of /readyz: that the
	// data folder can be written (package health).
	Ready func(context.Context) error
	// Ops, when set, gives the admin's operations page its figures.
	Ops OpsStatus
}

// Server is shequ's HTTP handler.
type Server struct {
	store   Store
	clock   shequ.Clock
	log     *slog.Logger
	version string
	secure  bool
	proxy   bool

	mux     *http.ServeMux
	api     huma.API
	routes  []Route
	limiter *auth.RateLimiter
	metrics *metrics
	hub     *live.Hub
	// stopStreams ends the live streams on shutdown: they never go idle,
	// so the HTTP server would otherwise wait for them until its timeout.
	stopStreams     chan struct{}
	stopStreamsOnce sync.Once
	// feeds share the live-event reads among the streams of one scope.
	feeds *liveFeeds

	panelsChanged func()
	receiptSecret []byte
	handler       http.Handler
	blobs         media.Blobs
	broadcast     Broadcaster

	accessWebhookSecret []byte
	ready               func(context.Context) error
	ops                 OpsStatus
	// sessions remembers resolved sessions briefly (sessioncache.go).
	sessions *sessionCache
	// homes keeps residents' home pages (homecache.go).
	homes *keptHomes
	// kept holds the encoded pages of the busiest lists (listcache.go).
	kept *keptPages
}

// Route is one API operation and the permission it needs. Public routes
// need no sign-in.
type Route struct {
	Method     string
	Path       string
	Permission auth.Permission
	Public     bool
	// SignedIn routes need a session but no particular permission.
	SignedIn bool
	// OK marks a POST that acts rather than creates: it answers 200.
	OK bool
}

// New builds the server and registers every route.
func New(c Config) *Server {
	if c.Clock == nil {
		c.Clock = shequ.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		store: c.Store, clock: c.Clock, log: c.Logger, version: c.Version,
		secure: c.SecureCookies, proxy: c.TrustProxy, hub: c.Hub, panelsChanged: c.PanelsChanged, blobs: c.Media, broadcast: c.Broadcast,
		mux: http.NewServeMux(), stopStreams: make(chan struct{}),
	}
	s.receiptSecret = c.ReceiptSecret
	s.accessWebhookSecret = c.AccessWebhookSecret
	s.ready, s.ops = c.Ready, c.Ops
	s.sessions = newSessionCache(c.Store, c.Clock)
	s.homes = newKeptHomes(c.Store)
	s.kept = newKeptPages(c.Store)
	s.feeds = newLiveFeeds(c.Store, c.Hub, c.Logger, s.stopStreams)
	if c.LoginBurst == 0 {
		c.LoginBurst = 10
	}
	if c.LoginEvery == 0 {
		c.LoginEvery = 6 * time.Second
	}
	s.limiter = auth.NewRateLimiter(c.LoginBurst, c.LoginEvery)
	s.metrics = newMetrics(c.Registry, c.Store)

	cfg := huma.DefaultConfig("shequ", c.Version)
	cfg.OpenAPIPath = "/api/v1/openapi"
	cfg.DocsPath = ""    // the stock renderer loads from a CDN; offline offices cannot
	cfg.SchemasPath = "" // schemas are inline in the document
	cfg.CreateHooks = nil
	cfg.Info.Description = "shequ smart-community platform API. Sign in with POST /api/v1/auth/login and send the token as 'Authorization: Bearer …'."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer"},
		"cookie": {Type: "apiKey", In: "cookie", Name: sessionCookie},
	}
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.authorize)
	s.registerAPI()
	s.registerPages()

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metrics.handler(c.Registry))

	s.handler = s.recoverer(s.observe(s.edge(s.identify(jsonByDefault(refuseNUL(s.mux))))))
	return s
}

// StopStreams ends every live stream; call it when shutting down.
func (s *Server) StopStreams() { s.stopStreamsOnce.Do(func() { close(s.stopStreams) }) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns every API route with its permission, for tests that must
// cover each one.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unreachable\n"))
		return
	}
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ok\n"))
}

// recoverer turns a panic into a 500 and a log line instead of a dropped
// connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeProblem(w, newProblem(http.StatusInternalServerError, shequ.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// clientIP returns the address of the client. Behind the proxy
// (--trust-proxy) it is the last X-Forwarded-For entry: the proxy appends
// the address it saw, after a comma or on a header line of its own, to
// whatever the client wrote there, so every entry before the last is the
// client's say.
func (s *Server) clientIP(r *http.Request) string {
	if s.proxy {
		if lines := r.Header.Values("X-Forwarded-For"); len(lines) > 0 {
			last := lines[len(lines)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// identify puts the request's origin and, when a valid session comes with
// it, the actor into the context. It rejects nothing: the routes decide.
func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := audit.WithOrigin(r.Context(), audit.Origin{IP: s.clientIP(r), UserAgent: truncate(r.UserAgent(), 200)})
		token, viaCookie := sessionToken(r)
		if token != "" && !anonymousPath(r.URL.Path) {
			a, err := s.sessions.actor(ctx, token, s.store.Actor)
			if err == nil {
				a.ViaCookie = viaCookie
				ctx = auth.WithActor(ctx, a)
			} else if shequ.ErrorCode(err) != shequ.EUNAUTHORIZED {
				s.log.Error("resolve session", "err", err)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

const sessionCookie = "shequ_session"

// anonymousPath reports whether a path is served the same to everyone, so
// the session a browser sends along need not be looked up: static files,
// health and metrics are fetched often and need no actor.
func anonymousPath(p string) bool {
	return strings.HasPrefix(p, "/static/") || p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// sessionToken takes the secret from an Authorization bearer header or,
// failing that, from the session cookie.
func sessionToken(r *http.Request) (token string, viaCookie bool) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):]), false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authorize is the API's gate: every operation declares what it needs, and
// nothing reaches a handler without it.
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	rt, _ := op.Metadata["route"].(Route)
	if rt.Public {
		next(ctx)
		return
	}
	a := auth.ActorFrom(ctx.Context())
	if a == nil {
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "please sign in")
		return
	}
	if a.ViaCookie && !safeMethod(ctx.Method()) && ctx.Header("X-CSRF-Token") != a.Session.CSRFToken {
		huma.WriteErr(s.api, ctx, http.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
		return
	}
	if !rt.SignedIn && !a.Can(rt.Permission) {
		huma.WriteErr(s.api, ctx, http.StatusForbidden, "your role does not allow this")
		return
	}
	next(ctx)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = jsonEncode(w, p)
}

// jsonByDefault treats an API body sent without a JSON content type as
// JSON when it looks like JSON: "curl -d '{…}'" labels it a form.
func jsonByDefault(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		// A request without a body (every GET) is left alone: the reader
		// was 4 KiB to allocate on each of them.
		if r.Body != nil && r.Body != http.NoBody && strings.HasPrefix(r.URL.Path, "/api/") && (ct == "" || ct == "application/x-www-form-urlencoded") {
			br := bufio.NewReader(r.Body)
			if b, err := br.Peek(1); err == nil && (b[0] == '{' || b[0] == '[') {
				r.Header.Set("Content-Type", "application/json")
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{br, r.Body}
		}
		next.ServeHTTP(w, r)
	})
}

// rawRoute serves a route that is not JSON (files, streams) on the plain
// mux, behind the same gate as the API: a session, the CSRF token for
// cookie writes, and the route's permission. Errors become problems.
func (s *Server) rawRoute(rt Route, h func(w http.ResponseWriter, r *http.Request, a *auth.Actor) error) {
	s.routes = append(s.routes, rt)
	s.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		a := auth.ActorFrom(r.Context())
		switch {
		case a == nil:
			writeProblem(w, newProblem(http.StatusUnauthorized, shequ.EUNAUTHORIZED, "please sign in"))
			return
		case a.ViaCookie && !safeMethod(r.Method) && r.Header.Get("X-CSRF-Token") != a.Session.CSRFToken:
			writeProblem(w, newProblem(http.StatusForbidden, shequ.EFORBIDDEN, "missing or wrong CSRF token: reload the page and try again"))
			return
		case !a.Can(rt.Permission):
			writeProblem(w, newProblem(http.StatusForbidden, shequ.EFORBIDDEN, "your role does not allow this"))
			return
		}
		if err := h(w, r, a); err != nil {
			p := problemOf(err)
			if p.Status >= 500 {
				s.log.Error("request failed", "path", r.URL.Path, "err", err)
			}
			writeProblem(w, p)
		}
	})
}

// pathIDs reads one or two numeric path values.
func pathIDs(r *http.Request, first, second string) (int64, int64, error) {
	parse := func(name string) (int64, error) {
		if name == "" {
			return 0, nil
		}
		v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
		if err != nil || v < 1 {
			return 0, shequ.Invalid(map[string]string{name: "must be a positive whole number"})
		}
		return v, nil
	}
	a, err := parse(first)
	if err != nil {
		return 0, 0, err
	}
	b, err := parse(second)
	return a, b, err
}
