package open311

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestRequestDateForms: start_date, end_date and updated_after take the
// W3C forms GeoReport v2 names (wiki.open311.org/GeoReport_v2: "w3c
// format") and the forms clients send. Before, only RFC 3339 with seconds
// was read: a date alone, hh:mm without seconds, a time without zone and
// an unencoded "+01:00" (which arrives as " 01:00") were all 400.
func TestRequestDateForms(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		query    string
		from, to time.Time
	}{
		{"start_date=2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"start_date=2026-11-01T08:30:00%2B01:00", time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), time.Time{}},
		{"start_date=2026-11-01T08:30:00+01:00", time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), time.Time{}},
		{"start_date=2026-11-01T08:30Z", time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), time.Time{}},
		{"start_date=2026-11-01T08:30:00.25-05:00", time.Date(2026, 11, 1, 13, 30, 0, 250e6, time.UTC), time.Time{}},
		{"start_date=2026-11-01T08:30:00", time.Date(2026, 11, 1, 8, 30, 0, 0, berlin), time.Time{}},
		{"start_date=2026-11-01T08:30", time.Date(2026, 11, 1, 8, 30, 0, 0, berlin), time.Time{}},
		{"start_date=2026-11-01&end_date=2026-11-30", time.Date(2026, 11, 1, 0, 0, 0, 0, berlin), time.Date(2026, 12, 1, 0, 0, 0, 0, berlin)},
		{"start_date=2026-11&end_date=2026-11", time.Date(2026, 11, 1, 0, 0, 0, 0, berlin), time.Date(2026, 12, 1, 0, 0, 0, 0, berlin)},
		{"start_date=2026&end_date=2026", time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 1, 1, 0, 0, 0, 0, berlin)},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			f := newFixture(t, Config{})
			w := f.do(t, http.MethodGet, "/open311/v2/requests.json?"+c.query, nil, "")
			if w.Code != http.StatusOK || len(f.domain.filters) != 1 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			flt := f.domain.filters[0]
			if flt.From == nil || !flt.From.Equal(c.from) {
				t.Errorf("from %v, want %v", flt.From, c.from)
			}
			if !c.to.IsZero() && (flt.To == nil || !flt.To.Equal(c.to)) {
				t.Errorf("to %v, want %v", flt.To, c.to)
			}
		})
	}
	for _, bad := range []string{"2026-13-01", "2026-11-01T25:00:00Z", "yesterday", "1700000000", "2026-11-01 08:30:00", "2026-11-01T08:30:00+1"} {
		f := newFixture(t, Config{})
		for _, format := range []string{"json", "xml"} {
			w := f.do(t, http.MethodGet, "/open311/v2/requests."+format+"?start_date="+url.QueryEscape(bad), nil, "")
			assertError(t, w, http.StatusBadRequest, "start_date")
		}
	}
}
