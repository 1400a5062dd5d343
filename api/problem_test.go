package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
	"github.com/fieldgate/fieldgate/media"
)

// refusedDatabase returns the error pgx gives when PostgreSQL is down:
// a real connect to a port nobody listens on.
func refusedDatabase(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = pgx.Connect(context.Background(), "postgres://fieldgate@"+addr+"/fieldgate?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	return fmt.Errorf("intake: begin: %w", err)
}

func TestOutagesAre503WithRetryAfter(t *testing.T) {
	gin.SetMode(gin.TestMode)
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cases := []struct {
		name   string
		err    error
		status int
		slug   string
	}{
		{"database refused", refusedDatabase(t), http.StatusServiceUnavailable, "database-unavailable"},
		{"database shutting down", fmt.Errorf("insert report: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), http.StatusServiceUnavailable, "database-unavailable"},
		{"database starting", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, http.StatusServiceUnavailable, "database-unavailable"},
		{"storage down", fmt.Errorf("put: %w", media.ErrUnavailable), http.StatusServiceUnavailable, "storage-unavailable"},
		{"constraint violated", &pgconn.PgError{Code: "23514", Message: "check violation"}, http.StatusInternalServerError, "internal"},
		{"plain bug", errors.New("nil map"), http.StatusInternalServerError, "internal"},
		{"domain error", fmt.Errorf("x: %w", &dispatch.Error{Kind: dispatch.ErrInvalid, Text: msg.Texts.EmptyReport}), http.StatusBadRequest, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/reports", nil)
			s.fail(c, tc.err)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != problemType(tc.slug) || p.Status != tc.status {
				t.Errorf("problem %+v, want type %s", p, problemType(tc.slug))
			}
			ra := w.Header().Get("Retry-After")
			if (tc.status == http.StatusServiceUnavailable) != (ra == "5") {
				t.Errorf("Retry-After %q for status %d", ra, tc.status)
			}
		})
	}
}

// TestProblemDetailLanguage: a domain error's detail is rendered in the
// language the client asks for (Accept-Language), English without one.
func TestProblemDetailLanguage(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	domain := &dispatch.Error{Kind: dispatch.ErrInvalid, Text: func(t msg.Texts) string { return t.TextTooLong(5000, 4000) }}
	for accept, want := range map[string]string{
		"":                          "text too long: 5000 characters, at most 4000",
		"de":                        "Text zu lang: 5000 Zeichen, höchstens 4000.",
		"de-DE,de;q=0.9,en;q=0.8":   "Text zu lang: 5000 Zeichen, höchstens 4000.",
		"en-GB,de;q=0.5":            "text too long: 5000 characters, at most 4000",
		"fr, de;q=0.7":              "Text zu lang: 5000 Zeichen, höchstens 4000.",
		"not a ;;; language header": "text too long: 5000 characters, at most 4000",
	} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/incidents/1/take", nil)
		c.Request.Header.Set("Accept-Language", accept)
		s.fail(c, fmt.Errorf("take: %w", domain))
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusBadRequest || p.Detail != want {
			t.Errorf("Accept-Language %q: %d %q, want 400 %q", accept, w.Code, p.Detail, want)
		}
	}
}
