// Package console serves the dispatcher console: the embedded web page
// (Leaflet map, list, incident view, numbers) and its sign-in: OIDC
// authorization code flow with PKCE (RFC 7636), one-time login links made
// by `fieldgate console-login`, and API tokens. Sessions live in
// PostgreSQL (only hashes of their secrets) behind Secure, HttpOnly,
// SameSite=Lax cookies; the page's actions go to the same /api/v1 routes
// as API clients, with a CSRF header.
package console

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

// Config tunes the console. Zero values take the documented defaults.
type Config struct {
	// PublicURL is how browsers reach fieldgate, e.g. https://fieldgate.stadt.example
	// (login links and the OIDC redirect are built from it).
	PublicURL string
	// SecureCookies sets the cookie's Secure attribute. Set it whenever
	// browsers reach fieldgate over HTTPS (also behind a TLS proxy).
	SecureCookies bool
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL time.Duration
	// LinkTTL is how long a login link works (once). Default 15m.
	LinkTTL time.Duration
	// OIDC single sign-on; disabled when Issuer is empty.
	OIDC OIDCConfig
	// TileURL is an optional map tile URL template
	// (https://tiles.example/{z}/{x}/{y}.png); empty = district polygons
	// only, so no request leaves the machine.
	TileURL string
	// TileAttribution is shown on the map when TileURL is set.
	TileAttribution string
	// TimeZone is the town's IANA zone (time_zone), in which the page
	// shows every time, whatever the dispatcher's computer is set to.
	// Default Europe/Berlin.
	TimeZone string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// OIDCConfig is the identity provider. Groups map to roles.
type OIDCConfig struct {
	Issuer       string // e.g. https://login.stadt.example/realms/stadt
	ClientID     string
	ClientSecret string
	// GroupsClaim names the ID token claim with the user's groups. Default "groups".
	GroupsClaim string
	// Groups maps a group to fieldgate roles: "dispatcher", "team:<id>".
	Groups map[string][]string
	// Scopes requested besides openid. Default profile, email, groups.
	Scopes []string
}

// Tokens authenticates API tokens (dispatch.Service).
type Tokens interface {
	Authenticate(ctx context.Context, secret string) (dispatch.Token, error)
	// TokenActive reports whether a token of this name is neither revoked
	// nor expired: a session signed in with it ends with it.
	TokenActive(ctx context.Context, name string) (bool, error)
}

var _ Tokens = (*dispatch.Service)(nil)

// Rules gives the rules in force: teams for the filters, districts for the map.
type Rules interface {
	Current() *routing.RuleSet
}

// Console serves the console's pages and sign-in.
type Console struct {
	cfg       Config
	pool      *pgxpool.Pool
	tokens    Tokens
	rules     Rules
	templates func() []string
	log       *slog.Logger

	oidcMu sync.Mutex
	oidc   *oidcClient // discovered on first use: the IdP may be down at start-up
}

// New builds the console. templates lists the Textbausteine names (may be nil).
func New(cfg Config, pool *pgxpool.Pool, tokens Tokens, rules Rules, templates func() []string, logger *slog.Logger) *Console {
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, 12*time.Hour)
	cfg.LinkTTL = cmp.Or(cfg.LinkTTL, 15*time.Minute)
	cfg.OIDC.GroupsClaim = cmp.Or(cfg.OIDC.GroupsClaim, "groups")
	if len(cfg.OIDC.Scopes) == 0 {
		cfg.OIDC.Scopes = []string{"profile", "email", "groups"}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.TimeZone = cmp.Or(cfg.TimeZone, "Europe/Berlin")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if templates == nil {
		templates = func() []string { return nil }
	}
	return &Console{cfg: cfg, pool: pool, tokens: tokens, rules: rules, templates: templates, log: cmp.Or(logger, slog.Default())}
}

func (c *Console) now() time.Time { return c.cfg.Now().UTC() }

// Register adds the console's routes: the page under /console/, sign-in
// under /console/auth/, and / redirecting to the console. Every answer
// forbids framing, and sign-in and logout refuse forms posted by other
// sites.
func (c *Console) Register(r gin.IRouter) {
	g := r.Group("", securityHeaders)
	g.GET("/", func(g *gin.Context) { g.Redirect(http.StatusFound, "/console/") })
	g.GET("/console", func(g *gin.Context) { g.Redirect(http.StatusMovedPermanently, "/console/") })
	g.GET("/console/", c.page)
	g.GET("/console/static/*file", c.static)
	g.GET("/console/session", c.sessionInfo)
	g.GET("/console/districts.geojson", c.districts)
	g.GET("/console/auth/oidc", c.oidcStart)
	g.GET("/console/auth/callback", c.oidcCallback)
	g.GET("/console/auth/link", c.linkPage)
	g.POST("/console/auth/link", c.sameSite, c.linkLogin)
	g.POST("/console/auth/token", c.sameSite, c.tokenLogin)
	g.POST("/console/auth/logout", c.sameSite, c.logout)
}

// securityHeaders forbids framing every console answer, the one-time link
// page included (clickjacking; CSP Level 2 frame-ancestors and, for old
// browsers, X-Frame-Options, RFC 7034), and content sniffing. The page
// itself sets its full Content-Security-Policy.
func securityHeaders(g *gin.Context) {
	h := g.Writer.Header()
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	g.Next()
}

// sameSite refuses a sign-in or logout form that a page of another site
// posted (login CSRF: an attacker's token or link would sign the victim
// into the attacker's account, and whatever the victim then types goes to
// the attacker's view). It reads Fetch Metadata (Sec-Fetch-Site, W3C),
// which every current browser sends, else the Origin header (RFC 6454);
// a request with neither (curl, scripts) is no browser's cross-site form.
func (c *Console) sameSite(g *gin.Context) {
	if c.crossSite(g.Request) {
		c.log.WarnContext(g.Request.Context(), "console: cross-site form refused", "path", g.Request.URL.Path)
		if strings.HasSuffix(g.Request.URL.Path, "/logout") {
			g.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "cross-site"})
			return
		}
		c.loginFailed(g, g.PostForm("language"), "origin")
		g.Abort()
		return
	}
	g.Next()
}

func (c *Console) crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return true // "null": a sandboxed frame or a data: page
	}
	if strings.EqualFold(u.Host, r.Host) {
		return false
	}
	pub, err := url.Parse(c.cfg.PublicURL)
	return err != nil || c.cfg.PublicURL == "" || !strings.EqualFold(pub.Host, u.Host)
}

// liveRoles keeps the console roles that mean something under the rules
// in force: dispatcher, and team:<id> of a team that still exists (a
// group mapped to a team the rules dropped gives no role).
func (c *Console) liveRoles(roles []string) []string {
	roles = consoleRoles(roles)
	rs := c.rules.Current()
	if rs == nil {
		return roles
	}
	teams := map[string]bool{}
	for _, t := range rs.Teams() {
		teams[t.ID] = true
	}
	out := []string{}
	for _, r := range roles {
		if id, isTeam := strings.CutPrefix(r, "team:"); !isTeam || teams[id] {
			out = append(out, r)
		}
	}
	return out
}

// ErrNoRole means the account maps to no console role (dispatcher, team:<id>).
var ErrNoRole = errors.New("console: the account has no role in fieldgate")

// sessionInfo tells the page who is signed in, the CSRF token for its
// actions, and what it needs to draw filters.
func (c *Console) sessionInfo(g *gin.Context) {
	g.Header("Cache-Control", "no-store")
	s, ok, err := c.session(g.Request.Context(), g.Request)
	if err != nil {
		c.log.ErrorContext(g.Request.Context(), "console session", "err", err)
		g.JSON(http.StatusInternalServerError, gin.H{"error": "internal"})
		return
	}
	type teamJSON struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	teams := []teamJSON{}
	districts := []string{}
	if rs := c.rules.Current(); rs != nil {
		for _, t := range rs.Teams() {
			teams = append(teams, teamJSON{ID: t.ID, Name: cmp.Or(t.Name, t.ID)})
		}
		districts = append(districts, rs.Areas()...)
	}
	out := gin.H{"signed_in": ok, "oidc": c.cfg.OIDC.Issuer != "", "teams": teams, "districts": districts,
		"tile_url": c.cfg.TileURL, "tile_attribution": c.cfg.TileAttribution, "time_zone": c.cfg.TimeZone}
	if ok {
		out["user"] = gin.H{"subject": s.Subject, "name": cmp.Or(s.Name, s.Subject), "roles": s.Roles, "method": s.Method,
			"language": s.Language, "expires_at": s.ExpiresAt, "dispatcher": contains(s.Roles, dispatch.RoleDispatcher)}
		out["csrf"] = s.CSRF
		out["templates"] = c.templates()
	}
	g.JSON(http.StatusOK, out)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// districts serves the rules' district polygons (GeoJSON, RFC 7946) for
// the map, as routing reads them (longitude first, name in
// properties.name), never a file named by a request.
func (c *Console) districts(g *gin.Context) {
	if rs := c.rules.Current(); rs != nil {
		g.Header("Cache-Control", "private, max-age=300")
		g.Data(http.StatusOK, "application/geo+json", rs.DistrictsGeoJSON())
		return
	}
	g.Data(http.StatusOK, "application/geo+json", []byte(`{"type":"FeatureCollection","features":[]}`))
}

// logout ends the session (needs the CSRF header, like every action).
func (c *Console) logout(g *gin.Context) {
	s, ok, err := c.session(g.Request.Context(), g.Request)
	if err == nil && ok && !CSRFValid(s.CSRF, g.GetHeader(CSRFHeader)) {
		g.JSON(http.StatusForbidden, gin.H{"error": "csrf"})
		return
	}
	if err == nil {
		err = c.deleteSession(g.Request.Context(), g.Writer, g.Request)
	}
	if err != nil {
		c.log.ErrorContext(g.Request.Context(), "console logout", "err", err)
		g.JSON(http.StatusInternalServerError, gin.H{"error": "internal"})
		return
	}
	g.Status(http.StatusNoContent)
}

// tokenLogin signs in with an API token (form field token): the session
// gets the token's roles, the token itself is not stored again.
func (c *Console) tokenLogin(g *gin.Context) {
	secret := strings.TrimSpace(g.PostForm("token"))
	lang := g.PostForm("language")
	tok, err := c.tokens.Authenticate(g.Request.Context(), secret)
	if err != nil {
		c.loginFailed(g, lang, "token")
		return
	}
	roles := consoleRoles(tok.Roles)
	if err := c.createSession(g.Request.Context(), g.Writer, g.Request, Session{Subject: tok.Name, Name: tok.Name, Roles: roles, Method: "token", Language: lang}); err != nil {
		c.loginError(g, lang, err)
		return
	}
	g.Redirect(http.StatusSeeOther, "/console/")
}

// consoleRoles keeps the roles that mean something in the console.
func consoleRoles(roles []string) []string {
	out := []string{}
	for _, r := range roles {
		if r == dispatch.RoleDispatcher || (strings.HasPrefix(r, "team:") && len(r) > len("team:")) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Console) loginFailed(g *gin.Context, lang, what string) {
	g.Redirect(http.StatusSeeOther, "/console/?error="+what+"&lang="+langOf(lang))
}

func (c *Console) loginError(g *gin.Context, lang string, err error) {
	if errors.Is(err, ErrNoRole) {
		c.loginFailed(g, lang, "norole")
		return
	}
	c.log.ErrorContext(g.Request.Context(), "console sign-in", "err", err)
	c.loginFailed(g, lang, "internal")
}

func langOf(l string) string {
	if l == "en" {
		return "en"
	}
	return "de"
}
