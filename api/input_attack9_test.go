package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestReportFormStrict: a report form is read as it was meant or refused
// with a precise problem, storing nothing. Before, a field given twice
// counted with its last value (a second "to" redirected the report), an
// HTML checkbox's urgent=on was read as not urgent and any other word
// too, and lat/lon took strconv's other number forms (0x1p5 was 32°,
// 5_1 was 51°).
func TestReportFormStrict(t *testing.T) {
	cases := []struct {
		name   string
		fields [][2]string
		status int
		slug   string
		detail string
		urgent bool
	}{
		{"to twice", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"to", "info"}}, 400, "invalid", `"to" appears more than once`, false},
		{"text twice", [][2]string{{"to", "tiefbau"}, {"text", "harmlos"}, {"text", "anders"}}, 400, "invalid", `"text" appears more than once`, false},
		{"lat twice", [][2]string{{"to", "tiefbau"}, {"lat", "51"}, {"lon", "7"}, {"lat", "52"}}, 400, "invalid", `"lat" appears more than once`, false},
		{"urgent twice", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"urgent", "false"}, {"urgent", "true"}}, 400, "invalid", `"urgent"`, false},
		{"urgent maybe", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"urgent", "maybe"}}, 400, "invalid", `not "maybe"`, false},
		{"urgent from a checkbox", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"urgent", "on"}}, 202, "", "", true},
		{"urgent TRUE", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"urgent", "TRUE"}}, 202, "", "", true},
		{"urgent off", [][2]string{{"to", "tiefbau"}, {"text", "x"}, {"urgent", "off"}}, 202, "", "", false},
		{"hex float lat", [][2]string{{"to", "tiefbau"}, {"lat", "0x1p5"}, {"lon", "7.58"}}, 400, "invalid", "decimal degrees", false},
		{"underscore lat", [][2]string{{"to", "tiefbau"}, {"lat", "5_1"}, {"lon", "7.58"}}, 400, "invalid", "decimal degrees", false},
		{"exponent lon", [][2]string{{"to", "tiefbau"}, {"lat", "51.02"}, {"lon", "7e0"}}, 400, "invalid", "decimal degrees", false},
		{"Inf lon", [][2]string{{"to", "tiefbau"}, {"lat", "51.02"}, {"lon", "Inf"}}, 400, "invalid", "decimal degrees", false},
		{"NaN lat", [][2]string{{"to", "tiefbau"}, {"lat", "NaN"}, {"lon", "7"}}, 400, "invalid", "decimal degrees", false},
		{"signed decimals", [][2]string{{"to", "tiefbau"}, {"lat", "+51.02"}, {"lon", "-.5"}}, 202, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, testServerOptions{})
			s.addTokens()
			body, ct := multipartBody(t, c.fields, [][2]string{{"photo", "\xff\xd8\xff"}})
			w := s.do(http.MethodPost, "/api/v1/reports", secretApp, body, map[string]string{"Content-Type": ct})
			if c.status != http.StatusAccepted {
				checkProblem(t, w, c.status, c.slug, c.detail)
				if len(s.domain.intakes) != 0 || s.media.count() != 0 {
					t.Errorf("stored %d reports, %d objects", len(s.domain.intakes), s.media.count())
				}
				return
			}
			if w.Code != http.StatusAccepted || len(s.domain.intakes) != 1 {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			if got := s.domain.intakes[0].Urgent; got != c.urgent {
				t.Errorf("urgent %v, want %v", got, c.urgent)
			}
		})
	}
}

// countingReader counts what a handler read of a body.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestDeclaredTooLargeRefusedUnread: a body whose Content-Length is over
// http.max_body_bytes gets 413 before a byte of it is read; before, it
// was read (and its files stored) up to the limit first.
func TestDeclaredTooLargeRefusedUnread(t *testing.T) {
	s := newTestServer(t, testServerOptions{MaxBodyBytes: 1 << 20})
	s.addTokens()
	body, ct := multipartBody(t, [][2]string{{"to", "tiefbau"}, {"text", "x"}}, [][2]string{{"photo", "\xff\xd8\xff"}})
	r := &countingReader{r: bytes.NewReader(body)}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/reports", r)
	req.ContentLength = 1<<20 + 1
	req.Header.Set("Authorization", "Bearer "+secretApp)
	req.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, req)
	checkProblem(t, w, http.StatusRequestEntityTooLarge, "body-too-large", "")
	if r.n != 0 || s.media.count() != 0 || len(s.domain.intakes) != 0 {
		t.Errorf("read %d bytes, stored %d objects and %d reports", r.n, s.media.count(), len(s.domain.intakes))
	}
}

// TestHTTPHygiene: HEAD is served wherever GET is (RFC 9110 §9.3.2; it
// was 405, which fails load balancers' HEAD health checks), and a request
// with two Authorization headers is refused (RFC 6750 §3.1
// invalid_request) instead of the first one counting.
func TestHTTPHygiene(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	if w := s.do(http.MethodHead, "/healthz", "", nil, nil); w.Code != http.StatusOK {
		t.Errorf("HEAD /healthz: %d %s", w.Code, w.Body.String())
	}
	if w := s.do(http.MethodHead, "/api/v1/incidents", secretDispatcher, nil, nil); w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("HEAD /api/v1/incidents: %d %v", w.Code, w.Header())
	}
	if w := s.do(http.MethodHead, "/api/v1/incidents", "", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("HEAD without a token: %d", w.Code)
	}
	w := s.do(http.MethodHead, "/api/v1/reports", secretApp, nil, nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Errorf("HEAD on a POST-only route: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if w := s.do(http.MethodDelete, "/healthz", "", nil, nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE /healthz: %d Allow %q, want GET, HEAD", w.Code, w.Header().Get("Allow"))
	}

	req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
	req.Header.Add("Authorization", "Bearer "+secretTiefbau)
	req.Header.Add("Authorization", "Bearer "+secretDispatcher)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	checkProblem(t, rec, http.StatusBadRequest, "invalid", "one Authorization header")
	if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_request"`) {
		t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
	}
}

// TestPersonalAnswersNotCached: every /api/v1 answer carries
// Cache-Control: no-store (GET /api/v1/reports/{id}, a report's text and
// position, had none, so a console browser kept it in its cache), and
// every answer X-Content-Type-Options: nosniff.
func TestPersonalAnswersNotCached(t *testing.T) {
	s := newTestServer(t, testServerOptions{})
	s.addTokens()
	id := uuid.New()
	s.domain.reports[id] = dispatch.ReportView{Report: dispatch.Report{ID: id, Sender: "token:app", Address: "tiefbau", Text: "Schlagloch vor Nr. 12",
		Position: &dispatch.Position{Lat: 51.02, Lon: 7.58}}, Incident: dispatch.Incident{Team: "tiefbau"}}
	for _, c := range []struct{ method, path, secret string }{
		{http.MethodGet, "/api/v1/reports/" + id.String(), secretApp},
		{http.MethodGet, "/api/v1/reports/00000000-0000-7000-8000-000000000000", secretApp},
		{http.MethodGet, "/api/v1/incidents", secretDispatcher},
		{http.MethodGet, "/api/v1/incidents", ""},
	} {
		w := s.do(c.method, c.path, c.secret, nil, nil)
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): Cache-Control %q, X-Content-Type-Options %q", c.method, c.path, w.Code,
				w.Header().Get("Cache-Control"), w.Header().Get("X-Content-Type-Options"))
		}
	}
	if w := s.do(http.MethodGet, "/healthz", "", nil, nil); w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/healthz without nosniff")
	}
}
