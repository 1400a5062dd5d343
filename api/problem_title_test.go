package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
	"github.com/fieldgate/fieldgate/media"
)

// TestProblemTitlesLocalised: a problem's title (RFC 9457 §3.1.3) is in
// the client's language, its type URI is the same in every language, and
// two occurrences of one type carry one title per language, whatever
// their detail.
func TestProblemTitlesLocalised(t *testing.T) {
	gin.SetMode(gin.TestMode)
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	render := func(lang string, err error) Problem {
		t.Helper()
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/incidents/x", nil)
		c.Request.Header.Set("Accept-Language", lang)
		s.fail(c, err)
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
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
