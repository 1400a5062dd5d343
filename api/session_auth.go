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

// stillAuthorized reports whether the request's credentials still hold,
// for a long-lived event stream that asks every authRecheck: the bearer
// token not revoked or expired, the console session not ended (logout,
// expiry). If the answer cannot be had (the database is down), the
// stream goes on.
func (s *Server) stillAuthorized(c *gin.Context) bool {
	ctx := c.Request.Context()
	if secret, ok := bearerSecret(c.GetHeader("Authorization")); ok {
		_, err := s.disp.Authenticate(ctx, secret)
		de := (*dispatch.Error)(nil)
		return err == nil || !asDomain(err, &de)
	}
	if s.cfg.Sessions == nil {
		return true
	}
	_, _, ok, err := s.cfg.Sessions.Session(ctx, c.Request)
	return ok || err != nil
}

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
