package api

import (
	"net/http"
	"testing"
)

// TestNULAndInvalidUTF8Refused: a path or query no field can hold is a
// 400 problem before any handler (not a 500 from PostgreSQL later), and
// the bearer scheme is case-insensitive (RFC 9110 §11.1).
func TestNULAndInvalidUTF8Refused(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	for _, path := range []string{
		"/api/v1/incidents?team=%00", "/api/v1/incidents?q=%ff", "/api/v1/incidents?district=a%00b",
		"/api/v1/incidents/%00", "/api/v1/reports/%ff",
	} {
		w := s.do(http.MethodGet, path, secretDispatcher, nil, nil)
		checkProblem(t, w, http.StatusBadRequest, "invalid", "NUL")
	}
	w := s.do(http.MethodGet, "/api/v1/incidents", "", nil, map[string]string{"Authorization": "bearer " + secretDispatcher})
	if w.Code != http.StatusOK {
		t.Errorf("lower-case bearer scheme: %d %s", w.Code, w.Body)
	}
}
