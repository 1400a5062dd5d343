package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/routing"
)

type noRules struct{}

func (noRules) Current() *routing.RuleSet { return nil }

// TestOpenAPICoversRoutes checks the served document against the routes
// gin has registered: every API route documented, nothing documented that
// is not served, and the document valid OpenAPI 3.
func TestOpenAPICoversRoutes(t *testing.T) {
	srv := New(nil, nil, noRules{}, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET openapi.json: %d %s", rec.Code, rec.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("served document does not load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("served document is not valid OpenAPI 3: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range srv.Routes() {
		if !isAPIRoute(r.Path) {
			continue
		}
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	var missing, stale []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes without documentation: %s", strings.Join(missing, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("documented but not served: %s", strings.Join(stale, ", "))
	}
	if len(served) < 10 {
		t.Errorf("only %d API routes found; is the engine the real one?", len(served))
	}
	// The list endpoint documents its filters and its page shape.
	op := doc.Paths.Value("/api/v1/incidents").Get
	var names []string
	for _, p := range op.Parameters {
		names = append(names, p.Value.Name)
	}
	for _, want := range []string{"team", "state", "district", "urgency", "max_age", "q", "cursor"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("GET /api/v1/incidents does not document %q (has %v)", want, names)
		}
	}
	body, _ := json.Marshal(op.Responses.Status(200).Value.Content["application/json"].Schema.Value.Properties)
	if !strings.Contains(string(body), `"next"`) || !strings.Contains(string(body), `"items"`) {
		t.Errorf("page schema lacks items/next: %s", body)
	}
}

// TestOpenAPIIncludesMountedGroups documents a route group mounted from
// elsewhere (as Open311 is in serve, with open311.Operations) through
// ExtraOperations.
func TestOpenAPIIncludesMountedGroups(t *testing.T) {
	mount := func(r gin.IRouter) {
		r.GET("/extra/things.json", func(*gin.Context) {})
		r.POST("/extra/things/:file", func(*gin.Context) {})
	}
	extra := []Operation{
		{Method: "GET", Path: "/extra/things.json", Tag: "extra", Summary: "things", Public: true},
		{Method: "POST", Path: "/extra/things/:file", Tag: "extra", Summary: "a thing", Public: true},
	}
	srv := New(nil, nil, noRules{}, Config{Mount: []func(gin.IRouter){mount}, ExtraOperations: extra},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	doc, err := buildOpenAPI(coreOperations(), extra)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Routes() {
		if isAPIRoute(r.Path) && doc.Paths.Value(openAPIPath(r.Path)).GetOperation(r.Method) == nil {
			t.Errorf("%s %s not documented", r.Method, r.Path)
		}
	}
}

func TestOpenAPIRejectsDuplicateOperation(t *testing.T) {
	op := Operation{Method: "GET", Path: "/x", Tag: "t", Summary: "x", Public: true}
	if _, err := buildOpenAPI([]Operation{op}, []Operation{op}); err == nil {
		t.Error("a route documented twice was accepted")
	}
}

func TestOpenAPIPath(t *testing.T) {
	if got := openAPIPath("/api/v1/reports/:id/media/:n"); got != "/api/v1/reports/{id}/media/{n}" {
		t.Errorf("got %s", got)
	}
	if isAPIRoute("/console/app.js") || isAPIRoute("/") || !isAPIRoute("/api/v1/events") || !isAPIRoute("/consoles") {
		t.Error("isAPIRoute")
	}
}
