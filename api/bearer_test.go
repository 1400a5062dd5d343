package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestBearerSecret(t *testing.T) {
	for _, tc := range []struct {
		header, secret string
		ok             bool
	}{
		{"Bearer fg_abc", "fg_abc", true},
		{"bearer fg_abc", "fg_abc", true}, // RFC 9110 §11.1: the scheme is case-insensitive
		{"BEARER  fg_abc ", "fg_abc", true},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"Basic Zm9vOmJhcg==", "", false},
		{"Bearerfg_abc", "", false},
		{"", "", false},
	} {
		secret, ok := bearerSecret(tc.header)
		if secret != tc.secret || ok != tc.ok {
			t.Errorf("bearerSecret(%q) = %q, %v; want %q, %v", tc.header, secret, ok, tc.secret, tc.ok)
		}
	}
}

// TestAuthenticationDatabaseDown: while the token store cannot be read,
// the API and /metrics answer 503 with Retry-After (retry later), not 401
// (which tells a client its token is bad and Prometheus to stop trying).
func TestAuthenticationDatabaseDown(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.authErr = fmt.Errorf("authenticate: %w", &pgconn.ConnectError{})
	for _, path := range []string{"/api/v1/incidents/2026-000001", "/metrics"} {
		w := s.do(http.MethodGet, path, secretDispatcher, nil, nil)
		checkProblem(t, w, http.StatusServiceUnavailable, "database-unavailable", "")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", path)
		}
	}
}
