package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
)

// CreateLoginLink stores a one-time login link for user with roles and
// returns its URL (publicURL + /console/auth/link?t=<secret>). Only the
// secret's SHA-256 is stored; the link works once, within ttl.
func CreateLoginLink(ctx context.Context, pool *pgxpool.Pool, publicURL, user string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	user = strings.TrimSpace(user)
	if user == "" || len(user) > 200 {
		return "", fmt.Errorf("console login: user must be 1-200 characters")
	}
	roles = consoleRoles(roles)
	if len(roles) == 0 {
		return "", fmt.Errorf("console login: %s has no console role (dispatcher or team:<id>): %w", user, ErrNoRole)
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO console_login_links (hash, subject, roles, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)`,
		hashSecret(secret), user, roles, now.UTC(), now.UTC().Add(ttl)); err != nil {
		return "", fmt.Errorf("console login: store link: %w", err)
	}
	return strings.TrimRight(publicURL, "/") + "/console/auth/link?t=" + url.QueryEscape(secret), nil
}

// RolesFromRules derives a user's console roles from the routing rules:
// dispatcher for the rules' dispatchers, team:<id> for each team that
// lists the user as a member.
func RolesFromRules(r Rules, user string) []string {
	rs := r.Current()
	if rs == nil {
		return nil
	}
	var roles []string
	if rs.IsDispatcher(strings.ToLower(user)) {
		roles = append(roles, dispatch.RoleDispatcher)
	}
	for _, t := range rs.Teams() {
		for _, m := range t.Members {
			if strings.EqualFold(m, user) {
				roles = append(roles, "team:"+t.ID)
				break
			}
		}
	}
	return roles
}

// linkPage shows a button that signs in with the link: a GET never uses
// the link up, so a mail scanner or chat preview that opens it does not
// spend it.
// Its texts come from the catalogue in the browser's language (German
// unless Accept-Language prefers English).
var linkPageTmpl = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>fieldgate – {{.Title}}</title><link rel="stylesheet" href="/console/static/app.css"></head>
<body class="login"><main class="login-box"><h1>fieldgate</h1>
<form method="post" action="/console/auth/link"><input type="hidden" name="t" value="{{.Token}}">
<p>{{.Prompt}}</p>
<button type="submit" id="link-login">{{.Title}}</button></form></main></body></html>`))

func (c *Console) linkPage(g *gin.Context) {
	g.Header("Cache-Control", "no-store")
	g.Header("Referrer-Policy", "no-referrer")
	g.Status(http.StatusOK)
	g.Header("Content-Type", "text/html; charset=utf-8")
	lang := msg.NegotiateHTTP(g.Request.Header, g.Writer.Header(), msg.Default)
	t := msg.For(lang)
	_ = linkPageTmpl.Execute(g.Writer, struct{ Lang, Title, Prompt, Token string }{lang, t.ConsoleSignIn(), t.ConsoleLinkPrompt(), g.Query("t")})
}

// linkLogin spends a login link (form field t) and starts a session.
func (c *Console) linkLogin(g *gin.Context) {
	ctx := g.Request.Context()
	secret := g.PostForm("t")
	var subject string
	var roles []string
	err := c.pool.QueryRow(ctx, `
		UPDATE console_login_links SET used_at = $2
		WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING subject, roles`, hashSecret(secret), c.now()).Scan(&subject, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		c.loginFailed(g, "", "link")
		return
	}
	if err != nil {
		c.loginError(g, "", err)
		return
	}
	if err := c.createSession(ctx, g.Writer, g.Request, Session{Subject: subject, Name: subject, Roles: roles, Method: "link"}); err != nil {
		c.loginError(g, "", err)
		return
	}
	g.Redirect(http.StatusSeeOther, "/console/")
}
