// Package open311 serves Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2)
// with the CitySDK/Klarschiff extensions, so that citizen apps, city CRMs
// and "Mängelmelder" portals can file reports into fieldgate and read
// their status.
//
// Services are generated from the rules file: every function address with
// an `open311:` block is one service (its service_code, group, keywords
// and attribute definitions come from that block). Requests go through the
// same durable intake as POST /api/v1/reports (channel "open311"); status
// is the incident's state, status_notes the team's replies to the reporter
// (`antwort N …`), never internal room chat.
//
// Routes (format is "xml" or "json" as the resource's extension; any
// other path under /open311/ is the API's 404 problem):
//
//	GET  /open311/discovery.json            service discovery
//	GET  /open311/v2/services.{format}      service list
//	GET  /open311/v2/services/{code}.{format} service definition
//	POST /open311/v2/requests.{format}      file a request (api_key = a fieldgate API token)
//	GET  /open311/v2/requests.{format}      list requests (filters, extensions=true)
//	GET  /open311/v2/requests/{id}.{format} one request (id = case number)
//	GET  /open311/v2/tokens/{token}.{format} request id of a token
//
// Errors are the spec's list of {code, description} with the matching HTTP
// status, in the requested format.
package open311

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// Domain is what Open311 needs from dispatch.
type Domain interface {
	Intake(ctx context.Context, in dispatch.NewReport) (dispatch.Receipt, error)
	Replay(ctx context.Context, channel, sender, key string) (dispatch.Receipt, error)
	Authenticate(ctx context.Context, secret string) (dispatch.Token, error)
	ServiceRequests(ctx context.Context, f dispatch.ServiceRequestFilter) ([]dispatch.ServiceRequest, error)
	GetReport(ctx context.Context, id uuid.UUID) (dispatch.ReportView, error)
	// DiscardObjects deletes objects of a request that did not commit,
	// retrying through the durable queue when the store refuses.
	DiscardObjects(ctx context.Context, keys ...string)
}

// Media is what Open311 needs from the media store. PresignGet signs
// links to team copies only.
type Media interface {
	Put(ctx context.Context, r io.Reader) (media.Object, error)
	Delete(ctx context.Context, keys ...string) error
	PresignGet(ctx context.Context, key string) (string, error)
}

// Fetcher downloads a media_url from allow-listed hosts only (the
// gateway's safe fetcher: https, public addresses, bounded size).
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (io.ReadCloser, error)
}

// Rules gives the rule set in force.
type Rules interface {
	Current() *routing.RuleSet
}

// Config tunes the Open311 endpoint.
type Config struct {
	// JurisdictionID, when set, is the only jurisdiction_id accepted; a
	// request naming another gets 404. Requests without one are served
	// (a single-jurisdiction endpoint, as the spec allows). Default "".
	JurisdictionID string
	// BaseURL is the public URL the discovery document names (e.g.
	// "https://meldungen.stadt.example"). Default: from the request.
	BaseURL string
	// Contact and KeyService fill the discovery document.
	Contact, KeyService string
	// StoreContact keeps email, phone, first_name and last_name with the
	// report. Default false (data minimisation): they are accepted but
	// dropped, and the service_notice says so.
	StoreContact bool
	// PublishDescriptions shows the reporter's description, and the
	// values of free-text attributes (datatypes string and text), in GET
	// requests. Default true (the address's open311 block is the town's
	// decision to publish); reporter identity is never shown.
	PublishDescriptions *bool
	// MaxBodyBytes caps a POST body. Default 50 MiB.
	MaxBodyBytes int64
	// MinBodyRate is the slowest average POST body (bytes per second)
	// accepted after BodyGrace, and BodyGrace how long one read of it may
	// wait (http.min_body_rate, as for the API); slower bodies get 408.
	// Defaults 1024 and 15s.
	MinBodyRate int64
	BodyGrace   time.Duration
	// TimeZone for dates in answers. Default Europe/Berlin.
	TimeZone *time.Location
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Handler serves Open311.
type Handler struct {
	domain  Domain
	media   Media
	fetcher Fetcher
	rules   Rules
	cfg     Config
	log     *slog.Logger
}

// New builds the handler. fetcher may be nil: media_url is then refused.
func New(domain Domain, m Media, fetcher Fetcher, rules Rules, cfg Config, logger *slog.Logger) *Handler {
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, 50<<20)
	cfg.MinBodyRate = cmp.Or(cfg.MinBodyRate, 1024)
	cfg.BodyGrace = cmp.Or(cfg.BodyGrace, 15*time.Second)
	if cfg.TimeZone == nil {
		cfg.TimeZone, _ = time.LoadLocation("Europe/Berlin")
		if cfg.TimeZone == nil {
			cfg.TimeZone = time.UTC
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublishDescriptions == nil {
		t := true
		cfg.PublishDescriptions = &t
	}
	return &Handler{domain: domain, media: m, fetcher: fetcher, rules: rules, cfg: cfg, log: cmp.Or(logger, slog.Default())}
}

// Register mounts the routes on r: one route per resource and format, so
// that the route table (and the OpenAPI document, Operations) names them.
func (h *Handler) Register(r gin.IRouter) {
	r.GET("/open311/discovery.json", h.discovery)
	for _, f := range []format{formatXML, formatJSON} {
		ext := "." + string(f)
		r.GET("/open311/v2/services"+ext, h.handle(f, h.services))
		r.POST("/open311/v2/requests"+ext, h.handle(f, h.postRequest))
		r.GET("/open311/v2/requests"+ext, h.handle(f, func(c *gin.Context, f format) { h.getRequests(c, f, "") }))
	}
	r.GET("/open311/v2/services/:file", h.handleID(h.serviceDefinition))
	r.GET("/open311/v2/requests/:file", h.handleID(func(c *gin.Context, f format, id string) { h.getRequests(c, f, id) }))
	r.GET("/open311/v2/tokens/:file", h.handleID(h.token))
	// Anything else under /open311/v2/ gets the spec's 404, in the format
	// its extension asks for.
	r.GET("/open311/v2/:file", h.unknown)
	r.POST("/open311/v2/:file", h.unknown)
}

func (h *Handler) unknown(c *gin.Context) {
	file := c.Param("file")
	f := format(file[strings.LastIndexByte(file, '.')+1:])
	if f != formatJSON {
		f = formatXML
	}
	if !strings.HasSuffix(file, ".xml") && !strings.HasSuffix(file, ".json") {
		h.fail(c, f, http.StatusNotFound, msg.Texts.Open311Format)
		return
	}
	h.fail(c, f, http.StatusNotFound, msg.Texts.Open311NoEndpoint)
}

// handle checks the query and the jurisdiction, then serves in format f.
// A POST body over MaxBodyBytes by its Content-Length is refused before
// it is read; a body that stalls or trickles is cut off (408).
func (h *Handler) handle(f format, serve func(*gin.Context, format)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodPost {
			if c.Request.ContentLength > h.cfg.MaxBodyBytes {
				h.failRead(c, f, &http.MaxBytesError{Limit: h.cfg.MaxBodyBytes})
				return
			}
			c.Request.Body = api.MinRateBody(c.Writer, c.Request.Body, h.cfg.MinBodyRate, h.cfg.BodyGrace, h.cfg.Now)
		}
		if h.cleanQuery(c, f) && h.jurisdictionOK(c, f) {
			serve(c, f)
		}
	}
}

// cleanQuery refuses query values that no field can hold: NUL and
// invalid UTF-8 (GeoReport v2 requires UTF-8 everywhere).
func (h *Handler) cleanQuery(c *gin.Context, f format) bool {
	for k, vs := range c.Request.URL.Query() {
		for _, v := range append(vs, k) {
			if !cleanText(v) {
				h.fail(c, f, http.StatusBadRequest, func(t msg.Texts) string { return t.Open311BadText(k) })
				return false
			}
		}
	}
	return true
}

// cleanText reports whether s is UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// handleID serves a resource named by its last path segment, "{id}.{format}".
func (h *Handler) handleID(serve func(*gin.Context, format, string)) gin.HandlerFunc {
	return func(c *gin.Context) {
		file := c.Param("file")
		dot := strings.LastIndexByte(file, '.')
		if dot < 0 {
			h.fail(c, formatXML, http.StatusNotFound, msg.Texts.Open311Format)
			return
		}
		f := format(file[dot+1:])
		if f != formatXML && f != formatJSON {
			h.fail(c, formatXML, http.StatusNotFound, msg.Texts.Open311Format)
			return
		}
		id := file[:dot]
		if !cleanText(id) {
			h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311NotFound("") })
			return
		}
		if h.cleanQuery(c, f) && h.jurisdictionOK(c, f) {
			serve(c, f, id)
		}
	}
}

// jurisdictionOK checks jurisdiction_id (query or form) against the
// configured one.
func (h *Handler) jurisdictionOK(c *gin.Context, f format) bool {
	j := c.Query("jurisdiction_id")
	if j == "" && c.Request.Method == http.MethodPost {
		// Only the urlencoded body is read here; multipart forms are read
		// as a stream later and checked there.
		if ct := c.ContentType(); ct == "application/x-www-form-urlencoded" {
			// Form fields only (files come as multipart): a small cap, so that
			// nobody makes the server hold a large body before the key is checked.
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
			if err := c.Request.ParseForm(); err != nil {
				h.failRead(c, f, err)
				return false
			}
			j = c.Request.PostForm.Get("jurisdiction_id")
		}
	}
	if j != "" && h.cfg.JurisdictionID != "" && j != h.cfg.JurisdictionID {
		h.fail(c, f, http.StatusNotFound, func(t msg.Texts) string { return t.Open311Jurisdiction(j) })
		return false
	}
	return true
}

// service finds the address published under code.
func service(rs *routing.RuleSet, code string) (routing.Address, bool) {
	for _, a := range rs.Addresses() {
		if a.Open311 != nil && a.Open311.Code == code {
			return a, true
		}
	}
	return routing.Address{}, false
}

// published lists the addresses offered over Open311.
func published(rs *routing.RuleSet) []routing.Address {
	var out []routing.Address
	for _, a := range rs.Addresses() {
		if a.Open311 != nil {
			out = append(out, a)
		}
	}
	return out
}

func (h *Handler) datetime(t time.Time) string {
	return t.In(h.cfg.TimeZone).Format(time.RFC3339)
}
