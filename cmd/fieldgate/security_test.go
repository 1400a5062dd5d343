package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// The security suite (issue 16): what an attacker with an account on the
// town's XMPP server, or with an API token, tries against a running
// fieldgate on real Prosody, PostgreSQL and MinIO. Every case asserts the
// exact answer and, where the attack must not work, that nothing was
// stored or changed (reports, incident events, S3 objects, the incident).

// secState is what an attack must not change.
type secState struct {
	Reports, Events, Objects, Confirmations int
	State, Owner                            string
}

func (s *stack) secState(caseNo string) secState {
	s.t.Helper()
	st := secState{Reports: s.count("reports"), Events: s.count("incident_events"), Objects: len(s.objects()),
		Confirmations: s.count("incident_confirmations")}
	if caseNo != "" {
		if err := s.query(`SELECT state, coalesce(owner, '') FROM incidents WHERE case_number = $1`, caseNo).Scan(&st.State, &st.Owner); err != nil {
			s.t.Fatalf("incident %s: %v", caseNo, err)
		}
	}
	return st
}

// secToken creates a token with roles and the addresses it may file to.
func (s *stack) secToken(name, roles, addresses string) string {
	s.t.Helper()
	args := []string{"token", "create", "--name", name, "--role", roles}
	if addresses != "" {
		args = append(args, "--address", addresses)
	}
	var out bytes.Buffer
	if err := run(context.Background(), args, s.getenv, &out, testWriter{s.t}); err != nil {
		s.t.Fatalf("token create %s: %v", name, err)
	}
	return strings.TrimSpace(out.String())
}

// httpResult is an answer to one request of the suite.
type httpResult struct {
	Status int
	Header http.Header
	Body   string
	JSON   map[string]any
}

func (s *stack) do(method, path, token, contentType string, body io.Reader, header map[string]string) httpResult {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := httpResult{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

// multipartBody builds a report form; files maps a field name to raw bytes.
func multipartBody(fields map[string]string, files map[string][]byte) (io.Reader, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for k, data := range files {
		fw, _ := w.CreateFormFile(k, "upload.jpg")
		_, _ = fw.Write(data)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func TestSecurity(t *testing.T) {
	// The day team jugendamt shares its room with jugendamt-bereitschaft;
	// here its demo members are replaced by one test account. Its office hours
	// shrink to one minute on holidays, so that the child-welfare address
	// routes to the on-call team (two-person rule) at any test time.
	dayMember := testsvc.User(t)
	dayTeam := "    oncall: jugendamt-bereitschaft\n    policy: urgent\n"
	dayMembers := "    members: [frieda@stadt.localhost, carla@stadt.localhost]\n"
	officeHours := "      - {days: [mon-thu], hours: \"08:00-16:00\"}\n      - {days: [fri], hours: \"08:00-13:00\"}\n"
	rules, suffix := testsvc.DemoRulesWith(t, map[string]string{
		dayTeam + dayMembers: dayTeam + "    members: [" + strings.ToLower(dayMember.JID) + "]\n",
		officeHours:          "      - {days: [holiday], hours: \"00:00-00:01\"}\n",
	})
	s := xmppStack(t, map[string]string{"FIELDGATE_RULES_FILE": rules})
	s.suffix = suffix
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	public := s.secToken("sec-public", "reporter", "")          // default: public addresses only
	scoped := s.secToken("sec-tiefbau", "reporter", "tiefbau")  // may file to tiefbau
	other := s.secToken("sec-other", "reporter", "tiefbau")     // another app
	teamSued := s.secToken("sec-sued", "team:tiefbau-sued", "") // another team's tablet
	teamNord := s.secToken("sec-nord", "team:tiefbau", "")      // the team's tablet
	metrics := s.secToken("sec-metrics", "metrics", "")         // a Prometheus scraper
	disp := s.secToken("sec-disp", "dispatcher", "")            // the dispatchers' console
	revoked := s.secToken("sec-revoked", "reporter", "tiefbau") // revoked below
	if err := run(context.Background(), []string{"token", "revoke", "--name", "sec-revoked"}, s.getenv, io.Discard, testWriter{t}); err != nil {
		t.Fatal(err)
	}

	// The victims: a Tiefbau case with a photo, filed by the scoped app,
	// and a child-welfare case (two-person rule) filed by the dispatchers.
	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Schlagloch"}, map[string][]byte{"photo": photo})
	r := s.do("POST", "/api/v1/reports", scoped, ct, body, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("victim report: %d %s", r.Status, r.Body)
	}
	reportID, caseNo := r.JSON["id"].(string), r.JSON["case_number"].(string)
	body, ct = multipartBody(map[string]string{"to": "jugendamt-bereitschaft", "text": "Kind allein", "lat": "51.0251", "lon": "7.5921"}, nil)
	r = s.do("POST", "/api/v1/reports", disp, ct, body, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("child-welfare report: %d %s", r.Status, r.Body)
	}
	jaCase := r.JSON["case_number"].(string)
	s.waitRouted(caseNo)
	s.waitRouted(jaCase)
	// On a holiday just after midnight the address still routes to the
	// day team: the suite needs the on-call team's case.
	var jaTeam string
	if err := s.query(`SELECT team FROM incidents WHERE case_number = $1`, jaCase).Scan(&jaTeam); err != nil {
		t.Fatal(err)
	}
	if jaTeam != "jugendamt-bereitschaft" {
		r = s.do("POST", "/api/v1/incidents/"+jaCase+"/reassign", disp, "application/json", strings.NewReader(`{"team":"jugendamt-bereitschaft","reason":"Test"}`), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("reassign the child-welfare case to the on-call team: %d %s", r.Status, r.Body)
		}
	}

	s.settle(caseNo, jaCase)
	missingCase := strings.SplitN(caseNo, "-", 2)[0] + "-999999"
	notFound := func(r httpResult) string {
		if r.Status != 404 || r.JSON["detail"] != "incident not found" {
			return fmt.Sprintf("want 404 \"incident not found\", got %d %s", r.Status, r.Body)
		}
		return ""
	}
	problem := func(status int, typ, detail string) func(httpResult) string {
		return func(r httpResult) string {
			if r.Status != status || r.JSON["type"] != "urn:fieldgate:problem:"+typ || !strings.Contains(fmt.Sprint(r.JSON["detail"]), detail) ||
				!strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
				return fmt.Sprintf("want %d %s %q, got %d %s", status, typ, detail, r.Status, r.Body)
			}
			return ""
		}
	}
	form := func(fields map[string]string, files map[string][]byte) func() (io.Reader, string) {
		return func() (io.Reader, string) { return multipartBody(fields, files) }
	}
	raw := func(ct, body string) func() (io.Reader, string) {
		return func() (io.Reader, string) { return strings.NewReader(body), ct }
	}
	tiefbau := func(text string) map[string]string { return map[string]string{"to": "tiefbau", "text": text} }

	httpCases := []struct {
		name          string
		method, path  string
		token         string
		body          func() (io.Reader, string)
		header        map[string]string
		check         func(httpResult) string
		mayChange     bool   // the request is allowed to store something
		sameAsMissing string // the body must equal the answer for this path (with the same token)
	}{
		// Token abuse.
		{name: "no token", method: "GET", path: "/api/v1/incidents/" + caseNo, check: problem(401, "unauthorized", "Authorization: Bearer")},
		{name: "basic auth", method: "GET", path: "/api/v1/incidents/" + caseNo, header: map[string]string{"Authorization": "Basic YTpi"}, check: problem(401, "unauthorized", "Bearer")},
		{name: "forged token", method: "GET", path: "/api/v1/incidents/" + caseNo, token: "fg_" + strings.Repeat("A", 43), check: problem(401, "unauthorized", "invalid, expired or revoked")},
		{name: "revoked token files", method: "POST", path: "/api/v1/reports", token: revoked, body: form(tiefbau("x"), nil), check: problem(401, "unauthorized", "revoked")},
		{name: "public-only token files to a restricted address", method: "POST", path: "/api/v1/reports", token: public, body: form(tiefbau("x"), nil), check: problem(403, "address-not-allowed", `"tiefbau"`)},
		{name: "public-only token pages the child-welfare on-call", method: "POST", path: "/api/v1/reports", token: public,
			body: form(map[string]string{"to": "jugendamt-bereitschaft", "text": "Test", "urgent": "true"}, nil), check: problem(403, "address-not-allowed", "jugendamt-bereitschaft")},
		{name: "tiefbau token files to the child-welfare address", method: "POST", path: "/api/v1/reports", token: scoped,
			body: form(map[string]string{"to": "jugendamt-bereitschaft", "text": "Test"}, map[string][]byte{"photo": photo}), check: problem(403, "address-not-allowed", "jugendamt-bereitschaft")},
		{name: "team token files a report", method: "POST", path: "/api/v1/reports", token: teamNord, body: form(tiefbau("x"), nil), check: problem(403, "forbidden", "reporter")},
		{name: "metrics token files a report", method: "POST", path: "/api/v1/reports", token: metrics, body: form(tiefbau("x"), nil), check: problem(403, "forbidden", "reporter")},
		{name: "public-only token files to a public address", method: "POST", path: "/api/v1/reports", token: public,
			body: form(map[string]string{"to": "info", "text": "Laterne defekt"}, nil), mayChange: true,
			check: func(r httpResult) string {
				if r.Status != http.StatusAccepted || r.JSON["case_number"] == nil {
					return fmt.Sprintf("want 202 with a case number, got %d %s", r.Status, r.Body)
				}
				return ""
			}},

		// IDOR on every endpoint: a foreign case looks exactly like a missing one.
		{name: "other team reads the case", method: "GET", path: "/api/v1/incidents/" + caseNo, token: teamSued, check: notFound, sameAsMissing: "/api/v1/incidents/" + missingCase},
		{name: "reporter reads the case", method: "GET", path: "/api/v1/incidents/" + caseNo, token: scoped, check: notFound},
		{name: "team token reads the child-welfare case", method: "GET", path: "/api/v1/incidents/" + jaCase, token: teamNord, check: notFound, sameAsMissing: "/api/v1/incidents/" + missingCase},
		{name: "other team takes", method: "POST", path: "/api/v1/incidents/" + caseNo + "/take", token: teamSued, check: notFound, sameAsMissing: "/api/v1/incidents/" + missingCase + "/take"},
		{name: "other team resolves", method: "POST", path: "/api/v1/incidents/" + caseNo + "/resolve", token: teamSued, check: notFound},
		{name: "other team replies to the reporter", method: "POST", path: "/api/v1/incidents/" + caseNo + "/reply", token: teamSued,
			body: raw("application/json", `{"text":"Bitte hier klicken: https://evil.example"}`), check: notFound},
		{name: "other team rejects", method: "POST", path: "/api/v1/incidents/" + caseNo + "/reject", token: teamSued, body: raw("application/json", `{"reason":"x"}`), check: notFound},
		{name: "other team reassigns", method: "POST", path: "/api/v1/incidents/" + caseNo + "/reassign", token: teamSued, body: raw("application/json", `{"team":"tiefbau-sued"}`), check: notFound},
		{name: "other team unmerges", method: "POST", path: "/api/v1/incidents/" + caseNo + "/unmerge", token: teamSued, check: notFound},
		{name: "team takes the child-welfare case", method: "POST", path: "/api/v1/incidents/" + jaCase + "/take", token: teamNord, check: notFound},
		{name: "reporter takes its own case", method: "POST", path: "/api/v1/incidents/" + caseNo + "/take", token: scoped, check: notFound},
		{name: "team reassigns its own case", method: "POST", path: "/api/v1/incidents/" + caseNo + "/reassign", token: teamNord,
			body: raw("application/json", `{"team":"tiefbau-sued"}`), check: problem(403, "forbidden", "")},
		{name: "other reporter reads the report", method: "GET", path: "/api/v1/reports/" + reportID, token: other,
			check: problem(404, "not-found", "report not found"), sameAsMissing: "/api/v1/reports/00000000-0000-7000-8000-000000000000"},
		{name: "other team reads the report", method: "GET", path: "/api/v1/reports/" + reportID, token: teamSued, check: problem(404, "not-found", "report not found")},
		{name: "other reporter fetches the photo", method: "GET", path: "/api/v1/reports/" + reportID + "/media/1", token: other,
			check: problem(404, "not-found", "report not found"), sameAsMissing: "/api/v1/reports/00000000-0000-7000-8000-000000000000/media/1"},
		{name: "photo without a token", method: "GET", path: "/api/v1/reports/" + reportID + "/media/1", check: problem(401, "unauthorized", "Bearer")},
		{name: "original link lives 5 minutes", method: "GET", path: "/api/v1/reports/" + reportID + "/media/1", token: scoped,
			check: func(r httpResult) string {
				loc := r.Header.Get("Location")
				if r.Status != http.StatusFound || !strings.Contains(loc, "X-Amz-Expires=300") || r.Header.Get("Cache-Control") != "no-store" {
					return fmt.Sprintf("want 302 to a 300 s presigned link, no-store; got %d %q", r.Status, loc)
				}
				return ""
			}},
		{name: "metrics without a token", method: "GET", path: "/metrics", check: problem(401, "unauthorized", "metrics")},
		{name: "metrics with a reporter token", method: "GET", path: "/metrics", token: scoped, check: problem(403, "forbidden", "metrics")},
		{name: "metrics with a metrics token", method: "GET", path: "/metrics", token: metrics,
			check: func(r httpResult) string {
				if r.Status != 200 || !strings.Contains(r.Body, "fieldgate_rules_info") {
					return fmt.Sprintf("want 200 with metrics, got %d", r.Status)
				}
				return ""
			}},
		{name: "readyz shows no paths to strangers", method: "GET", path: "/readyz",
			check: func(r httpResult) string {
				if r.Status != 200 || strings.Contains(r.Body, "/") && strings.Contains(r.Body, s.env["FIELDGATE_RULES_FILE"]) || strings.Contains(r.Body, "conference") {
					return fmt.Sprintf("readyz leaks: %d %s", r.Status, r.Body)
				}
				return ""
			}},

		// Multipart abuse.
		{name: "NUL byte in text", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("Schlag\x00loch"), nil), check: problem(400, "invalid-text", `"text": NUL byte at offset 6`)},
		{name: "invalid UTF-8 in text", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("Stra\xdfe"), nil), check: problem(400, "invalid-text", `"text": invalid UTF-8 at offset 4`)},
		{name: "invalid UTF-8 in the address", method: "POST", path: "/api/v1/reports", token: scoped, body: form(map[string]string{"to": "tief\xffbau", "text": "x"}, nil), check: problem(400, "invalid-text", `"to"`)},
		{name: "invalid UTF-8 idempotency key", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("x"), nil),
			header: map[string]string{"Idempotency-Key": "k\xfe"}, check: problem(400, "invalid-text", "Idempotency-Key")},
		{name: "photo after a NUL text keeps nothing", method: "POST", path: "/api/v1/reports", token: scoped,
			body: func() (io.Reader, string) {
				var b bytes.Buffer
				w := multipart.NewWriter(&b)
				fw, _ := w.CreateFormFile("photo", "a.jpg")
				_, _ = fw.Write(photo)
				_ = w.WriteField("to", "tiefbau")
				_ = w.WriteField("text", "\x00")
				w.Close()
				return &b, w.FormDataContentType()
			}, check: problem(400, "invalid-text", "NUL")},
		{name: "unknown form field", method: "POST", path: "/api/v1/reports", token: scoped, body: form(map[string]string{"to": "tiefbau", "sender": "dora"}, nil), check: problem(400, "invalid", `unknown form field "sender"`)},
		{name: "not multipart", method: "POST", path: "/api/v1/reports", token: scoped, body: raw("application/json", `{"to":"tiefbau"}`), check: problem(415, "content-type", "multipart/form-data")},
		{name: "broken multipart", method: "POST", path: "/api/v1/reports", token: scoped, body: raw("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\ntiefbau\r\n--xy"), check: problem(400, "multipart", "malformed multipart")},
		{name: "oversized form field", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau(strings.Repeat("a", 70<<10)), nil), check: problem(400, "multipart", "larger than 65536 bytes")},
		{name: "body over the limit", method: "POST", path: "/api/v1/reports", token: scoped,
			body: form(map[string]string{"to": "tiefbau"}, map[string][]byte{"photo": append(append([]byte{}, photo...), make([]byte, 2_100_000)...)}), check: problem(413, "body-too-large", "limit")},

		// Hostile files.
		{name: "executable as photo", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("x"), map[string][]byte{"photo": append([]byte("MZ\x90\x00"), make([]byte, 600)...)}), check: problem(415, "attachment-type", "not allowed")},
		{name: "HTML as photo", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("x"), map[string][]byte{"photo": []byte("<html><script>alert(1)</script></html>")}), check: problem(415, "attachment-type", "not allowed")},
		{name: "empty photo", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("x"), map[string][]byte{"photo": {}}), check: problem(415, "attachment-type", "empty")},

		// Hostile Accept-Language (review, issue 20): precise problems in a
		// catalogue language, English unless German is preferred; a header
		// of 100,000 entries is read only as far as its first entries.
		{name: "Accept-Language wildcard", method: "GET", path: "/api/v1/incidents/" + caseNo, token: teamSued,
			header: map[string]string{"Accept-Language": "*"}, check: notFound},
		{name: "Accept-Language refusing everything", method: "GET", path: "/api/v1/incidents/" + caseNo, token: teamSued,
			header: map[string]string{"Accept-Language": "de;q=0, en;q=0"}, check: notFound},
		{name: "Accept-Language with odd weights", method: "GET", path: "/api/v1/incidents/" + caseNo, token: teamSued,
			header: map[string]string{"Accept-Language": "de;q=-1, xx;q=2, en;q=1.5"}, check: notFound},
		{name: "Accept-Language of 100000 entries", method: "GET", path: "/api/v1/incidents/" + caseNo,
			header: map[string]string{"Accept-Language": "de, " + strings.Repeat("en;q=0.1, ", 90_000) + "en"}, check: problem(401, "unauthorized", "Bitte „Authorization: Bearer")},
		{name: "Accept-Language of 100000 entries on a report", method: "POST", path: "/api/v1/reports", token: scoped, body: form(tiefbau("Stra\xdfe"), nil),
			header: map[string]string{"Accept-Language": strings.Repeat("xx;q=0.9, ", 90_000) + "de"}, check: problem(400, "invalid-text", "invalid UTF-8")},
	}
	for _, c := range httpCases {
		t.Run("http/"+c.name, func(t *testing.T) {
			before := s.secState(caseNo)
			jaBefore := s.secState(jaCase)
			var body io.Reader
			ct := ""
			if c.body != nil {
				body, ct = c.body()
			}
			r := s.do(c.method, c.path, c.token, ct, body, c.header)
			if msg := c.check(r); msg != "" {
				t.Error(msg)
			}
			if c.sameAsMissing != "" {
				m := s.do(c.method, c.sameAsMissing, c.token, "", nil, nil)
				if m.Status != r.Status || m.Body != r.Body {
					t.Errorf("foreign and missing differ:\n  %d %s\n  %d %s", r.Status, r.Body, m.Status, m.Body)
				}
			}
			if c.mayChange {
				s.settle(caseNo, jaCase) // its routing and post finish before the next case
				return
			}
			if after := s.secState(caseNo); after != before {
				t.Errorf("state changed: %+v → %+v", before, after)
			}
			if after := s.secState(jaCase); after != jaBefore {
				t.Errorf("child-welfare case changed: %+v → %+v", jaBefore, after)
			}
		})
	}

	t.Run("xmpp", func(t *testing.T) { s.xmppSecurity(t, caseNo, jaCase, dayMember) })
	t.Run("slow uploads do not stall others", func(t *testing.T) { s.slowUploads(t, scoped, other, photo) })
}

// settle waits until the cases' posts and events are done: nothing
// changes for two seconds.
func (s *stack) settle(cases ...string) {
	s.t.Helper()
	snap := func() string {
		out := ""
		for _, c := range cases {
			out += fmt.Sprintf("%+v", s.secState(c))
		}
		return out
	}
	last, since := snap(), time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		if now := snap(); now != last {
			last, since = now, time.Now()
		} else if time.Since(since) > 2*time.Second {
			return
		}
	}
	s.t.Fatal("the cases did not settle within 30s")
}

// waitRouted waits until a case has left "received".
func (s *stack) waitRouted(caseNo string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		_ = s.query(`SELECT state FROM incidents WHERE case_number = $1`, caseNo).Scan(&state)
		if state != "" && state != "received" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not routed within 30s (state %q)", caseNo, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// xmppSecurity runs the XMPP cases. jaCase belongs to jugendamt-bereitschaft
// (two-person rule, member carla), dayMember is a member of jugendamt, the
// team that shares its room.
func (s *stack) xmppSecurity(t *testing.T, caseNo, jaCase string, dayMember testsvc.Account) {
	tiefbau, jugendamt := testsvc.Room("tiefbau", s.suffix), testsvc.Room("jugendamt", s.suffix)
	stranger1 := testsvc.Login(t, testsvc.User(t))
	stranger2 := testsvc.Login(t, testsvc.User(t))
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	dora := testsvc.Login(t, testsvc.DemoUser("dora"))
	ref := func(c string) string { return shortRef(c) }
	to := s.address("tiefbau")
	unchanged := func(t *testing.T, caseNo string, before secState) {
		t.Helper()
		if after := s.secState(caseNo); after != before {
			t.Errorf("state changed: %+v → %+v", before, after)
		}
	}
	iq := func(c *testsvc.Client, raw, id string) testsvc.Stanza {
		c.SendRaw(raw)
		return c.WaitStanza(20*time.Second, "the answer to iq "+id, func(st testsvc.Stanza) bool { return st.Name == "iq" && st.ID == id })
	}

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"stranger cannot enter the team room", func(t *testing.T) {
			if got := stranger1.JoinRoomResult(tiefbau, "neugierig", 20*time.Second); got != "registration-required" {
				t.Errorf("join = %q, want registration-required", got)
			}
		}},
		{"stranger cannot enter the child-welfare room", func(t *testing.T) {
			if got := stranger2.JoinRoomResult(jugendamt, "neugierig2", 20*time.Second); got != "registration-required" {
				t.Errorf("join = %q, want registration-required", got)
			}
		}},
		{"a member of another team cannot enter the child-welfare room", func(t *testing.T) {
			if got := anna.JoinRoomResult(jugendamt, "anna-ja", 20*time.Second); got != "registration-required" {
				t.Errorf("join = %q, want registration-required", got)
			}
		}},
		{"the bot's nick cannot be squatted", func(t *testing.T) {
			if got := anna.JoinRoomResult(tiefbau, s.nick, 20*time.Second); got != "conflict" {
				t.Errorf("join as %s = %q, want conflict", s.nick, got)
			}
		}},
		{"a member enters the team room", func(t *testing.T) {
			if got := anna.JoinRoomResult(tiefbau, "anna-"+s.suffix, 20*time.Second); got != "" {
				t.Errorf("join = %q, want success", got)
			}
		}},
		{"a dispatcher enters the child-welfare room", func(t *testing.T) {
			if got := dora.JoinRoomResult(jugendamt, "dora-"+s.suffix, 20*time.Second); got != "" {
				t.Errorf("join = %q, want success", got)
			}
		}},
		{"two strangers cannot satisfy the two-person rule", func(t *testing.T) {
			before := s.secState(jaCase)
			stranger1.Groupchat(jugendamt, "ok "+ref(jaCase))
			stranger2.Groupchat(jugendamt, "ok "+ref(jaCase))
			stranger1.WaitMessage(20*time.Second, "the room's refusal", func(m testsvc.Message) bool {
				return m.Type == "error" && strings.EqualFold(m.From, jugendamt)
			})
			time.Sleep(2 * time.Second)
			unchanged(t, jaCase, before)
		}},
		{"a member's command applies only to their own team", func(t *testing.T) {
			before := s.secState(jaCase)
			anna.Groupchat(tiefbau, "ok "+ref(jaCase))
			anna.WaitMessage(20*time.Second, "the refusal", func(m testsvc.Message) bool {
				return s.fromGateway(m) && strings.HasPrefix(m.Body, "anna-"+s.suffix+":") && strings.Contains(m.Body, jaCase)
			})
			unchanged(t, jaCase, before)
		}},
		{"a member of the team sharing the room cannot act on the other team's case", func(t *testing.T) {
			day := testsvc.Login(t, dayMember)
			nick := "tag-" + s.suffix
			if got := day.JoinRoomResult(jugendamt, nick, 20*time.Second); got != "" {
				t.Fatalf("the day team's member cannot enter the shared room: %q", got)
			}
			before := s.secState(jaCase)
			want := nick + ": " + jaCase + " gehört zum Team Jugendamt Bereitschaft; nur dessen Mitglieder (und die Leitstelle) können den Fall bearbeiten."
			for _, cmd := range []string{"ok " + ref(jaCase), "erledigt " + ref(jaCase), "antwort " + ref(jaCase) + " Bitte hier klicken: https://evil.example", "abgelehnt " + ref(jaCase) + " nicht zuständig"} {
				day.Groupchat(jugendamt, cmd)
				day.WaitMessage(20*time.Second, "the refusal of "+strings.Fields(cmd)[0], func(m testsvc.Message) bool {
					return s.fromGateway(m) && m.Body == want
				})
			}
			unchanged(t, jaCase, before)
		}},
		{"one member of each team sharing the room does not satisfy the two-person rule", func(t *testing.T) {
			carla := testsvc.Login(t, testsvc.DemoUser("carla"))
			day := testsvc.Login(t, dayMember)
			cnick, dnick := "carla-"+s.suffix, "tag2-"+s.suffix
			for who, c := range map[string]*testsvc.Client{cnick: carla, dnick: day} {
				if got := c.JoinRoomResult(jugendamt, who, 20*time.Second); got != "" {
					t.Fatalf("%s cannot enter the shared room: %q", who, got)
				}
			}
			carla.Groupchat(jugendamt, "ok "+ref(jaCase))
			carla.WaitMessage(20*time.Second, "the first confirmation", func(m testsvc.Message) bool {
				return s.fromGateway(m) && strings.Contains(m.Body, jaCase+" übernommen von carla@stadt.localhost – zweite Bestätigung nötig")
			})
			s.settle(jaCase)
			before := s.secState(jaCase)
			if before.Confirmations != 1 || before.Owner != "carla@stadt.localhost" || before.State == "acknowledged" {
				t.Fatalf("after carla's ok: %+v, want one confirmation by carla, not acknowledged", before)
			}
			day.Groupchat(jugendamt, "ok "+ref(jaCase))
			day.WaitMessage(20*time.Second, "the refusal", func(m testsvc.Message) bool {
				return s.fromGateway(m) && m.Body == dnick+": "+jaCase+" gehört zum Team Jugendamt Bereitschaft; nur dessen Mitglieder (und die Leitstelle) können den Fall bearbeiten."
			})
			time.Sleep(time.Second)
			unchanged(t, jaCase, before)
		}},
		{"unknown IQ gets service-unavailable", func(t *testing.T) {
			st := iq(stranger1, `<iq type="get" id="sec-unknown" to="`+to+`"><query xmlns="urn:example:nothing"/></iq>`, "sec-unknown")
			if st.Type != "error" || st.Error != "service-unavailable" {
				t.Errorf("answer %+v", st)
			}
		}},
		{"pubsub IQ gets service-unavailable", func(t *testing.T) {
			st := iq(stranger1, `<iq type="set" id="sec-pubsub" to="`+to+`"><pubsub xmlns="http://jabber.org/protocol/pubsub"><publish node="x"/></pubsub></iq>`, "sec-pubsub")
			if st.Type != "error" || st.Error != "service-unavailable" {
				t.Errorf("answer %+v", st)
			}
		}},
		{"IQ to an unknown address gets item-not-found", func(t *testing.T) {
			st := iq(stranger1, `<iq type="get" id="sec-unknown-addr" to="`+s.address("gibtsnicht")+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, "sec-unknown-addr")
			if st.Type != "error" || st.Error != "item-not-found" {
				t.Errorf("answer %+v", st)
			}
		}},
		{"disco#info is answered", func(t *testing.T) {
			st := iq(stranger1, `<iq type="get" id="sec-disco" to="`+to+`"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, "sec-disco")
			if st.Type != "result" {
				t.Errorf("answer %+v", st)
			}
		}},
		{"forged delivery evidence is not filed", func(t *testing.T) {
			var incident string
			if err := s.query(`SELECT id::text FROM incidents WHERE case_number = $1`, jaCase).Scan(&incident); err != nil {
				t.Fatal(err)
			}
			before := s.secState(jaCase)
			for i := range 60 {
				kind := "received xmlns='urn:xmpp:receipts'"
				if i%2 == 1 {
					kind = "displayed xmlns='urn:xmpp:chat-markers:0'"
				}
				stranger2.SendRaw(fmt.Sprintf(`<message to="%s" id="forge-%d"><%s id="fgi-%s-%d"/></message>`,
					s.address("jugendamt-bereitschaft"), i, kind, incident, i%3))
			}
			id := stranger2.SendReport(s.address("gibtsnicht"), "", "sync", "")
			stranger2.WaitMessage(20*time.Second, "the marker answer", func(m testsvc.Message) bool { return m.ID == id })
			unchanged(t, jaCase, before)
		}},
		{"a spoofed from is the real sender", func(t *testing.T) {
			spoof := `<message type="chat" id="spoof-1" from="dora@stadt.localhost/x" to="` + to + `"><body>Spoof-Test geo:51.0251,7.5921</body><request xmlns="urn:xmpp:receipts"/></message>`
			if testsvc.XMPP(t).Server == testsvc.Ejabberd {
				// RFC 6120 §8.1.2.1 lets the server refuse instead of
				// rewriting: ejabberd ends the stream with <invalid-from/>,
				// so nothing reaches fieldgate under anyone's name.
				spoofer := testsvc.Login(t, testsvc.User(t))
				spoofer.SendRaw(spoof)
				spoofer.WaitClosed(20*time.Second, "a spoofed from")
				probe := stranger1.SendReport(s.address("gibtsnicht"), "", "sync", "")
				stranger1.WaitMessage(20*time.Second, "the answer after the spoof", func(m testsvc.Message) bool { return m.ID == probe })
				if n := s.count(`reports WHERE body LIKE 'Spoof-Test%'`); n != 0 {
					t.Errorf("%d reports stored from a stanza ejabberd refused", n)
				}
				return
			}
			// Prosody rewrites the from to the sender's own JID.
			stranger1.SendRaw(spoof)
			stranger1.WaitMessage(20*time.Second, "the receipt", func(m testsvc.Message) bool { return m.Received != nil && m.Received.ID == "spoof-1" })
			var sender string
			if err := s.query(`SELECT sender FROM reports WHERE body LIKE 'Spoof-Test%'`).Scan(&sender); err != nil {
				t.Fatal(err)
			}
			if sender != strings.ToLower(stranger1.JID.Bare().String()) {
				t.Errorf("stored sender %q, want %s", sender, stranger1.JID.Bare())
			}
		}},
		{"an oversized stanza stores nothing", func(t *testing.T) {
			big := testsvc.Login(t, testsvc.User(t))
			before := s.secState(caseNo)
			_ = big.TrySendRaw(`<message type="chat" id="big-1" to="` + to + `"><body>` + strings.Repeat("A", 600<<10) + `</body></message>`)
			time.Sleep(3 * time.Second)
			after := s.secState(caseNo)
			if after.Reports != before.Reports || after.Objects != before.Objects {
				t.Errorf("an oversized stanza was stored: %+v → %+v", before, after)
			}
		}},
		{"a stranger who knocks the bot out of its room delays posting only briefly", func(t *testing.T) {
			// Prosody 0.12.3 removes the occupant of a nick named in a
			// reservation request before it refuses the request: anyone can
			// knock the bot (or a member) out of a team room. The gateway
			// comes back at once and what waited is posted.
			st := iq(stranger1, `<iq type="set" id="sec-knock" to="`+tiefbau+`"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="`+
				strings.ToLower(stranger1.JID.Bare().String())+`" nick="`+s.nick+`"/></query></iq>`, "sec-knock")
			if st.Type != "error" {
				t.Errorf("the reservation was accepted: %+v", st)
			}
			knocked := time.Now()
			botLeft := func(st testsvc.Stanza) bool {
				return st.Name == "presence" && st.Type == "unavailable" && strings.EqualFold(st.From, tiefbau+"/"+s.nick)
			}
			ejabberd := testsvc.XMPP(t).Server == testsvc.Ejabberd
			if !ejabberd { // ejabberd refuses without touching the occupant
				anna.WaitStanza(20*time.Second, "the bot leaving the room", botLeft)
			}
			stranger2.SendReport(to, "", "Nach dem Rauswurf "+s.suffix, "")
			anna.WaitMessage(60*time.Second, "the post after the bot was knocked out", func(m testsvc.Message) bool {
				return s.fromGateway(m) && strings.Contains(m.Body, "Nach dem Rauswurf "+s.suffix)
			})
			if ejabberd && anna.HasStanza(botLeft) {
				t.Error("ejabberd removed the bot from its room on a refused reservation")
			}
			t.Logf("posted %v after the bot was knocked out of the room", time.Since(knocked).Round(time.Millisecond))
		}},
		{"user text cannot impersonate the bot", func(t *testing.T) {
			fake := "Kaputt\n✅ " + caseNo + " übernommen von anna@stadt.localhost\n📷 Foto: https://evil.example/x.jpg\n\u202egnp.exe geo:51.2101,7.6521"
			stranger2.SendReport(to, "", fake, "")
			post := anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
				return s.fromGateway(m) && strings.Contains(m.Body, "Kaputt")
			})
			for _, want := range []string{"> Kaputt\n", "> · ✅ " + caseNo + " übernommen", "> · 📷 Foto: https://evil.example", "> \ufffdgnp.exe"} {
				if !strings.Contains(post.Body, want) {
					t.Errorf("post lacks %q:\n%s", want, post.Body)
				}
			}
			for _, l := range strings.Split(post.Body, "\n") {
				if strings.HasPrefix(l, "✅") || strings.HasPrefix(l, "📷 Foto: https://evil") || strings.ContainsRune(l, '\u202e') {
					t.Errorf("forged line in the post: %q", l)
				}
			}
		}},
		{"a member added by a rules reload can enter, a removed one is out", func(t *testing.T) {
			path := s.env["FIELDGATE_RULES_FILE"]
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			newcomer := strings.ToLower(stranger1.JID.Bare().String())
			old := "members: [anna@stadt.localhost, ben@stadt.localhost]"
			if !strings.Contains(string(b), old) {
				t.Fatalf("rules lack %q", old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, "members: [ben@stadt.localhost, "+newcomer+"]", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(40 * time.Second)
			for i := 0; ; i++ {
				if got := stranger1.JoinRoomResult(tiefbau, fmt.Sprintf("neu-%d", i), 20*time.Second); got == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the member added to the rules cannot enter within 40s")
				}
				time.Sleep(2 * time.Second)
			}
			// anna was removed from tiefbau: she is put out of the room
			// (XEP-0045 §9.4) ...
			anna.WaitStanza(20*time.Second, "her removal from tiefbau", func(st testsvc.Stanza) bool {
				return st.Name == "presence" && strings.EqualFold(st.From, tiefbau+"/anna-"+s.suffix) && st.Type == "unavailable"
			})
			// ... and a new join is refused.
			other := testsvc.Login(t, testsvc.DemoUser("anna"))
			got := other.JoinRoomResult(tiefbau, "anna-again", 20*time.Second)
			if got != "registration-required" {
				t.Errorf("removed member joins: %q, want registration-required", got)
			}
		}},
	}
	// SSRF URL variants: none is fetched, the text keeps them, S3 gets nothing.
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/iam/",
		"http://127.0.0.1:" + strings.Split(s.base, ":")[2] + "/metrics",
		"http://[::1]/x.jpg",
		"http://0x7f000001/x.jpg",
		"file:///etc/passwd",
		"gopher://127.0.0.1:25/x",
		"http://user:pw@" + testsvc.XMPP(t).HTTP + "/x.jpg",
	} {
		cases = append(cases, struct {
			name string
			run  func(t *testing.T)
		}{"ssrf " + u, func(t *testing.T) {
			before := len(s.objects())
			id := stranger1.SendReport(to, "", "Bild "+u, u)
			stranger1.WaitMessage(20*time.Second, "the receipt", func(m testsvc.Message) bool { return m.Received != nil && m.Received.ID == id })
			if after := len(s.objects()); after != before {
				t.Errorf("%s was fetched: %d → %d objects", u, before, after)
			}
		}})
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// slowUploads opens 8 uploads from one token that send a photo's first
// bytes and stall, then files another client's photo report: it is
// accepted and posted while the slow ones hold at most their token's
// slots, and the slow ones are cut off with 408, storing nothing.
func (s *stack) slowUploads(t *testing.T, slowToken, otherToken string, photo []byte) {
	room := testsvc.Room("tiefbau", s.suffix)
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	if got := ben.JoinRoomResult(room, "ben-"+s.suffix, 20*time.Second); got != "" {
		t.Fatalf("ben cannot join: %s", got)
	}
	originalsBefore := s.originals()
	addr := strings.TrimPrefix(s.base, "http://")
	var wg sync.WaitGroup
	statuses := make([]string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			defer conn.Close()
			head := "--b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\ntiefbau\r\n--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff"
			// Under http.max_body_bytes (2000000 in these tests): a larger declared length gets 413 before the body is read.
			fmt.Fprintf(conn, "POST /api/v1/reports HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1900000\r\n\r\n%s", addr, slowToken, head)
			_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			line, _ := bufioLine(conn)
			statuses[i] = line
		}()
	}
	time.Sleep(time.Second) // the slow ones are in
	start := time.Now()
	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Während andere trödeln", "lat": "51.0301", "lon": "7.5999"}, map[string][]byte{"photo": photo})
	r := s.do("POST", "/api/v1/reports", otherToken, ct, body, nil)
	accepted := time.Since(start)
	if r.Status != http.StatusAccepted {
		t.Fatalf("the other client's photo report: %d %s", r.Status, r.Body)
	}
	caseNo := r.JSON["case_number"].(string)
	ben.WaitMessage(60*time.Second, "the other client's post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	t.Logf("with 8 stalled uploads of one token open: accepted in %v, posted in %v", accepted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	wg.Wait()
	for i, st := range statuses {
		if !strings.HasPrefix(st, "HTTP/1.1 408") {
			t.Errorf("stalled upload %d: %q, want 408", i, st)
		}
	}
	// Only the other client's original was added, nothing of the stalled ones.
	if n := s.originals() - originalsBefore; n != 1 {
		t.Errorf("%d originals added, want 1 (the other client's photo)", n)
	}
}

// bufioLine reads the status line of a raw HTTP answer.
func bufioLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 200 {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		if err != nil {
			return strings.TrimSpace(string(b)), err
		}
	}
	return strings.TrimSpace(string(b)), nil
}

// originals counts the stored originals (not team copies).
func (s *stack) originals() int {
	n := 0
	for _, k := range s.objects() {
		if strings.HasPrefix(k, "orig/") {
			n++
		}
	}
	return n
}
