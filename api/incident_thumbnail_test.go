package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestIncidentThumbnailRedirect: the list's cover thumbnail redirects the
// dispatcher and the incident's team to a presigned link of the team
// thumbnail, cacheable only privately and per credentials; another team,
// a reporter and an unknown case get the same 404; a case without a
// thumbnail gets a 404 that says so.
func TestIncidentThumbnailRedirect(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
	const path = "/api/v1/incidents/2026-000042/thumbnail"
	for _, secret := range []string{secretDispatcher, secretTiefbau} {
		w := s.do(http.MethodGet, path, secret, nil, nil)
		loc := w.Header().Get("Location")
		if w.Code != http.StatusFound || !strings.HasPrefix(loc, "https://s3.example/team/2026/01/cover-thumb.jpg?") {
			t.Errorf("%s: %d Location %q, want 302 to the presigned thumbnail", secret, w.Code, loc)
		}
		if cc, vary := w.Header().Get("Cache-Control"), w.Header().Get("Vary"); !strings.Contains(cc, "private") || !strings.Contains(vary, "Cookie") || !strings.Contains(vary, "Authorization") {
			t.Errorf("%s: Cache-Control %q, Vary %q: a redirect to a signed link may only be cached per user", secret, cc, vary)
		}
	}
	checkProblem(t, s.do(http.MethodGet, "/api/v1/incidents/2026-000999/thumbnail", secretDispatcher, nil, nil), http.StatusNotFound, "not-found", "")
	for _, secret := range []string{secretGruen, secretApp} {
		// The same answer as the incident view gives them.
		hidden := checkProblem(t, s.do(http.MethodGet, "/api/v1/incidents/2026-000042", secret, nil, nil), http.StatusNotFound, "not-found", "")
		w := s.do(http.MethodGet, path, secret, nil, nil)
		if got := checkProblem(t, w, http.StatusNotFound, "not-found", ""); got != hidden || w.Header().Get("Location") != "" {
			t.Errorf("%s: %+v, want the incident view's 404 %+v", secret, got, hidden)
		}
	}
	s.domain.noThumbnails = true
	if p := checkProblem(t, s.do(http.MethodGet, path, secretTiefbau, nil, nil), http.StatusNotFound, "not-found", ""); !strings.Contains(p.Detail, "2026-000042") || !strings.Contains(p.Detail, "thumbnail") {
		t.Errorf("no thumbnail: %+v, want a detail naming the case", p)
	}
}
