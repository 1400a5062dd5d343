package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
	"github.com/fieldgate/fieldgate/media"
)

// failIn renders err with s.fail for a request to path with the given
// Accept-Language ("" for none) and returns the status and problem.
func failIn(t *testing.T, path, lang string, err error) (int, Problem) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, path, nil)
	if lang != "" {
		c.Request.Header.Set("Accept-Language", lang)
	}
	s.fail(c, err)
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return w.Code, p
}

// TestAttachmentProblemsInClientLanguage: a refused attachment is worded
// from the catalogue in the Accept-Language of the request, with the
// limit and the detected type its media error carries, never with the
// media package's English error text.
func TestAttachmentProblemsInClientLanguage(t *testing.T) {
	allowed := []string{"image/jpeg", "image/png"}
	cases := []struct {
		name, lang string
		err        error
		status     int
		slug       string
		want       []string
	}{
		{"too large de", "de-DE,de;q=0.9", &media.TooLargeError{ContentType: "image/jpeg", Limit: 50 << 20}, 413, "attachment-too-large",
			[]string{"image/jpeg", "50,0 MiB", "nichts wurde gespeichert"}},
		{"too large en", "en", &media.TooLargeError{ContentType: "image/jpeg", Limit: 50 << 20}, 413, "attachment-too-large",
			[]string{"image/jpeg", "50.0 MiB", "nothing was stored"}},
		{"type de", "de", &media.TypeNotAllowedError{Detected: "text/html", Allowed: allowed}, 415, "attachment-type",
			[]string{"Dateityp text/html", "image/jpeg, image/png"}},
		{"type en", "", &media.TypeNotAllowedError{Detected: "text/html", Allowed: allowed}, 415, "attachment-type",
			[]string{"file type text/html", "image/jpeg, image/png"}},
		{"unrecognised de", "de", &media.TypeNotAllowedError{Allowed: allowed}, 415, "attachment-type",
			[]string{"nicht zu erkennen", "image/jpeg, image/png"}},
		{"empty en", "en", &media.TypeNotAllowedError{Empty: true, Allowed: allowed}, 415, "attachment-type",
			[]string{"empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, p := failIn(t, "/api/v1/reports", tc.lang, fmt.Errorf("intake: photo 2: %w", tc.err))
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if p.Type != problemType(tc.slug) {
				t.Errorf("type %s, want %s", p.Type, problemType(tc.slug))
			}
			for _, want := range tc.want {
				if !strings.Contains(p.Detail, want) {
					t.Errorf("detail %q lacks %q", p.Detail, want)
				}
			}
			if strings.Contains(p.Detail, "media:") || strings.Contains(p.Detail, tc.err.Error()) {
				t.Errorf("detail %q passes the media error text through", p.Detail)
			}
		})
	}
}

// TestProblemTitlesLocalised: a problem's title (RFC 9457 §3.1.3) is in
// the client's language, its type URI is the same in every language, and
// two occurrences of one type carry one title per language, whatever
// their detail.
func TestProblemTitlesLocalised(t *testing.T) {
	render := func(lang string, err error) Problem {
		t.Helper()
		_, p := failIn(t, "/api/v1/incidents/x", lang, err)
		return p
	}
	notFound1 := &dispatch.Error{Kind: dispatch.ErrNotFound, Text: msg.Texts.IncidentNotFound}
	notFound2 := &dispatch.Error{Kind: dispatch.ErrNotFound, Text: func(t msg.Texts) string { return t.UnknownCase("2026-000042") }}
	cases := []struct {
		err    error
		de, en string
	}{
		{notFound1, "Nicht gefunden", "Not found"},
		{notFound2, "Nicht gefunden", "Not found"},
		{&dispatch.Error{Kind: dispatch.ErrConflict, Text: msg.Texts.EmptyReport}, "Widerspruch zum Stand des Falls", "Conflict with the case's state"},
		{fmt.Errorf("put: %w", &media.TooLargeError{ContentType: "image/png", Limit: 1 << 20}), "Anhang zu groß", "Attachment too large"},
		{errors.New("a bug"), "Interner Fehler", "Internal error"},
	}
	for _, tc := range cases {
		de, en := render("de-AT", tc.err), render("en-US,de;q=0.5", tc.err)
		if de.Title != tc.de || en.Title != tc.en {
			t.Errorf("%v: titles %q / %q, want %q / %q", tc.err, de.Title, en.Title, tc.de, tc.en)
		}
		if de.Type != en.Type || de.Status != en.Status {
			t.Errorf("%v: type %s/%s or status %d/%d differ between languages", tc.err, de.Type, en.Type, de.Status, en.Status)
		}
		if de.Detail == en.Detail {
			t.Errorf("%v: detail %q not localised", tc.err, de.Detail)
		}
	}
	if render("", notFound1).Title != "Not found" {
		t.Error("title without Accept-Language is not English")
	}
}
