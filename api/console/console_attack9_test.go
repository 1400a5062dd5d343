package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/fieldgate/fieldgate/api/console"
	"github.com/fieldgate/fieldgate/dispatch"
)

// A sign-in form posted by another site (login CSRF: the attacker's own
// token or link would sign the victim into the attacker's account) is
// refused and sets no cookie; the same form from the console's own page
// signs in. A cross-site logout is refused and the session lives on.
func TestSignInFormsFromOtherSitesAreRefused(t *testing.T) {
	e := newEnv(t, console.Config{})
	tok, err := e.svc.CreateToken(e.ctx, "attacker", []string{dispatch.RoleDispatcher}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://other.stadt.example"},
		{"Origin": "https://evil.example"}, // a browser without Fetch Metadata
		{"Origin": "null"},                 // a sandboxed frame
	} {
		r := do(t, client(t), "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {tok}}, hdr)
		if len(r.Cookies()) != 0 || !strings.Contains(r.Header.Get("Location"), "error=origin") {
			t.Errorf("token form with %v: %d %s, cookies %v; want the origin error and no cookie", hdr, r.StatusCode, r.Header.Get("Location"), r.Cookies())
		}
		r = do(t, client(t), "POST", e.srv.URL+"/console/auth/link", url.Values{"t": {"whatever"}}, hdr)
		if len(r.Cookies()) != 0 || !strings.Contains(r.Header.Get("Location"), "error=origin") {
			t.Errorf("link form with %v: %s; want the origin error", hdr, r.Header.Get("Location"))
		}
	}
	c := client(t)
	r := do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {tok}},
		map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL})
	if len(r.Cookies()) != 1 {
		t.Fatalf("same-origin token form: %d %s, cookies %v", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	s := e.session(t, c)
	r = do(t, c, "POST", e.srv.URL+"/console/auth/logout", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": s.CSRF})
	if r.StatusCode != http.StatusForbidden || !e.session(t, c).SignedIn {
		t.Errorf("cross-site logout: %d, still signed in %v; want 403 and the session kept", r.StatusCode, e.session(t, c).SignedIn)
	}
}

// Every console answer forbids framing (clickjacking), the one-time link
// page with its sign-in button above all.
func TestConsoleAnswersForbidFraming(t *testing.T) {
	e := newEnv(t, console.Config{})
	for _, path := range []string{"/console/", "/console/auth/link?t=abc", "/console/session", "/console/static/app.js", "/console/districts.geojson"} {
		r := do(t, client(t), "GET", e.srv.URL+path, nil, nil)
		if r.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: X-Frame-Options %q, CSP %q; want DENY and frame-ancestors 'none'", path, r.Header.Get("X-Frame-Options"), r.Header.Get("Content-Security-Policy"))
		}
	}
}

// Over HTTPS the session cookie carries the __Host- prefix (Secure,
// Path=/, no Domain), so a neighbouring subdomain cannot plant one; the
// server reads the session from it.
func TestSecureSessionCookieHasHostPrefix(t *testing.T) {
	e := newEnv(t, console.Config{SecureCookies: true})
	tok, _ := e.svc.CreateToken(e.ctx, "tief", []string{"team:tiefbau"}, 0, "")
	r := do(t, client(t), "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {tok}}, nil)
	if len(r.Cookies()) != 1 {
		t.Fatalf("sign-in: %v", r.Cookies())
	}
	ck := r.Cookies()[0]
	if ck.Name != "__Host-fieldgate_session" || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v: want __Host-fieldgate_session, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax", ck)
	}
	// (The cookie jar keeps Secure cookies for https; send it by hand.)
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/session", nil)
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s sessionInfo
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || !s.SignedIn {
		t.Fatalf("session from the __Host- cookie: %+v %v", s, err)
	}
	// The plain name, as a subdomain could set it, is no session.
	req, _ = http.NewRequest("GET", e.srv.URL+"/console/session", nil)
	req.AddCookie(&http.Cookie{Name: console.CookieName, Value: ck.Value})
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var s2 sessionInfo
	_ = json.NewDecoder(resp2.Body).Decode(&s2)
	if s2.SignedIn {
		t.Error("a cookie without the __Host- prefix was taken as the session")
	}
}

// Signing in again ends the session the browser carried (a planted or
// older cookie does not stay valid beside the new one).
func TestSignInEndsThePreviousSession(t *testing.T) {
	e := newEnv(t, console.Config{})
	a, _ := e.svc.CreateToken(e.ctx, "a", []string{dispatch.RoleDispatcher}, 0, "")
	b, _ := e.svc.CreateToken(e.ctx, "b", []string{"team:tiefbau"}, 0, "")
	c := client(t)
	r := do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {a}}, nil)
	if len(r.Cookies()) != 1 {
		t.Fatal("first sign-in set no cookie")
	}
	first := r.Cookies()[0]
	do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {b}}, nil)
	if s := e.session(t, c); !s.SignedIn || s.User.Subject != "b" {
		t.Fatalf("second sign-in: %+v", s)
	}
	old := client(t)
	u, _ := url.Parse(e.srv.URL)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: first.Name, Value: first.Value, Path: "/"}})
	if s := e.session(t, old); s.SignedIn {
		t.Errorf("the first session is still valid after signing in again: %+v", s)
	}
}

// A group or token that maps only to a team the rules no longer have
// gives no console role: the user is told so, instead of an empty console.
func TestRoleOfAVanishedTeamIsNoRole(t *testing.T) {
	e := newEnv(t, console.Config{})
	gone, _ := e.svc.CreateToken(e.ctx, "gone", []string{"team:abgeschafft"}, 0, "")
	r := do(t, client(t), "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {gone}}, nil)
	if len(r.Cookies()) != 0 || !strings.Contains(r.Header.Get("Location"), "error=norole") {
		t.Errorf("token of a vanished team: %s, cookies %v; want error=norole", r.Header.Get("Location"), r.Cookies())
	}
	mixed, _ := e.svc.CreateToken(e.ctx, "mixed", []string{"team:abgeschafft", "team:tiefbau"}, 0, "")
	c := client(t)
	do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {mixed}}, nil)
	if s := e.session(t, c); !s.SignedIn || len(s.User.Roles) != 1 || s.User.Roles[0] != "team:tiefbau" {
		t.Errorf("token of a vanished and a live team: %+v; want team:tiefbau only", s)
	}
}

// The page learns the town's zone, in which it shows every time.
func TestSessionInfoNamesTheTownsZone(t *testing.T) {
	for cfg, want := range map[string]string{"": "Europe/Berlin", "Europe/Vienna": "Europe/Vienna"} {
		e := newEnv(t, console.Config{TimeZone: cfg})
		var s struct {
			TimeZone string `json:"time_zone"`
		}
		if err := json.NewDecoder(do(t, client(t), "GET", e.srv.URL+"/console/session", nil, nil).Body).Decode(&s); err != nil || s.TimeZone != want {
			t.Errorf("time_zone %q configured: the page got %q (%v), want %q", cfg, s.TimeZone, err, want)
		}
	}
}

// A console session signed in with an API token ends when the token is
// revoked (a kiosk's token revoked after the kiosk went missing): before,
// it lasted its 12 hours.
func TestRevokingATokenEndsItsConsoleSession(t *testing.T) {
	e := newEnv(t, console.Config{})
	tok, _ := e.svc.CreateToken(e.ctx, "kiosk", []string{dispatch.RoleDispatcher}, 0, "")
	c := client(t)
	do(t, c, "POST", e.srv.URL+"/console/auth/token", url.Values{"token": {tok}}, nil)
	if !e.session(t, c).SignedIn {
		t.Fatal("token sign-in failed")
	}
	if r := do(t, c, "GET", e.srv.URL+"/api/v1/incidents", nil, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("list with the session: %d", r.StatusCode)
	}
	if err := e.svc.RevokeToken(e.ctx, "kiosk"); err != nil {
		t.Fatal(err)
	}
	if s := e.session(t, c); s.SignedIn {
		t.Errorf("the session outlived its revoked token: %+v", s)
	}
	if r := do(t, c, "GET", e.srv.URL+"/api/v1/incidents", nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("list after revoking the token: %d, want 401", r.StatusCode)
	}
}

// The groups the identity provider sends at a sign-in hold for the user's
// other sessions too: removed from the dispatchers' group, a user signing
// in on a second device is no dispatcher on the first one either; with no
// group left, every session of theirs ends.
func TestGroupsChangedAtSignInHoldForOtherSessions(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	oc := idp.Config()
	e := newEnv(t, console.Config{OIDC: console.OIDCConfig{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret,
		Groups: map[string][]string{"leitstelle": {"dispatcher"}, "tiefbau-staff": {"team:tiefbau"}}}})
	user := func(groups ...string) *mockoidc.MockUser {
		return &mockoidc.MockUser{Subject: "u-7", PreferredUsername: "petra@stadt.localhost", Groups: groups}
	}
	signIn := func() *http.Client {
		c := client(t)
		u := e.srv.URL + "/console/auth/oidc"
		for range 5 {
			r := do(t, c, "GET", u, nil, nil)
			loc := r.Header.Get("Location")
			if strings.HasPrefix(loc, "/console/") {
				return c
			}
			if strings.HasPrefix(loc, "/") {
				loc = e.srv.URL + loc
			}
			u = loc
		}
		t.Fatal("sign-in redirect loop")
		return nil
	}
	idp.QueueUser(user("leitstelle", "tiefbau-staff"))
	laptop := signIn()
	if s := e.session(t, laptop); len(s.User.Roles) != 2 {
		t.Fatalf("first sign-in: %+v", s)
	}
	idp.QueueUser(user("tiefbau-staff"))
	phone := signIn()
	for name, c := range map[string]*http.Client{"laptop": laptop, "phone": phone} {
		if s := e.session(t, c); !s.SignedIn || len(s.User.Roles) != 1 || s.User.Roles[0] != "team:tiefbau" {
			t.Errorf("%s after the groups changed: %+v, want team:tiefbau only", name, s)
		}
	}
	idp.QueueUser(user("andere"))
	signIn()
	for name, c := range map[string]*http.Client{"laptop": laptop, "phone": phone} {
		if s := e.session(t, c); s.SignedIn {
			t.Errorf("%s still signed in after a sign-in without any group: %+v", name, s)
		}
	}
}
