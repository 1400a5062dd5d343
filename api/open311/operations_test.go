package open311

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/api"
)

// TestOperationsCoverRoutes: every Open311 route the API server serves is
// in its OpenAPI document, and nothing documented is not served.
func TestOperationsCoverRoutes(t *testing.T) {
	h := New(&fakeDomain{}, &fakeMedia{}, nil, staticRules{loadRules(t)}, Config{}, nil)
	srv := api.New(nil, nil, staticRules{loadRules(t)}, api.Config{Mount: []func(gin.IRouter){h.Register}, ExtraOperations: Operations()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json: %v (%d)", err, rec.Code)
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	served := map[string]bool{}
	for _, r := range srv.Routes() {
		if strings.HasPrefix(r.Path, "/open311/") {
			served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/open311/") {
			continue
		}
		for method := range item {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	if len(served) < 10 {
		t.Fatalf("only %d Open311 routes served: %v", len(served), served)
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("served but not documented: %s", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("documented but not served: %s", k)
		}
	}
}
