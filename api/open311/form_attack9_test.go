package open311

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPostFormStrict: a single-valued field given twice is refused (the
// first one counted silently: service_code=sonstiges&service_code=
// strassenschaden filed to the first), and lat/long must be decimal
// degrees (0x1p5 was read as 32°, 5_1 as 51°). Nothing is stored.
func TestPostFormStrict(t *testing.T) {
	cases := []struct {
		name   string
		change map[string][]string
		detail string
	}{
		{"service_code twice", map[string][]string{"service_code": {"strassenschaden", "gruen"}}, `"service_code"`},
		{"description twice", map[string][]string{"description": {"harmlos", "anders"}}, `"description"`},
		{"lat twice", map[string][]string{"lat": {"51.02", "52"}}, `"lat"`},
		{"hex float lat", map[string][]string{"lat": {"0x1p5"}}, "lat"},
		{"underscore long", map[string][]string{"long": {"7_5"}}, "long"},
		{"exponent lat", map[string][]string{"lat": {"5.1e1"}}, "lat"},
		{"Inf long", map[string][]string{"long": {"Inf"}}, "long"},
	}
	for _, format := range []string{"json", "xml"} {
		for _, c := range cases {
			t.Run(format+"/"+c.name, func(t *testing.T) {
				f := newFixture(t, Config{})
				form := goodForm()
				for k, v := range c.change {
					form[k] = v
				}
				w := f.post(t, "/open311/v2/requests."+format, form)
				assertError(t, w, http.StatusBadRequest, c.detail)
				if len(f.domain.intakes) != 0 {
					t.Errorf("filed %+v", f.domain.intakes)
				}
			})
		}
	}
	f := newFixture(t, Config{})
	form := goodForm()
	form["lat"], form["long"] = []string{"+51.0251"}, []string{"7.5919"}
	if w := f.post(t, "/open311/v2/requests.json", form); w.Code != http.StatusCreated {
		t.Errorf("signed decimal degrees: %d %s", w.Code, w.Body)
	}
}

// TestTwoAuthorizationHeaders: a POST with two Authorization headers is
// refused (400, as the API does) instead of the first one counting.
func TestTwoAuthorizationHeaders(t *testing.T) {
	f := newFixture(t, Config{})
	form := goodForm()
	form.Del("api_key")
	req := httptest.NewRequest(http.MethodPost, "/open311/v2/requests.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Add("Authorization", "Bearer good-key")
	req.Header.Add("Authorization", "Bearer team-only")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	assertError(t, w, http.StatusBadRequest, "Authorization")
	if len(f.domain.intakes) != 0 {
		t.Errorf("filed %d", len(f.domain.intakes))
	}
}
