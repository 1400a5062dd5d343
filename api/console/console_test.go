package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/fieldgate/fieldgate/api"
	"github.com/fieldgate/fieldgate/api/console"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

type env struct {
	srv  *httptest.Server
	svc  *dispatch.Service
	rule *routing.Engine
	pool *pgxpool.Pool
	ctx  context.Context
}

func newEnv(t *testing.T, cfg console.Config) *env {
	t.Helper()
	pool := testsvc.Pool(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, file, _, _ := runtime.Caller(0)
	rules, err := routing.NewEngine(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "demo", "rules.yaml"), log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Logger: log}, dispatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, rule: rules, pool: pool, ctx: context.Background()}
	// The server's URL must be known before the console (OIDC redirect).
	e.srv = httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + e.srv.Listener.Addr().String()
	con := console.New(cfg, pool, svc, rules, svc.TemplateNames, log)
	e.srv.Config.Handler = api.New(svc, nil, rules, api.Config{Mount: []func(gin.IRouter){con.Register}, Sessions: con}, log).Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type sessionInfo struct {
	SignedIn bool   `json:"signed_in"`
	CSRF     string `json:"csrf"`
	User     struct {
		Subject string   `json:"subject"`
		Roles   []string `json:"roles"`
		Method  string   `json:"method"`
	} `json:"user"`
}

func (e *env) session(t *testing.T, c *http.Client) sessionInfo {
	t.Helper()
	var s sessionInfo
	if err := json.NewDecoder(do(t, c, "GET", e.srv.URL+"/console/session", nil, nil).Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoginLinkWorksOnceAndSessionNeedsCSRF(t *testing.T) {
	e := newEnv(t, console.Config{})
	roles := console.RolesFromRules(e.rule, "dora@stadt.localhost")
	if fmt.Sprint(roles) != "[dispatcher team:leitstelle]" {
		t.Fatalf("roles of the demo dispatcher (a Leitstelle member): %v", roles)
	}
	link, err := console.CreateLoginLink(e.ctx, e.pool, e.srv.URL, "dora@stadt.localhost", roles, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	secret := u.Query().Get("t")
	c := client(t)
	// Opening the link (a mail scanner does) does not spend it.
	if r := do(t, c, "GET", link, nil, nil); r.StatusCode != 200 || len(r.Cookies()) != 0 {
		t.Fatalf("GET link: %d cookies %v", r.StatusCode, r.Cookies())
	}
	r := do(t, c, "POST", e.srv.URL+"/console/auth/link", url.Values{"t": {secret}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
		t.Fatalf("POST link: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	ck := r.Cookies()[0]
	if ck.Name != console.CookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure on plain http", ck)
	}
	again := do(t, client(t), "POST", e.srv.URL+"/console/auth/link", url.Values{"t": {secret}}, nil)
	if loc := again.Header.Get("Location"); !strings.Contains(loc, "error=link") {
		t.Errorf("a spent link signed in again: %s", loc)
	}

	s := e.session(t, c)
	if !s.SignedIn || s.User.Subject != "dora@stadt.localhost" || s.User.Method != "link" || s.CSRF == "" {
		t.Fatalf("session: %+v", s)
	}
	if r := do(t, c, "GET", e.srv.URL+"/api/v1/incidents", nil, nil); r.StatusCode != 200 {
		t.Errorf("GET incidents with the session: %d", r.StatusCode)
	}
	take := e.srv.URL + "/api/v1/incidents/2026-999999/take"
	if r := do(t, c, "POST", take, nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF header: %d, want 403", r.StatusCode)
	}
	if r := do(t, c, "POST", take, nil, map[string]string{console.CSRFHeader: s.CSRF + "x"}); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d, want 403", r.StatusCode)
	}
	if r := do(t, c, "POST", take, nil, map[string]string{console.CSRFHeader: s.CSRF}); r.StatusCode != http.StatusNotFound {
		t.Errorf("POST with the CSRF token on a missing case: %d, want 404", r.StatusCode)
	}

	if r := do(t, c, "POST", e.srv.URL+"/console/auth/logout", nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d", r.StatusCode)
	}
	if r := do(t, c, "POST", e.srv.URL+"/console/auth/logout", nil, map[string]string{console.CSRFHeader: s.CSRF}); r.StatusCode != http.StatusNoContent {
		t.Errorf("logout: %d", r.StatusCode)
	}
	if s := e.session(t, c); s.SignedIn {
		t.Error("still signed in after logout")
	}
	// The old cookie is dead server-side too, not only in this browser.
	stolen := &http.Client{}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/incidents", nil)
	req.AddCookie(ck)
	resp, err := stolen.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the logged-out cookie still works: %d", resp.StatusCode)
	}
}

func TestTokenLoginNeedsAConsoleRole(t *testing.T) {
	e := newEnv(t, console.Config{SecureCookies: true})
	rep, _ := e.svc.CreateToken(e.ctx, "app", []string{dispatch.RoleReporter}, 0, "")
	team, _ := e.svc.CreateToken(e.ctx, "tief", []string{"team:tiefbau"}, 0, "")
	c := client(t)
	if r := do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {rep}}, nil); !strings.Contains(r.Header.Get("Location"), "error=norole") {
		t.Errorf("reporter token: %s", r.Header.Get("Location"))
	}
	if r := do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {"fg_wrong"}}, nil); !strings.Contains(r.Header.Get("Location"), "error=token") {
		t.Errorf("wrong token: %s", r.Header.Get("Location"))
	}
	r := do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {team}}, nil)
	if len(r.Cookies()) != 1 || !r.Cookies()[0].Secure {
		t.Fatalf("team token sign-in: %d %v (want a Secure cookie)", r.StatusCode, r.Cookies())
	}
}

func TestOIDCSignInMapsGroupsToRoles(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	oc := idp.Config()
	e := newEnv(t, console.Config{OIDC: console.OIDCConfig{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret,
		Groups: map[string][]string{"tiefbau-staff": {"team:tiefbau"}, "ignored": {"admin"}}}})
	idp.QueueUser(&mockoidc.MockUser{Subject: "s-1", PreferredUsername: "anna@stadt.localhost", Groups: []string{"tiefbau-staff", "ignored", "other"}})
	idp.QueueUser(&mockoidc.MockUser{Subject: "s-2", PreferredUsername: "nobody@stadt.localhost", Groups: []string{"other"}})

	signIn := func() (*http.Client, string) {
		c := client(t)
		u := e.srv.URL + "/console/auth/oidc"
		for range 5 { // fieldgate → provider → fieldgate callback → console
			r := do(t, c, "GET", u, nil, nil)
			loc := r.Header.Get("Location")
			if r.StatusCode/100 != 3 {
				t.Fatalf("GET %s: %d", u, r.StatusCode)
			}
			if strings.HasPrefix(loc, "/console/") {
				return c, loc
			}
			if strings.HasPrefix(loc, "/") {
				loc = e.srv.URL + loc
			}
			if strings.Contains(loc, "/authorize") && !strings.Contains(loc, "code_challenge_method=S256") {
				t.Errorf("authorization request without PKCE S256: %s", loc)
			}
			u = loc
		}
		t.Fatal("sign-in redirect loop")
		return nil, ""
	}
	c, loc := signIn()
	if loc != "/console/" {
		t.Fatalf("sign-in ended at %s", loc)
	}
	s := e.session(t, c)
	if !s.SignedIn || s.User.Method != "oidc" || s.User.Subject != "anna@stadt.localhost" || len(s.User.Roles) != 1 || s.User.Roles[0] != "team:tiefbau" {
		t.Errorf("OIDC session %+v: want anna with team:tiefbau only", s)
	}
	if _, loc := signIn(); !strings.Contains(loc, "error=norole") {
		t.Errorf("a user without mapped groups got in: %s", loc)
	}
	// A callback whose state does not match the browser's flow is refused.
	if r := do(t, client(t), "GET", e.srv.URL+"/console/auth/callback?state=x&code=y", nil, nil); !strings.Contains(r.Header.Get("Location"), "error=state") {
		t.Errorf("forged callback: %s", r.Header.Get("Location"))
	}
}
