package api

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/slots"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// Dispatch is what the API needs from the domain.
type Dispatch interface {
	Intake(ctx context.Context, in dispatch.NewReport) (dispatch.Receipt, error)
	Replay(ctx context.Context, channel, sender, key string) (dispatch.Receipt, error)
	GetReport(ctx context.Context, id uuid.UUID) (dispatch.ReportView, error)
	Authenticate(ctx context.Context, secret string) (dispatch.Token, error)
	Incident(ctx context.Context, ref string) (dispatch.Incident, error)
	Execute(ctx context.Context, cmd dispatch.Command) (dispatch.CommandResult, error)
	Reassign(ctx context.Context, cmd dispatch.ReassignCommand) (dispatch.CommandResult, error)
	Reply(ctx context.Context, cmd dispatch.ReplyCommand) (dispatch.CommandResult, error)
	Reject(ctx context.Context, cmd dispatch.RejectCommand) (dispatch.CommandResult, error)
	Unmerge(ctx context.Context, cmd dispatch.UnmergeCommand) (dispatch.CommandResult, error)
	ListIncidents(ctx context.Context, f dispatch.IncidentFilter) (dispatch.IncidentPage, error)
	IncidentDetail(ctx context.Context, ref string) (dispatch.IncidentDetail, error)
	IncidentCoverThumbnail(ctx context.Context, ref string) (dispatch.CoverThumbnail, error)
	IncidentStats(ctx context.Context, by string, since time.Time, scope []string) (dispatch.Stats, error)
	Merge(ctx context.Context, cmd dispatch.MergeCommand) (dispatch.CommandResult, error)
	Ping(ctx context.Context) error
	// DiscardObjects deletes objects of a request that did not commit,
	// retrying through the job queue if the store refuses now.
	DiscardObjects(ctx context.Context, keys ...string)
	// HoldMedium gives a report the bytes of an attachment just stored
	// (its team copy is started at once, or the bytes are kept).
	HoldMedium(in *dispatch.NewReport, obj media.Object, body []byte)
}

// Media is what the API needs from the media store.
type Media interface {
	Put(ctx context.Context, r io.Reader) (media.Object, error)
	// PutHold is Put that hands the object and its bytes to hold before
	// storing them, if they are at most keep bytes (media.Store.PutHold).
	PutHold(ctx context.Context, r io.Reader, keep int64, hold func(media.Object, []byte)) (media.Object, error)
	Delete(ctx context.Context, keys ...string) error
	PresignOriginal(ctx context.Context, key string) (string, error)
	// PresignGet signs a link to a "team/" key (team copy, thumbnail),
	// valid for s3.presign_ttl; originals are refused.
	PresignGet(ctx context.Context, key string) (string, error)
	Ping(ctx context.Context) error
}

// Rules reports the rule set in force (for /readyz).
type Rules interface {
	Current() *routing.RuleSet
}

// Config tunes the HTTP API.
type Config struct {
	// MaxBodyBytes caps a whole request body. Default 100 MiB.
	MaxBodyBytes int64
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-* headers gin believes. Default none: the peer is the
	// client. The client's address is never logged or stored.
	TrustedProxies []string
	// XMPPState reports the gateway's connection for /readyz: "connected",
	// "standby" (another replica holds it; still ready) or "disconnected".
	// nil = not checked.
	XMPPState func() string
	// XMPPRooms reports team rooms not ready yet and rooms the gateway
	// does not post into (room → reason), for /readyz. nil = not checked.
	XMPPRooms func() (pending []string, problems map[string]string)
	// MetricsElsewhere: /metrics is served on a separate listener
	// (MetricsHandler) and not by the API. Otherwise the API serves it to
	// tokens with the "metrics" or "dispatcher" role only.
	MetricsElsewhere bool
	// Registry receives the HTTP metrics; nil = a new registry.
	Registry *prometheus.Registry
	// UploadsPerToken caps the concurrent file uploads of one token; a slot
	// is taken only once a file part's first bytes have arrived. Default 2.
	UploadsPerToken int
	// MinBodyRate is the slowest average upload (bytes per second) that is
	// accepted after BodyGrace; slower bodies get 408. Default 1024.
	MinBodyRate int64
	// BodyGrace is how long one read of a body may take, and how long a
	// body may trickle before MinBodyRate applies. Default 15s.
	BodyGrace time.Duration
	// SlotWait is how long a request waits for one of its token's upload
	// slots before it gets 429. Default 10s.
	SlotWait time.Duration
	// Changes feeds GET /api/v1/events; nil = the stream answers 503.
	Changes Changes
	// EventsHeartbeat is how often GET /api/v1/events sends its
	// "heartbeat" event. Default DefaultEventsHeartbeat (15s).
	EventsHeartbeat time.Duration
	// ExtraOperations documents route groups registered elsewhere (Open311)
	// in /api/v1/openapi.json.
	ExtraOperations []Operation
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sessions lets /api/v1 accept console session cookies; nil = bearer tokens only.
	Sessions SessionAuth
	// Mount adds route groups served beside the API (e.g. Open311 from
	// api/open311), with the same recovery and metrics middleware.
	Mount []func(gin.IRouter)
}

// Server is the HTTP API.
type Server struct {
	disp  Dispatch
	media Media
	rules Rules
	cfg   Config
	log   *slog.Logger
	reg   *prometheus.Registry

	requests *prometheus.HistogramVec
	uploads  *slots.PerKey

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once
}

// CloseStreams ends every open event stream (GET /api/v1/events) and
// those opened later. Register it with http.Server.RegisterOnShutdown:
// Shutdown waits for connections to go idle, which a stream never does,
// so without it every stop of a server a console is open on waits out
// the shutdown timeout and fails. Browsers reconnect to the next server.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// New builds the API server.
func New(disp Dispatch, m Media, rules Rules, cfg Config, logger *slog.Logger) *Server {
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, 100<<20)
	cfg.UploadsPerToken = cmp.Or(cfg.UploadsPerToken, 2)
	cfg.MinBodyRate = cmp.Or(cfg.MinBodyRate, 1024)
	cfg.BodyGrace = cmp.Or(cfg.BodyGrace, 15*time.Second)
	cfg.SlotWait = cmp.Or(cfg.SlotWait, 10*time.Second)
	if cfg.EventsHeartbeat <= 0 {
		cfg.EventsHeartbeat = DefaultEventsHeartbeat
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{disp: disp, media: m, rules: rules, cfg: cfg, log: cmp.Or(logger, slog.Default()), reg: reg,
		uploads: slots.New(cfg.UploadsPerToken), closing: make(chan struct{}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fieldgate_http_request_duration_seconds", Help: "HTTP requests by route and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(s.requests, newRulesCollector(rules))
	if cfg.XMPPState != nil {
		reg.MustRegister(newXMPPCollector(cfg.XMPPState))
	}
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return headAsGet{s.engine()} }

// Routes lists the routes Handler serves (HEAD is served for every GET).
func (s *Server) Routes() gin.RoutesInfo { return s.engine().Routes() }

func (s *Server) engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("http: invalid trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(s.recoverer, s.observe, noSniff, s.bodyDeadline, s.cleanInput)
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) {
		problem(c, probNotFound, msg.Texts.NoSuchEndpoint)
	})
	r.NoMethod(func(c *gin.Context) {
		// gin lists the registered methods; HEAD is served wherever GET is.
		if allow := c.Writer.Header().Get("Allow"); slices.Contains(strings.Split(allow, ", "), http.MethodGet) {
			c.Header("Allow", allow+", "+http.MethodHead)
		}
		problem(c, probMethod, msg.Texts.MethodNotAllowed)
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	if !s.cfg.MetricsElsewhere {
		r.GET("/metrics", s.metricsAuth, gin.WrapH(s.MetricsHandler()))
	}
	r.GET("/api/v1/openapi.json", s.openAPIHandler())

	for _, m := range s.cfg.Mount {
		m(r)
	}

	v1 := r.Group("/api/v1", noStore, s.authenticateAny)
	v1.POST("/reports", s.createReport)
	v1.GET("/reports/:id", s.getReport)
	v1.GET("/reports/:id/media/:n", s.getMedia)
	v1.GET("/incidents", s.listIncidents)
	v1.GET("/incidents/:case", s.getIncidentDetail)
	v1.GET("/incidents/:case/thumbnail", s.getIncidentThumbnail)
	v1.GET("/events", s.streamEvents)
	v1.GET("/stats", s.getStats)
	v1.POST("/incidents/:case/take", s.incidentAction(dispatch.ActionTake))
	v1.POST("/incidents/:case/resolve", s.incidentAction(dispatch.ActionResolve))
	// Team tokens act on their team's incidents (authorizeIncident); reject
	// and reply are team acts, reassign and unmerge need the dispatcher role.
	v1.POST("/incidents/:case/reassign", s.incidentCommand("reassign"))
	v1.POST("/incidents/:case/reject", s.incidentCommand("reject"))
	v1.POST("/incidents/:case/reply", s.incidentCommand("reply"))
	v1.POST("/incidents/:case/unmerge", s.incidentCommand("unmerge"))
	v1.POST("/incidents/:case/merge", s.mergeIncident)
	return r
}

// headAsGet serves HEAD like GET (RFC 9110 §9.3.2: every general-purpose
// server supports HEAD; load balancers and link checkers send it): the
// same status and header fields, and net/http writes no content for a
// HEAD request. gin routes HEAD only where it is registered.
type headAsGet struct{ h http.Handler }

func (h headAsGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(context.WithValue(r.Context(), headKey{}, true))
		r.Method = http.MethodGet
	}
	h.h.ServeHTTP(w, r)
}

type headKey struct{}

// isHead reports whether r is a HEAD request served as GET: a handler
// that streams stops after its header fields.
func isHead(r *http.Request) bool { return r.Context().Value(headKey{}) != nil }

// noSniff tells browsers to take every answer as its Content-Type says
// (a JSON answer quoting a report's text is never run as a script or
// rendered as HTML).
func noSniff(c *gin.Context) {
	c.Header("X-Content-Type-Options", "nosniff")
	c.Next()
}

// bodyDeadline bounds the wait for a request's body to BodyGrace: the
// server has no overall read timeout (uploads may take long; their
// readers extend the deadline while data flows, minRateReader), so a
// request that declares a body and never sends it held its connection
// for ever, also where no handler reads it: net/http waits for up to
// 256 KiB of an unread body before it answers. Requests without a body
// get no deadline: the connection's read after the request (which
// notices a client going away, e.g. from the event stream) must not
// time out.
func (s *Server) bodyDeadline(c *gin.Context) {
	if c.Request.ContentLength != 0 {
		_ = http.NewResponseController(c.Writer).SetReadDeadline(s.cfg.Now().Add(s.cfg.BodyGrace))
	}
	c.Next()
}

// noStore keeps /api/v1 answers out of every cache (RFC 9111 §5.2.2.5):
// they carry personal data (a report's text and position, who took a
// case) also to a browser with a console session, whose private cache
// would keep them on disk. A handler may set its own (the thumbnail
// redirect).
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// recoverer turns a panic into a 500 problem and keeps serving.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "route", c.FullPath(), "panic", p)
			problem(c, probInternal, msg.Texts.ServerFailed)
		}
	}()
	c.Next()
}

// observe records metrics and a log line per request. Client IP addresses
// are personal data and are neither logged nor stored.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.requests.WithLabelValues(route, methodLabel(c.Request.Method), http.StatusText(status)).Observe(time.Since(start).Seconds())
	if route != "/healthz" && route != "/metrics" {
		s.log.Info("http", "method", c.Request.Method, "route", route, "status", status, "duration", time.Since(start).Round(time.Microsecond))
	}
}

// methodLabel is the method label of the request metrics: one of the
// methods of RFC 9110 §9 and PATCH, else "other". net/http accepts any
// token as a method, and each one a client made up (XFOO1, XFOO2, …) was
// a new time series: memory without bound, and a Prometheus flooded.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return m
	}
	return "other"
}

const tokenKey = "fieldgate.token"

// bearerSecret returns the token of an "Authorization: Bearer <token>"
// header (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1),
// or false when there is none.
func bearerSecret(header string) (string, bool) {
	if len(header) <= 7 || !strings.EqualFold(header[:7], "bearer ") {
		return "", false
	}
	secret := strings.TrimSpace(header[7:])
	return secret, secret != ""
}

func (s *Server) authenticate(c *gin.Context) {
	secret, ok := bearerSecret(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="fieldgate"`)
		problem(c, probUnauthorized, msg.Texts.BearerMissing)
		return
	}
	tok, err := s.disp.Authenticate(c.Request.Context(), secret)
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="fieldgate", error="invalid_token"`)
		if de := (*dispatch.Error)(nil); asDomain(err, &de) {
			problem(c, probUnauthorized, de.Text)
			return
		}
		s.fail(c, err)
		return
	}
	c.Set(tokenKey, tok)
	c.Next()
}

func token(c *gin.Context) dispatch.Token {
	t, _ := c.Get(tokenKey)
	tok, _ := t.(dispatch.Token)
	return tok
}

// readyz reports whether this replica can serve: PostgreSQL, S3 and the
// XMPP connection. Team rooms are reported ("ok", "pending", "degraded")
// without failing readiness: one squatted room must not take the API out
// of a load balancer. Details that name files or rooms (a rejected rules
// reload, why a room is not used) are shown only to a dispatcher token.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	details := s.isDispatcher(c)
	checks := gin.H{}
	ok := true
	check := func(name string, err error) {
		if err != nil {
			ok = false
			checks[name] = "fail"
			s.log.Warn("readiness check failed", "check", name, "err", err)
			return
		}
		checks[name] = "ok"
	}
	check("postgres", s.disp.Ping(ctx))
	check("s3", s.media.Ping(ctx))
	body := gin.H{"checks": checks}
	if s.cfg.XMPPState != nil {
		st := s.cfg.XMPPState()
		switch st {
		case "disconnected":
			check("xmpp", errNotConnected)
		default:
			checks["xmpp"] = st
		}
		if st == "connected" && s.cfg.XMPPRooms != nil {
			pending, problems := s.cfg.XMPPRooms()
			switch {
			case len(problems) > 0:
				checks["rooms"] = "degraded"
			case len(pending) > 0:
				checks["rooms"] = "pending"
			default:
				checks["rooms"] = "ok"
			}
			if details && (len(problems) > 0 || len(pending) > 0) {
				body["rooms"] = gin.H{"pending": pending, "problems": problems}
			}
		}
	}
	rs := s.rules.Current()
	rules := gin.H{"version": rs.Version(), "loaded_at": rs.LoadedAt()}
	if le, ok := s.rules.(interface{ LastError() (time.Time, error) }); ok {
		if at, err := le.LastError(); err != nil {
			// The file on disk is broken; the rules above stay in force.
			rej := gin.H{"at": at}
			if details {
				rej["error"] = err.Error()
			}
			rules["rejected_reload"] = rej
		}
	}
	body["rules"] = rules
	if ok {
		body["status"] = "ready"
		c.JSON(http.StatusOK, body)
		return
	}
	body["status"] = "not ready"
	c.JSON(http.StatusServiceUnavailable, body)
}

// isDispatcher reports whether the request carries a valid dispatcher
// token. It never fails the request: endpoints that are open to everyone
// use it to decide how much to show.
func (s *Server) isDispatcher(c *gin.Context) bool {
	secret, ok := bearerSecret(c.GetHeader("Authorization"))
	if !ok {
		return false
	}
	tok, err := s.disp.Authenticate(c.Request.Context(), secret)
	return err == nil && tok.Has(dispatch.RoleDispatcher)
}

// cleanInput refuses, before any handler, a path or query that no field
// can hold: NUL characters or invalid UTF-8 would only fail later in
// PostgreSQL as a 500. Open311 checks its own input and answers in its
// own error shape. It also refuses more than one Authorization header
// (RFC 9110 §11.6.2 defines one credential per request, RFC 6750 §3.1
// calls several invalid_request): which one counts would depend on who
// reads the request, a proxy or fieldgate.
func (s *Server) cleanInput(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/open311/") {
		c.Next()
		return
	}
	if len(c.Request.Header.Values("Authorization")) > 1 {
		c.Header("WWW-Authenticate", `Bearer realm="fieldgate", error="invalid_request"`)
		problem(c, probInvalid, msg.Texts.AuthorizationTwice)
		return
	}
	bad := !cleanText(c.Request.URL.Path)
	for k, vs := range c.Request.URL.Query() {
		bad = bad || !cleanText(k)
		for _, v := range vs {
			bad = bad || !cleanText(v)
		}
	}
	if bad {
		problem(c, probInvalid, msg.Texts.RequestNotText)
		return
	}
	c.Next()
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
