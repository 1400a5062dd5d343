package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/dispatch"
)

// CookieName is the session cookie over plain HTTP. Its value is a
// random secret; the database keeps only its SHA-256.
const CookieName = "fieldgate_session"

// SecureCookieName is the session cookie when cookies are Secure (HTTPS).
// The __Host- prefix (RFC 6265bis §4.1.3.2) makes the browser refuse it
// unless it is Secure, has Path=/ and no Domain: a neighbouring subdomain
// cannot plant or overwrite it (cookie tossing, session fixation).
const SecureCookieName = "__Host-fieldgate_session"

// cookieName is the session cookie's name for this console.
func (c *Console) cookieName() string {
	if c.cfg.SecureCookies {
		return SecureCookieName
	}
	return CookieName
}

// CSRFHeader carries the session's CSRF token on every unsafe request.
const CSRFHeader = "X-CSRF-Token"

// Session is a signed-in console user.
type Session struct {
	Subject   string   // OIDC subject/username, login-link user or API token name
	Name      string   // display name
	Roles     []string // dispatcher, team:<id>
	Method    string   // "oidc", "link" or "token"
	Language  string   // "de" or "en"
	ExpiresAt time.Time
	// CSRF is derived from the cookie's secret (SHA-256 of "csrf:"+secret):
	// the page learns it from GET /console/session, a cross-site page
	// cannot, and nothing extra is stored.
	CSRF string
}

// Token is the API identity a session acts as: the same roles and the
// same authorisation as an API token of that name.
func (s Session) Token() dispatch.Token { return dispatch.Token{Name: s.Subject, Roles: s.Roles} }

func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func csrfFor(secret string) string {
	sum := sha256.Sum256([]byte("csrf:" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// createSession stores a session and sets its cookie. A session the
// request already carried ends: a sign-in always gets a fresh secret and
// leaves no second live session behind (session fixation).
func (c *Console) createSession(ctx context.Context, w http.ResponseWriter, r *http.Request, s Session) error {
	s.Roles = c.liveRoles(s.Roles)
	if len(s.Roles) == 0 {
		return ErrNoRole
	}
	secret, err := newSecret()
	if err != nil {
		return err
	}
	now := c.now()
	s.ExpiresAt = now.Add(c.cfg.SessionTTL)
	if s.Language != "en" {
		s.Language = "de"
	}
	if _, err := c.pool.Exec(ctx, `
		INSERT INTO console_sessions (hash, subject, display_name, roles, method, language, created_at, expires_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, hashSecret(secret), s.Subject, s.Name, s.Roles, s.Method, s.Language, now, s.ExpiresAt); err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	// Expired sessions go with the next sign-in; nothing is kept without a reason.
	if _, err := c.pool.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at < $1`, now); err != nil {
		c.log.WarnContext(ctx, "delete expired sessions", "err", err)
	}
	if ck, err := r.Cookie(c.cookieName()); err == nil && ck.Value != "" && ck.Value != secret {
		if _, err := c.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hashSecret(ck.Value)); err != nil {
			return fmt.Errorf("end previous session: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: secret, Path: "/", HttpOnly: true, Secure: c.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt})
	return nil
}

// session loads the session of the request's cookie; ok=false if none.
func (c *Console) session(ctx context.Context, r *http.Request) (Session, bool, error) {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return Session{}, false, nil
	}
	var s Session
	err = c.pool.QueryRow(ctx, `
		SELECT subject, display_name, roles, method, language, expires_at FROM console_sessions
		WHERE hash = $1 AND expires_at > $2`, hashSecret(ck.Value), c.now()).
		Scan(&s.Subject, &s.Name, &s.Roles, &s.Method, &s.Language, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("load session: %w", err)
	}
	if s.Method == "token" { // signed in with an API token: revoking it ends the session
		active, err := c.tokens.TokenActive(ctx, s.Subject)
		if err != nil {
			return Session{}, false, err
		}
		if !active {
			if _, err := c.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hashSecret(ck.Value)); err != nil {
				return Session{}, false, fmt.Errorf("end session of a revoked token: %w", err)
			}
			return Session{}, false, nil
		}
	}
	s.CSRF = csrfFor(ck.Value)
	return s, true, nil
}

// Session implements api.SessionAuth: the API accepts the console's
// cookie in place of a bearer token (unsafe methods also need the CSRF
// header, which the API checks).
func (c *Console) Session(ctx context.Context, r *http.Request) (dispatch.Token, string, bool, error) {
	s, ok, err := c.session(ctx, r)
	if !ok || err != nil {
		return dispatch.Token{}, "", false, err
	}
	return s.Token(), s.CSRF, true, nil
}

// CSRFValid compares a presented CSRF token in constant time.
func CSRFValid(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func (c *Console) deleteSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(c.cookieName()); err == nil && ck.Value != "" {
		if _, err := c.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hashSecret(ck.Value)); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: c.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}
