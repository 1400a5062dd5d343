package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

// Tokens of the handler tests (secret → roles).
const (
	secretApp        = "fg_app"        // reporter "app"
	secretOtherApp   = "fg_other"      // reporter "other"
	secretTiefbau    = "fg_tiefbau"    // team:tiefbau
	secretGruen      = "fg_gruen"      // team:gruenflaechen
	secretDispatcher = "fg_dispatcher" // dispatcher
)

func (s *testServer) addTokens() {
	s.domain.tokens[secretApp] = dispatch.Token{Name: "app", Roles: []string{dispatch.RoleReporter}, Addresses: []string{"tiefbau"}}
	s.domain.tokens[secretOtherApp] = dispatch.Token{Name: "other", Roles: []string{dispatch.RoleReporter}, Addresses: []string{"tiefbau"}}
	s.domain.tokens[secretTiefbau] = dispatch.Token{Name: "tiefbau-tablet", Roles: []string{"team:tiefbau"}}
	s.domain.tokens[secretGruen] = dispatch.Token{Name: "gruen-tablet", Roles: []string{"team:gruenflaechen"}}
	s.domain.tokens[secretDispatcher] = dispatch.Token{Name: "leitstelle", Roles: []string{dispatch.RoleDispatcher}}
}

// do sends a request and returns the recorded response.
func (s *testServer) do(method, path, secret string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, req)
	return w
}

// multipartBody encodes fields and files (name → content) as a form.
func multipartBody(t *testing.T, fields [][2]string, files [][2]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f[0], "photo.jpg")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// checkProblem asserts an RFC 9457 problem+json answer.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int, slug, detail string) Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body.String(), err)
	}
	if p.Status != status || p.Type != problemType(slug) || p.Title == "" || !strings.Contains(p.Detail, detail) {
		t.Errorf("problem %+v, want status %d type %s detail containing %q", p, status, problemType(slug), detail)
	}
	return p
}

func TestAuthentication(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	cases := []struct {
		name, header string
		status       int
		detail       string
	}{
		{"no header", "", 401, "Bearer"},
		{"not bearer", "Basic YTpi", 401, "Bearer"},
		{"empty bearer", "Bearer  ", 401, "Bearer"},
		{"unknown token", "Bearer fg_nope", 401, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(http.MethodGet, "/api/v1/incidents/2026-000001", "", nil, map[string]string{"Authorization": c.header})
			checkProblem(t, w, c.status, "unauthorized", c.detail)
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	// Health needs no token; metrics do (they count child-welfare reports).
	if w := s.do(http.MethodGet, "/healthz", "", nil, nil); w.Code != http.StatusOK {
		t.Errorf("GET /healthz without token: %d", w.Code)
	}
	checkProblem(t, s.do(http.MethodGet, "/metrics", "", nil, nil), 401, "unauthorized", "metrics")
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	checkProblem(t, s.do(http.MethodGet, "/api/v2/whatever", "", nil, nil), 404, "not-found", "no such endpoint")
	checkProblem(t, s.do(http.MethodDelete, "/healthz", "", nil, nil), 405, "method", "method not allowed")
}

func TestReadyz(t *testing.T) {
	state := "connected"
	s := newTestServer(t, testServerOptions{XMPPState: func() string { return state }})
	w := s.do(http.MethodGet, "/readyz", "", nil, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"ready"`) || !strings.Contains(w.Body.String(), `"version"`) {
		t.Fatalf("readyz: %d %s", w.Code, w.Body.String())
	}
	state = "disconnected"
	if w := s.do(http.MethodGet, "/readyz", "", nil, nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with XMPP down: %d, want 503", w.Code)
	}
	state = "standby" // another replica holds the connection: still ready
	s.domain.pingErr = errors.New("connection refused")
	w = s.do(http.MethodGet, "/readyz", "", nil, nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"postgres":"fail"`) {
		t.Errorf("readyz with PostgreSQL down: %d %s", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("readyz shows the error text: %s", w.Body.String())
	}
}

func TestCreateReport(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	body, ct := multipartBody(t,
		[][2]string{{"to", "tiefbau"}, {"text", "Schlagloch"}, {"lat", "51.0234"}, {"lon", "7.5921"}, {"urgent", "yes"}, {"language", "en"}},
		[][2]string{{"photo", "\xff\xd8\xff jpeg one"}, {"photo", "\xff\xd8\xff jpeg two"}})
	w := s.do(http.MethodPost, "/api/v1/reports", secretApp, body, map[string]string{"Content-Type": ct})
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	var rec receiptJSON
	if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.CaseNumber != "2026-000001" || rec.StatusURL != "/api/v1/reports/"+rec.ID || w.Header().Get("Location") != rec.StatusURL {
		t.Errorf("receipt %+v, Location %q", rec, w.Header().Get("Location"))
	}
	if len(s.domain.intakes) != 1 {
		t.Fatalf("%d intakes, want 1", len(s.domain.intakes))
	}
	in := s.domain.intakes[0]
	if in.Channel != dispatch.ChannelAPI || in.Sender != "token:app" || in.Address != "tiefbau" || in.Text != "Schlagloch" ||
		!in.Urgent || in.Language != "en" || in.IdempotencyKey != "" {
		t.Errorf("intake %+v", in)
	}
	if in.Position == nil || in.Position.Lat != 51.0234 || in.Position.Lon != 7.5921 || in.PositionSource != dispatch.SourceAPI {
		t.Errorf("position %+v from %q", in.Position, in.PositionSource)
	}
	if len(in.Media) != 2 || s.media.count() != 2 {
		t.Errorf("%d media in the report, %d stored; want 2", len(in.Media), s.media.count())
	}
}

// TestCreateReportReplay: a retry with a used Idempotency-Key gets the
// first receipt and stores nothing. A small body is read first and the
// intake's key insert catches the replay (no lookup before); a large one
// asks before its body is read.
func TestCreateReportReplay(t *testing.T) {
	big := strings.Repeat("\xff", replayLookupMinBytes)
	cases := []struct {
		name    string
		photo   string
		lookups int // Replay calls before the body is read
	}{
		{"small body: the intake catches it", "\xff\xd8\xff", 0},
		{"large body: asked before reading", "\xff\xd8\xff" + big, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, testServerOptions{})
			s.addTokens()
			first := dispatch.Receipt{ReportID: uuid.New(), CaseNumber: "2026-000007", Replayed: true}
			s.domain.replays[dispatch.ChannelAPI+"|token:app|key-1"] = first
			sum := sha256.Sum256([]byte(tc.photo))
			s.domain.reports[first.ReportID] = dispatch.ReportView{Report: dispatch.Report{ID: first.ReportID, CaseNumber: first.CaseNumber,
				Address: "tiefbau", Text: "again", Media: []dispatch.MediaObject{{Object: media.Object{SHA256: hex.EncodeToString(sum[:])}}}}}
			body, ct := multipartBody(t, [][2]string{{"to", "tiefbau"}, {"text", "again"}}, [][2]string{{"photo", tc.photo}})
			w := s.do(http.MethodPost, "/api/v1/reports", secretApp, body, map[string]string{"Content-Type": ct, "Idempotency-Key": "key-1"})
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"replayed":true`) || !strings.Contains(w.Body.String(), first.CaseNumber) {
				t.Fatalf("replay: %d %s", w.Code, w.Body.String())
			}
			if len(s.domain.intakes) != 0 || s.media.count() != 0 {
				t.Errorf("a replay stored %d reports and %d objects", len(s.domain.intakes), s.media.count())
			}
			if s.domain.replayLookups != tc.lookups {
				t.Errorf("%d lookups before reading a %d-byte body, want %d", s.domain.replayLookups, len(body), tc.lookups)
			}
			// The same key from another token is another report.
			w = s.do(http.MethodPost, "/api/v1/reports", secretOtherApp, body, map[string]string{"Content-Type": ct, "Idempotency-Key": "key-1"})
			if w.Code != http.StatusAccepted || len(s.domain.intakes) != 1 || s.domain.intakes[0].IdempotencyKey != "key-1" {
				t.Errorf("other token, same key: %d, %d intakes", w.Code, len(s.domain.intakes))
			}
		})
	}
}

func TestAskReplayFirst(t *testing.T) {
	for _, tc := range []struct {
		length int64
		want   bool
	}{
		{-1, true}, // chunked: size unknown
		{0, false},
		{2 << 10, false}, // a text report
		{replayLookupMinBytes - 1, false},
		{replayLookupMinBytes, true},
		{12 << 20, true}, // a phone photo
	} {
		if got := askReplayFirst(tc.length); got != tc.want {
			t.Errorf("askReplayFirst(%d) = %v, want %v", tc.length, got, tc.want)
		}
	}
}

// TestCreateReportRejected: every bad request gets a precise problem and
// leaves nothing stored.
func TestCreateReportRejected(t *testing.T) {
	jpeg := [2]string{"photo", "\xff\xd8\xff a photo"}
	cases := []struct {
		name    string
		secret  string
		fields  [][2]string
		files   [][2]string
		header  map[string]string
		raw     []byte // sent instead of a form when set
		intake  error
		maxBody int64
		status  int
		slug    string
		detail  string
	}{
		{name: "team token may not file", secret: secretTiefbau, fields: [][2]string{{"to", "tiefbau"}},
			status: 403, slug: "forbidden", detail: "reporter"},
		{name: "not multipart", secret: secretApp, raw: []byte(`{"to":"tiefbau"}`), header: map[string]string{"Content-Type": "application/json"},
			status: 415, slug: "content-type", detail: "multipart/form-data"},
		{name: "broken multipart", secret: secretApp, raw: []byte("--x\r\nnonsense"), header: map[string]string{"Content-Type": "multipart/form-data; boundary=x"},
			status: 400, slug: "multipart", detail: "malformed"},
		{name: "unknown field", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}, {"password", "x"}}, files: [][2]string{jpeg},
			status: 400, slug: "invalid", detail: `unknown form field "password"`},
		{name: "lat without lon", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}, {"lat", "51"}}, files: [][2]string{jpeg},
			status: 400, slug: "invalid", detail: "together"},
		{name: "lat out of range", secret: secretApp, files: [][2]string{jpeg}, fields: [][2]string{{"to", "tiefbau"}, {"lat", "95"}, {"lon", "7"}},
			status: 400, slug: "invalid", detail: "lat in [-90,90]"},
		{name: "executable", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}}, files: [][2]string{jpeg, {"photo", "MZ\x90\x00"}},
			status: 415, slug: "attachment-type", detail: "not allowed"},
		{name: "unknown address", secret: secretApp, fields: [][2]string{{"to", "nirgendwo"}}, files: [][2]string{jpeg},
			intake: &dispatch.Error{Kind: dispatch.ErrNotFound, Text: func(t msg.Texts) string { return t.UnknownAddress("nirgendwo", "tiefbau") }},
			status: 422, slug: "unknown-address", detail: "nirgendwo"},
		{name: "empty report", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}},
			intake: &dispatch.Error{Kind: dispatch.ErrInvalid, Text: msg.Texts.EmptyReport},
			status: 400, slug: "invalid", detail: "empty report"},
		{name: "internal error stays in the log", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}}, files: [][2]string{jpeg},
			intake: errors.New("pq: secret internals"),
			status: 500, slug: "internal", detail: "logged"},
		{name: "body over limit", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}}, files: [][2]string{jpeg, {"photo", strings.Repeat("x", 4096)}},
			maxBody: 2048, status: 413, slug: "body-too-large", detail: "2.0 KiB"},
		{name: "idempotency key too long", secret: secretApp, fields: [][2]string{{"to", "tiefbau"}},
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}, status: 400, slug: "invalid", detail: "Idempotency-Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, testServerOptions{MaxBodyBytes: c.maxBody})
			s.addTokens()
			s.domain.intakeErr = c.intake
			body, ct := c.raw, ""
			if body == nil {
				body, ct = multipartBody(t, c.fields, c.files)
			}
			header := map[string]string{"Content-Type": ct}
			for k, v := range c.header {
				header[k] = v
			}
			w := s.do(http.MethodPost, "/api/v1/reports", c.secret, body, header)
			p := checkProblem(t, w, c.status, c.slug, c.detail)
			if strings.Contains(p.Detail, "secret internals") {
				t.Errorf("problem shows the internal error: %q", p.Detail)
			}
			if s.media.count() != 0 {
				t.Errorf("%d objects left in storage after a rejected report", s.media.count())
			}
			if c.intake == nil && len(s.domain.intakes) != 0 {
				t.Errorf("rejected request reached Intake")
			}
		})
	}
}

// reportFixture stores one report of "app" handled by team tiefbau.
func (s *testServer) reportFixture() uuid.UUID {
	id := uuid.New()
	now := time.Date(2026, 5, 20, 10, 15, 0, 0, time.UTC)
	s.domain.reports[id] = dispatch.ReportView{
		Report: dispatch.Report{ID: id, CaseNumber: "2026-000042", Address: "tiefbau", Sender: "token:app", Text: "Schlagloch",
			Position: &dispatch.Position{Lat: 51.0234, Lon: 7.5921}, PositionSource: "exif", ReceivedAt: now,
			Media: []dispatch.MediaObject{{Object: media.Object{Key: "orig/0193-abc", ContentType: "image/jpeg", Size: 3}}}},
		Incident: dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateAcknowledged, Team: "tiefbau", Owner: "anna@stadt.localhost"},
		Events:   []dispatch.Event{{At: now, Kind: "acknowledged", Actor: "anna@stadt.localhost", To: dispatch.StateAcknowledged}},
	}
	return id
}

func TestGetReportAuthorization(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	id := s.reportFixture()
	path := "/api/v1/reports/" + id.String()
	cases := []struct {
		name, secret string
		status       int
		owner, actor bool // the response shows the owner / the events' actors
	}{
		{"the reporter", secretApp, 200, false, false},
		{"another reporter", secretOtherApp, 404, false, false},
		{"the team", secretTiefbau, 200, true, false},
		{"another team", secretGruen, 404, false, false},
		{"a dispatcher", secretDispatcher, 200, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(http.MethodGet, path, c.secret, nil, nil)
			if c.status != 200 {
				// Not found rather than forbidden: a stranger learns nothing.
				checkProblem(t, w, c.status, "not-found", "no report")
				return
			}
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			var r reportJSON
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.CaseNumber != "2026-000042" || r.Position == nil || r.Position.Source != "exif" || len(r.Media) != 1 || len(r.Events) != 1 {
				t.Errorf("report %+v", r)
			}
			if (r.Owner != "") != c.owner || (r.Events[0].Actor != "") != c.actor {
				t.Errorf("owner %q, event actor %q; want shown %v/%v", r.Owner, r.Events[0].Actor, c.owner, c.actor)
			}
		})
	}
	checkProblem(t, s.do(http.MethodGet, "/api/v1/reports/not-a-uuid", secretDispatcher, nil, nil), 404, "not-found", "no report")
	checkProblem(t, s.do(http.MethodGet, "/api/v1/reports/"+uuid.NewString(), secretDispatcher, nil, nil), 404, "not-found", "not found")
}

func TestGetMedia(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	id := s.reportFixture()
	w := s.do(http.MethodGet, "/api/v1/reports/"+id.String()+"/media/1", secretApp, nil, nil)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "https://s3.example/orig/0193-abc") ||
		w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("media 1: %d Location %q Cache-Control %q", w.Code, w.Header().Get("Location"), w.Header().Get("Cache-Control"))
	}
	checkProblem(t, s.do(http.MethodGet, "/api/v1/reports/"+id.String()+"/media/2", secretApp, nil, nil), 404, "not-found", "1 attachments")
	checkProblem(t, s.do(http.MethodGet, "/api/v1/reports/"+id.String()+"/media/0", secretApp, nil, nil), 404, "not-found", "1 attachments")
	if w := s.do(http.MethodGet, "/api/v1/reports/"+id.String()+"/media/1", secretGruen, nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("another team's token got the photo: %d", w.Code)
	}
}

// TestIncidentAuthorization: dispatchers see and act on every incident,
// team tokens on their team's; others get the 404 of a missing case for
// reading and acting alike (they learn nothing, issue 16), and never
// reach the domain.
func TestIncidentAuthorization(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
	s.domain.incidents["2026-000043"] = dispatch.Incident{CaseNumber: "2026-000043", State: dispatch.StateReceived} // no team yet
	cases := []struct {
		name, secret, ref string
		read, act         int // status of GET and of the POST commands
	}{
		{"dispatcher", secretDispatcher, "2026-000042", 200, 200},
		{"the team", secretTiefbau, "2026-000042", 200, 200},
		{"another team", secretGruen, "2026-000042", 404, 404},
		{"a reporter", secretApp, "2026-000042", 404, 404},
		{"team, incident without team", secretTiefbau, "2026-000043", 404, 404},
		{"dispatcher, incident without team", secretDispatcher, "2026-000043", 200, 200},
		{"unknown case", secretDispatcher, "2026-999999", 404, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(http.MethodGet, "/api/v1/incidents/"+c.ref, c.secret, nil, nil)
			if c.read == 200 {
				if w.Code != 200 || !strings.Contains(w.Body.String(), c.ref) {
					t.Errorf("GET: %d %s", w.Code, w.Body.String())
				}
			} else {
				checkProblem(t, w, 404, "not-found", "not found")
			}
			for _, action := range []string{"take", "resolve", "reply", "reject"} {
				before := len(s.domain.commands)
				w := s.do(http.MethodPost, "/api/v1/incidents/"+c.ref+"/"+action, c.secret, nil, nil)
				switch c.act {
				case 200:
					if w.Code != 200 {
						t.Errorf("POST %s: %d %s", action, w.Code, w.Body.String())
					}
				case 403:
					checkProblem(t, w, 403, "forbidden", "may not act")
				case 404:
					checkProblem(t, w, 404, "not-found", "not found")
				}
				if c.act != 200 && len(s.domain.commands) != before {
					t.Errorf("POST %s: a refused request reached the domain", action)
				}
			}
		})
	}
}

func TestListIncidentsScope(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
	s.domain.incidents["2026-000044"] = dispatch.Incident{CaseNumber: "2026-000044", State: dispatch.StateRouted, Team: "gruenflaechen"}
	for _, c := range []struct {
		secret    string
		see, miss []string
	}{
		{secretDispatcher, []string{"2026-000042", "2026-000044"}, nil},
		{secretTiefbau, []string{"2026-000042"}, []string{"2026-000044"}},
		{secretGruen, []string{"2026-000044"}, []string{"2026-000042"}},
	} {
		w := s.do(http.MethodGet, "/api/v1/incidents", c.secret, nil, nil)
		if w.Code != 200 {
			t.Fatalf("list: %d %s", w.Code, w.Body.String())
		}
		for _, ref := range c.see {
			if !strings.Contains(w.Body.String(), ref) {
				t.Errorf("%s does not see %s: %s", c.secret, ref, w.Body.String())
			}
		}
		for _, ref := range c.miss {
			if strings.Contains(w.Body.String(), ref) {
				t.Errorf("%s sees %s", c.secret, ref)
			}
		}
	}
	if w := s.do(http.MethodGet, "/api/v1/incidents", secretApp, nil, nil); w.Code != http.StatusForbidden && w.Code != http.StatusNotFound {
		t.Errorf("a reporter token lists incidents: %d %s", w.Code, w.Body.String())
	}
}

func TestIncidentCommands(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	s.domain.incidents["2026-000042"] = dispatch.Incident{CaseNumber: "2026-000042", State: dispatch.StateRouted, Team: "tiefbau"}
	post := func(secret, action, body string) *httptest.ResponseRecorder {
		return s.do(http.MethodPost, "/api/v1/incidents/2026-000042/"+action, secret, []byte(body), map[string]string{"Content-Type": "application/json"})
	}

	if w := post(secretTiefbau, "take", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"outcome":"applied"`) {
		t.Fatalf("take: %d %s", w.Code, w.Body.String())
	}
	if cmd, ok := s.domain.lastCommand().(dispatch.Command); !ok || cmd.Action != dispatch.ActionTake || cmd.Actor != "token:tiefbau-tablet" ||
		cmd.Via != "api" || cmd.Dispatcher || cmd.Ref != "2026-000042" {
		t.Errorf("take sent %+v", s.domain.lastCommand())
	}

	s.domain.outcome = dispatch.OutcomeAlreadyTaken
	if w := post(secretTiefbau, "take", ""); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already_taken") {
		t.Errorf("second take: %d %s, want 409", w.Code, w.Body.String())
	}
	s.domain.outcome = ""

	if w := post(secretTiefbau, "reply", `{"text":"Wir sind unterwegs."}`); w.Code != 200 {
		t.Errorf("reply: %d %s", w.Code, w.Body.String())
	}
	if cmd, ok := s.domain.lastCommand().(dispatch.ReplyCommand); !ok || cmd.Text != "Wir sind unterwegs." || cmd.Actor != "token:tiefbau-tablet" {
		t.Errorf("reply sent %+v", s.domain.lastCommand())
	}

	// Reassign needs a dispatcher: the team's token is passed on as not
	// one, and the domain's refusal is a 403 problem.
	checkProblem(t, post(secretTiefbau, "reassign", `{"team":"gruenflaechen"}`), 403, "forbidden", "dispatchers")
	if cmd, ok := s.domain.lastCommand().(dispatch.ReassignCommand); !ok || cmd.Dispatcher || cmd.Team != "gruenflaechen" {
		t.Errorf("reassign by the team sent %+v", s.domain.lastCommand())
	}
	if w := post(secretDispatcher, "reassign", `{"team":"gruenflaechen","reason":"Baum"}`); w.Code != 200 {
		t.Errorf("reassign by a dispatcher: %d %s", w.Code, w.Body.String())
	}
	if cmd, ok := s.domain.lastCommand().(dispatch.ReassignCommand); !ok || !cmd.Dispatcher || cmd.Reason != "Baum" {
		t.Errorf("reassign by a dispatcher sent %+v", s.domain.lastCommand())
	}
	checkProblem(t, post(secretTiefbau, "unmerge", ""), 403, "forbidden", "dispatchers")

	before := len(s.domain.commands)
	checkProblem(t, post(secretDispatcher, "reject", `{"reason":`), 400, "invalid", "JSON")
	if len(s.domain.commands) != before {
		t.Error("a malformed body reached the domain")
	}
}
