package oncall_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on hosts without a zone database

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

func ocBerlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ocUTC parses "2006-01-02T15:04" as UTC.
func ocUTC(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// ocLocal parses "2006-01-02T15:04" in Europe/Berlin.
func ocLocal(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.ParseInLocation("2006-01-02T15:04", s, ocBerlin(t))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// ocPlan renders shifts as "FROM–TO person source" lines in UTC.
func ocPlan(plan []oncall.Shift) string {
	var b strings.Builder
	for _, s := range plan {
		fmt.Fprintf(&b, "%s–%s %s %s\n", s.From.UTC().Format("01-02T15:04"), s.To.UTC().Format("01-02T15:04"), s.Person, s.Source)
	}
	return b.String()
}

// onCallAt is oncall.At as person, until and ok.
func onCallAt(s routing.Schedule, cal *oncall.Calendar, at time.Time) (string, time.Time, bool) {
	a, ok := oncall.At(s, cal, at)
	return a.Person, a.Until, ok
}

// notes are a calendar's warnings as text.
func notes(cal *oncall.Calendar) []string {
	var out []string
	for _, w := range cal.Warnings {
		out = append(out, w.String())
	}
	return out
}

// testFetcher trusts srv's certificate and may connect to loopback.
func testFetcher(srv *httptest.Server) *oncall.Fetcher {
	return oncall.NewFetcher(oncall.FetchConfig{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, AllowLoopback: true})
}

func ocLoadCalendar(t *testing.T, name string) *oncall.Calendar {
	t.Helper()
	cal, err := oncall.LoadCalendar(context.Background(), filepath.Join("testdata", name), oncall.Options{Location: ocBerlin(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}
