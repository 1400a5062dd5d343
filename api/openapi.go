package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// Operation documents one HTTP route for the OpenAPI 3 document served at
// /api/v1/openapi.json. Every route the server registers outside the
// console pages has one (TestOpenAPICoversRoutes); a route group such as
// Open311 adds its own list to Config.ExtraOperations.
type Operation struct {
	Method string // GET, POST, ...
	Path   string // gin syntax, e.g. /api/v1/incidents/:case
	Tag    string
	// Summary is one line; Description may say more (units, errors, sources).
	Summary, Description string
	// Query names the query parameters with their descriptions.
	Query [][2]string
	// Body is a value of the JSON request body type (nil = none); Form is
	// a description of a multipart/form-data body instead.
	Body any
	Form string
	// Response is a value of the success body type; ResponseType its
	// media type (default application/json; "" body for redirects).
	Response     any
	ResponseType string
	// Status is the success status. Default 200.
	Status int
	// Public routes need no credentials.
	Public bool
}

// nonAPIPrefixes are route prefixes that serve the console's pages and
// sign-in, not the API: they are not in the OpenAPI document.
var nonAPIPrefixes = []string{"/console"}

func isAPIRoute(path string) bool {
	if path == "/" {
		return false
	}
	for _, p := range nonAPIPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return false
		}
	}
	return true
}

// coreOperations documents the routes Handler registers.
func coreOperations() []Operation {
	caseDesc := "A caller that may not see the case gets the same 404 as for a case that does not exist."
	listQuery := [][2]string{
		{"team", "team id"}, {"state", "incident states, comma-separated or repeated (received, needs_location, routed, acknowledged, escalated, reassigned, resolved, merged, rejected)"},
		{"status", "open (default), closed or all"}, {"district", "district name of the rules' areas"},
		{"urgency", "priority: low, normal, high or urgent"}, {"max_age", "only incidents younger than this (90m, 12h, 3d)"},
		{"min_age", "only incidents older than this"}, {"q", "case-insensitive text search in case number and report texts"},
		{"cursor", "the `next` of the previous page"}, {"limit", "page size, 1-1000, default 100"},
	}
	return []Operation{
		{Method: "GET", Path: "/healthz", Tag: "operations", Summary: "Process is up", Public: true, Response: map[string]string{}},
		{Method: "GET", Path: "/readyz", Tag: "operations", Summary: "PostgreSQL, S3 and XMPP reachable; rules version", Public: true, Response: map[string]any{}},
		{Method: "GET", Path: "/metrics", Tag: "operations", Summary: "Prometheus metrics", Public: true, ResponseType: "text/plain"},
		{Method: "GET", Path: "/api/v1/openapi.json", Tag: "operations", Summary: "This document (OpenAPI 3.0)", Public: true, Response: map[string]any{}},
		{Method: "POST", Path: "/api/v1/reports", Tag: "reports", Summary: "File a report", Status: http.StatusAccepted,
			Description: "Send Idempotency-Key so that a retry never files twice: the same report again gets its receipt (200), another report under a used key 422 idempotency-key-reused. " +
				"Each field at most once. Errors: 400 malformed, 408 body too slow, 413 too large (a Content-Length over the limit before the body is read), 415 file type, 422 unknown address.",
			Form:     "to (function address), text, photo (repeatable file), lat, lon (WGS 84 decimal degrees, e.g. 51.0251), urgent (true|false, 1|0, yes|no, on|off), language (de|en)",
			Response: receiptJSON{}},
		{Method: "GET", Path: "/api/v1/reports/:id", Tag: "reports", Summary: "A report's state, team, position, media and trail",
			Description: "For the reporter's own token, the incident's team (team:<id>) and dispatchers; others get 404. " +
				"media[].thumbnail_url (JPEG, longest edge ≤ 320 px, upright, no metadata; presigned S3 GET valid for s3.presign_ttl) " +
				"only for callers that may see the incident (dispatchers, its team), never for the reporter's token; absent while there is no thumbnail.",
			Response: reportJSON{}},
		{Method: "GET", Path: "/api/v1/reports/:id/media/:n", Tag: "reports", Summary: "Redirect to a short-lived link to attachment n (1-based), the original", Status: http.StatusFound},
		{Method: "GET", Path: "/api/v1/incidents", Tag: "incidents", Summary: "List incidents the caller may see, newest first, with cursor paging",
			Description: "A page holds at most limit items; next is present exactly when more incidents match (older ones): pass it as cursor. " +
				"A client that stops reading pages while next is present has not seen every match and should say so (the console does).",
			Query: listQuery, Response: incidentPageJSON{}},
		{Method: "GET", Path: "/api/v1/incidents/:case", Tag: "incidents", Summary: "An incident with reports, photos, position flags, timeline and alerts",
			Description: caseDesc + " Each photo has team_copy_url (≤ 1600 px) and thumbnail_url (≤ 320 px), both JPEG, upright, metadata removed, " +
				"presigned S3 GETs valid for s3.presign_ttl, each absent while there is none (not processed yet, or no team copy: PDF, video, a failed copy); " +
				"original_url is this API's redirect to the original (GET /api/v1/reports/{id}/media/{n}).",
			Response: incidentDetailJSON{}},
		{Method: "GET", Path: "/api/v1/incidents/:case/thumbnail", Tag: "incidents", Summary: "Redirect to a short-lived link to the incident's cover thumbnail (≤ 320 px JPEG)",
			Description: caseDesc + " The cover is the first thumbnail of the oldest report that has one; a case without one answers 404 saying so. " +
				"The URL is stable, so the console's list can show it lazily per visible row; the redirect (to a presigned S3 GET valid for s3.presign_ttl) " +
				"may be cached privately for 60 s, or half the link's lifetime if s3.presign_ttl is under 2 minutes (Vary: Authorization, Cookie).",
			Status: http.StatusFound},
		{Method: "POST", Path: "/api/v1/incidents/:case/take", Tag: "incidents", Summary: "Take (acknowledge) the incident; 409 if someone was first", Description: caseDesc, Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/resolve", Tag: "incidents", Summary: "Resolve the incident; the reporter is told", Description: caseDesc, Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/reassign", Tag: "incidents", Summary: "Move to another team (dispatchers)", Body: actionBody{}, Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/reject", Tag: "incidents", Summary: "Reject as not our responsibility, with a reason for the reporter", Body: actionBody{}, Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/reply", Tag: "incidents", Summary: "Answer the reporter: free text or a Textbaustein (/name)", Body: actionBody{}, Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/unmerge", Tag: "incidents", Summary: "Undo a duplicate merge (dispatchers)", Response: incidentJSON{}},
		{Method: "POST", Path: "/api/v1/incidents/:case/merge", Tag: "incidents", Summary: "Mark the case as a duplicate of another open case (dispatchers); unmerge reverses it",
			Body: mergeBody{}, Response: incidentJSON{}},
		{Method: "GET", Path: "/api/v1/events", Tag: "incidents", Summary: "Server-sent events: every committed change of an incident the caller may see",
			Description:  "text/event-stream (HTML Living Standard §9.2). Event `incident` with data {kind, at, incident}; event `resync` means reload the list; event `heartbeat` with data {interval_ms, at} when the stream opens and every interval_ms after (http.events_heartbeat, default 15 s): a client that has seen no event for well over interval_ms should reconnect and reload.",
			ResponseType: "text/event-stream"},
		{Method: "GET", Path: "/api/v1/stats", Tag: "incidents", Summary: "Time to acknowledge and to resolve (median, 90th percentile, seconds) and escalations per policy",
			Query:    [][2]string{{"by", "team (default), district or week"}, {"days", "incidents created in the last N days, default 30"}, {"format", "csv for text/csv (RFC 4180)"}},
			Response: statsJSON{}},
	}
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath turns /incidents/:case into /incidents/{case}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// buildOpenAPI makes the document from operation lists.
func buildOpenAPI(ops ...[]Operation) (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "fieldgate API", Version: "1",
			Description: "Reports from the field to the responsible team. Errors are RFC 9457 problem+json."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer":  &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer")},
				"session": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("apiKey").WithIn("cookie").WithName("fieldgate_session")},
			},
		},
	}
	problem, err := openapi3gen.NewSchemaRefForValue(Problem{}, doc.Components.Schemas)
	if err != nil {
		return nil, err
	}
	doc.Components.Schemas["Problem"] = problem
	problemRef := openapi3.NewSchemaRef("#/components/schemas/Problem", problem.Value)
	for _, list := range ops {
		for _, op := range list {
			o := openapi3.NewOperation()
			o.Summary, o.Description, o.Tags = op.Summary, op.Description, []string{op.Tag}
			o.OperationID = strings.ToLower(op.Method) + strings.NewReplacer("/", "_", ":", "", "*", "", ".", "_").Replace(op.Path)
			for _, name := range ginParam.FindAllStringSubmatch(op.Path, -1) {
				p := openapi3.NewPathParameter(name[1]).WithSchema(openapi3.NewStringSchema())
				o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: p})
			}
			for _, q := range op.Query {
				p := openapi3.NewQueryParameter(q[0]).WithDescription(q[1]).WithSchema(openapi3.NewStringSchema())
				o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: p})
			}
			if op.Body != nil {
				s, err := openapi3gen.NewSchemaRefForValue(op.Body, doc.Components.Schemas)
				if err != nil {
					return nil, fmt.Errorf("%s %s body: %w", op.Method, op.Path, err)
				}
				o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithJSONSchemaRef(s)}
			} else if op.Form != "" {
				o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithDescription(op.Form).
					WithFormDataSchema(openapi3.NewObjectSchema())}
			}
			status := op.Status
			if status == 0 {
				status = http.StatusOK
			}
			resp := openapi3.NewResponse().WithDescription(http.StatusText(status))
			switch {
			case op.Response != nil:
				s, err := openapi3gen.NewSchemaRefForValue(op.Response, doc.Components.Schemas)
				if err != nil {
					return nil, fmt.Errorf("%s %s response: %w", op.Method, op.Path, err)
				}
				resp = resp.WithJSONSchemaRef(s)
			case op.ResponseType != "":
				resp = resp.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{op.ResponseType}))
			}
			o.Responses = openapi3.NewResponses(openapi3.WithStatus(status, &openapi3.ResponseRef{Value: resp}))
			o.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("RFC 9457 problem").
				WithContent(openapi3.NewContentWithSchemaRef(problemRef, []string{"application/problem+json"}))})
			if !op.Public {
				o.Security = &openapi3.SecurityRequirements{{"bearer": {}}, {"session": {}}}
			}
			path := openAPIPath(op.Path)
			item := doc.Paths.Value(path)
			if item == nil {
				item = &openapi3.PathItem{}
				doc.Paths.Set(path, item)
			}
			if item.GetOperation(op.Method) != nil {
				return nil, fmt.Errorf("operation %s %s documented twice", op.Method, op.Path)
			}
			item.SetOperation(op.Method, o)
		}
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	return doc, nil
}

// openAPIHandler serves the document, built once on first use.
func (s *Server) openAPIHandler() gin.HandlerFunc {
	var once sync.Once
	var doc *openapi3.T
	var err error
	return func(c *gin.Context) {
		once.Do(func() { doc, err = buildOpenAPI(coreOperations(), s.cfg.ExtraOperations) })
		if err != nil {
			s.log.Error("openapi document", "err", err)
			problem(c, probInternal, msg.Texts.ServerFailed)
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.JSON(http.StatusOK, doc)
	}
}
