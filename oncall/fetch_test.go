package oncall_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // Europe/Berlin on hosts without a zone database

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

func TestLoadCalendar(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join("testdata", "weekly_dst.ics"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plan.ics":
			w.Header().Set("Content-Type", "text/calendar")
			w.Write(body)
		case "/huge.ics":
			w.Write(bytes.Repeat([]byte("COMMENT:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), oncall.MaxCalendarSize/40))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cal, err := oncall.LoadCalendar(ctx, srv.URL+"/plan.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv))
	if err != nil {
		t.Fatal(err)
	}
	if p, _, ok := onCallAt(routing.Schedule{}, cal, ocUTC(t, "2026-10-20T12:00")); !ok || p != "dave@stadt.localhost" {
		t.Errorf("fetched calendar: %q %v", p, ok)
	}
	webcal := "webcal://" + strings.TrimPrefix(srv.URL, "https://") + "/plan.ics"
	if _, err := oncall.LoadCalendar(ctx, webcal, oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); err != nil {
		t.Errorf("webcal: %v", err)
	}
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/missing.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); err == nil {
		t.Error("404: no error")
	}
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/huge.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("huge: %v, want ErrInvalid", err)
	}
	// Without the test server's certificate the TLS handshake fails.
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/plan.ics", oncall.Options{Location: ocBerlin(t)}, nil); err == nil {
		t.Error("untrusted certificate: no error")
	}
	for _, src := range []string{"http://example.org/plan.ics", "ftp://example.org/plan.ics", "file:///etc/passwd"} {
		if _, err := oncall.LoadCalendar(ctx, src, oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); !errors.Is(err, oncall.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", src, err)
		}
	}
	if _, err := oncall.LoadCalendar(ctx, filepath.Join("testdata", "missing.ics"), oncall.Options{Location: ocBerlin(t)}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := oncall.LoadCalendar(ctx, "testdata", oncall.Options{Location: ocBerlin(t)}, nil); !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("directory: %v", err)
	}
}
