package console

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"
)

// oidcFlowCookie holds state, PKCE verifier and nonce between the redirect
// to the identity provider and its callback (HttpOnly, 10 minutes).
const oidcFlowCookie = "fieldgate_oidc"

type oidcClient struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// client discovers the provider (OpenID Connect Discovery 1.0) once.
func (c *Console) client(ctx context.Context) (*oidcClient, error) {
	c.oidcMu.Lock()
	defer c.oidcMu.Unlock()
	if c.oidc != nil {
		return c.oidc, nil
	}
	cfg := c.cfg.OIDC
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	c.oidc = &oidcClient{
		provider: p,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: c.cfg.PublicURL + "/console/auth/callback", Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...)},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
	}
	return c.oidc, nil
}

// oidcStart redirects to the provider: authorization code flow with PKCE
// S256 (RFC 7636) and a nonce (OpenID Connect Core 1.0 §3.1.2.1).
func (c *Console) oidcStart(g *gin.Context) {
	lang := langOf(g.Query("lang"))
	if c.cfg.OIDC.Issuer == "" {
		c.loginFailed(g, lang, "nooidc")
		return
	}
	cl, err := c.client(g.Request.Context())
	if err != nil {
		c.log.WarnContext(g.Request.Context(), "oidc provider unavailable", "err", err)
		c.loginFailed(g, lang, "idp")
		return
	}
	state, err1 := newSecret()
	nonce, err2 := newSecret()
	if err := errors.Join(err1, err2); err != nil {
		c.loginError(g, lang, err)
		return
	}
	verifier := oauth2.GenerateVerifier()
	http.SetCookie(g.Writer, &http.Cookie{Name: oidcFlowCookie, Value: strings.Join([]string{state, verifier, nonce, lang}, "."),
		Path: "/console/auth/", HttpOnly: true, Secure: c.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	g.Redirect(http.StatusFound, cl.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
}

// oidcCallback checks state, exchanges the code with the PKCE verifier,
// verifies the ID token (signature, issuer, audience, expiry, nonce) and
// maps its groups to roles.
func (c *Console) oidcCallback(g *gin.Context) {
	ctx := g.Request.Context()
	ck, err := g.Request.Cookie(oidcFlowCookie)
	http.SetCookie(g.Writer, &http.Cookie{Name: oidcFlowCookie, Path: "/console/auth/", MaxAge: -1, HttpOnly: true, Secure: c.cfg.SecureCookies})
	if err != nil {
		c.loginFailed(g, "", "state")
		return
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 4 || !CSRFValid(parts[0], g.Query("state")) {
		c.loginFailed(g, "", "state")
		return
	}
	verifier, nonce, lang := parts[1], parts[2], parts[3]
	if e := g.Query("error"); e != "" {
		c.loginFailed(g, lang, "idp")
		return
	}
	cl, err := c.client(ctx)
	if err != nil {
		c.loginFailed(g, lang, "idp")
		return
	}
	tok, err := cl.oauth.Exchange(ctx, g.Query("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		c.log.WarnContext(ctx, "oidc code exchange failed", "err", err)
		c.loginFailed(g, lang, "idp")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := cl.verifier.Verify(ctx, raw)
	if err != nil || !CSRFValid(hashNonce(idt.Nonce), hashNonce(nonce)) {
		c.log.WarnContext(ctx, "oidc id token rejected", "err", err)
		c.loginFailed(g, lang, "idp")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		c.loginFailed(g, lang, "idp")
		return
	}
	name := firstString(claims, "preferred_username", "email", "name")
	subject := name
	if subject == "" {
		subject = idt.Subject
	}
	roles := c.groupRoles(claims[c.cfg.OIDC.GroupsClaim])
	if err := c.createSession(ctx, g.Writer, g.Request, Session{Subject: subject, Name: firstString(claims, "name", "preferred_username", "email"),
		Roles: roles, Method: "oidc", Language: lang}); err != nil {
		if errors.Is(err, ErrNoRole) {
			// The provider says the user has no role any more: their
			// sessions on other devices end too.
			if _, derr := c.pool.Exec(ctx, `DELETE FROM console_sessions WHERE subject = $1 AND method = 'oidc'`, subject); derr != nil {
				c.log.WarnContext(ctx, "end sessions of a user without role", "err", derr)
			}
		}
		c.loginError(g, lang, err)
		return
	}
	// The groups the provider sends now hold for the user's other sessions
	// too (other devices, signed in under the old groups).
	if _, err := c.pool.Exec(ctx, `UPDATE console_sessions SET roles = $2 WHERE subject = $1 AND method = 'oidc'`, subject, c.liveRoles(roles)); err != nil {
		c.log.WarnContext(ctx, "update roles of other sessions", "err", err)
	}
	g.Redirect(http.StatusSeeOther, "/console/")
}

func hashNonce(n string) string {
	sum := sha256.Sum256([]byte(n))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// groupRoles maps the groups claim to roles. Identity providers write it
// as a list of strings (Keycloak, Authentik, Dex, Entra ID), a single
// string (one group), or an object whose keys are the names (Zitadel's
// project roles claim, urn:zitadel:iam:org:project:roles).
func (c *Console) groupRoles(v any) []string {
	var roles []string
	var names []string
	switch g := v.(type) {
	case string:
		names = []string{g}
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok {
				names = append(names, s)
			}
		}
	case map[string]any:
		for k := range g {
			names = append(names, k)
		}
		slices.Sort(names)
	}
	for _, name := range names {
		name = strings.TrimPrefix(name, "/") // Keycloak writes group paths
		for _, r := range c.cfg.OIDC.Groups[name] {
			if !contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	return consoleRoles(roles)
}

func firstString(claims map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := claims[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
