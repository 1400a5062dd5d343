package api

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

// SessionAuth lets the API accept a console session cookie in place of a
// bearer token (api/console implements it).
type SessionAuth interface {
	// Session returns the token the request's session acts as and the
	// session's CSRF token; ok=false when there is no valid session.
	Session(ctx context.Context, r *http.Request) (tok dispatch.Token, csrf string, ok bool, err error)
}

// csrfHeader must carry the session's CSRF token on every request that
// changes something (the console sends it; a cross-site form cannot).
const csrfHeader = "X-CSRF-Token"

// authenticateAny accepts a bearer token, else a console session; a
// session's unsafe requests must carry the CSRF header.
func (s *Server) authenticateAny(c *gin.Context) {
	if s.cfg.Sessions == nil || c.GetHeader("Authorization") != "" {
		s.authenticate(c)
		return
	}
	tok, csrf, ok, err := s.cfg.Sessions.Session(c.Request.Context(), c.Request)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !ok {
		s.authenticate(c) // the usual 401 with its WWW-Authenticate hint
		return
	}
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := c.GetHeader(csrfHeader); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
			problem(c, probCSRF, msg.Texts.CSRFMissing)
			return
		}
	}
	c.Set(tokenKey, tok)
	c.Next()
}
