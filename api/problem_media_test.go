package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/media"
)

// TestAttachmentProblemsInClientLanguage: a refused attachment is worded
// from the catalogue in the Accept-Language of the request, with the
// limit and the detected type its media error carries, never with the
// media package's English error text.
func TestAttachmentProblemsInClientLanguage(t *testing.T) {
	gin.SetMode(gin.TestMode)
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/reports", nil)
			if tc.lang != "" {
				c.Request.Header.Set("Accept-Language", tc.lang)
			}
			err := fmt.Errorf("intake: photo 2: %w", tc.err)
			s.fail(c, err)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
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
