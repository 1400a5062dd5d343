package gateway

import (
	"strings"
	"testing"
)

func TestFindGeoValid(t *testing.T) {
	cases := []struct {
		in       string
		lat, lon float64
		alt      bool
		uri      string
		label    string
	}{
		{"geo:51.0254,7.5919", 51.0254, 7.5919, false, "geo:51.0254,7.5919", ""},
		{"Schlagloch hier geo:51.0254,7.5919;u=12 bitte", 51.0254, 7.5919, false, "geo:51.0254,7.5919;u=12", ""},
		{"GEO:-33.5,151.25,40", -33.5, 151.25, true, "GEO:-33.5,151.25,40", ""},
		{"geo:51.0254,7.5919;crs=wgs84", 51.0254, 7.5919, false, "geo:51.0254,7.5919;crs=wgs84", ""},
		{"geo:0,0 then geo:50.1,8.2", 50.1, 8.2, false, "geo:50.1,8.2", ""},
		{"Hier (geo:51.0254,7.5919).", 51.0254, 7.5919, false, "geo:51.0254,7.5919", ""},
		{"geo:51.0254,7.5919, bitte schnell", 51.0254, 7.5919, false, "geo:51.0254,7.5919", ""},
		{"geo:51.0254,7.5919.", 51.0254, 7.5919, false, "geo:51.0254,7.5919", ""},
		{"geo:51.0254,7.5919\nzweite Zeile", 51.0254, 7.5919, false, "geo:51.0254,7.5919", ""},
		{"geo:51.0254,7.5919?z=18", 51.0254, 7.5919, false, "geo:51.0254,7.5919?z=18", ""},
		{"geo:51,7.5919", 51, 7.5919, false, "geo:51,7.5919", ""},
		// Android intent form
		{"geo:0,0?q=51.0251,7.5919(Gully)", 51.0251, 7.5919, false, "geo:0,0?q=51.0251,7.5919(Gully)", "Gully"},
		{"geo:0,0?q=51.0251,7.5919", 51.0251, 7.5919, false, "geo:0,0?q=51.0251,7.5919", ""},
		{"Bitte: geo:0,0?q=51.0251%2C7.5919(Hauptstra%C3%9Fe%2012) danke", 51.0251, 7.5919, false, "geo:0,0?q=51.0251%2C7.5919(Hauptstra%C3%9Fe%2012)", "Hauptstraße 12"},
		{"geo:0,0?q=51.0251,7.5919(Gully an der Ecke)", 51.0251, 7.5919, false, "geo:0,0?q=51.0251,7.5919(Gully an der Ecke)", "Gully an der Ecke"},
		{"geo:0,0?q=51.0251,%207.5919", 51.0251, 7.5919, false, "geo:0,0?q=51.0251,%207.5919", ""},
	}
	for _, c := range cases {
		f := findGeo(c.in)
		if !f.OK || f.Point.Lat != c.lat || f.Point.Lon != c.lon || (f.Point.Alt != nil) != c.alt || f.URI != c.uri || f.Label != c.label {
			t.Errorf("findGeo(%q) = %+v; want %v,%v alt=%v uri=%q label=%q", c.in, f, c.lat, c.lon, c.alt, c.uri, c.label)
		}
	}
}

func TestFindGeoRefused(t *testing.T) {
	cases := []struct {
		in      string
		problem geoProblem
		suggest string
	}{
		// RFC 5870: a delimiter must end each number.
		{"geo:51.0251,7.5919.5", geoMalformed, ""},
		{"geo:51.0251,7.5919abc", geoMalformed, ""},
		{"geo:51.0251,7.5919;u=9abc def", geoOK, ""}, // parameters are not numbers: a valid URI
		{"geo:51.0251", geoMalformed, ""},
		{"geo:51.0251,", geoMalformed, ""},
		{"geo:51.0251, 7.5919", geoMalformed, ""},
		{"geo:51.0251,7.5919x;u=3", geoMalformed, ""},
		// decimal commas, as German users and locale-formatting apps write them
		{"Gully-Deckel lose geo:51,02510,7,59190;u=9", geoCommaDecimal, "geo:51.0251,7.5919"},
		{"geo:48,137154,11,576124", geoCommaDecimal, "geo:48.137154,11.576124"},
		{"geo:36,68269,-6,131162;u=9", geoCommaDecimal, "geo:36.68269,-6.131162"},
		{"geo:51,0251,7", geoCommaDecimal, ""},
		{"geo:51,0,7,5,3", geoCommaDecimal, ""},
		{"geo:0,0?q=51,0251,7,5919(Ecke)", geoCommaDecimal, "geo:51.0251,7.5919"},
		{"geo:51,7", geoImprecise, ""},
		{"geo:91.0,7.0", geoOutOfRange, ""},
		{"geo:50.0,181.5", geoOutOfRange, ""},
		{"geo:0,0", geoOutOfRange, ""},
		{"geo:0.0,0.0", geoOutOfRange, ""},
		{"geo:51.0254,7.5919;crs=utm", geoOtherCRS, ""},
		{"no position here", geoOK, ""},
		{"geology: geo is not a URI here", geoOK, ""},
		{"geo:0,0?q=Hauptstraße+12", geoOK, ""}, // an address search, no position and nothing to hint at
	}
	for _, c := range cases {
		f := findGeo(c.in)
		if c.problem == geoOK && c.in == "geo:51.0251,7.5919;u=9abc def" {
			if !f.OK {
				t.Errorf("findGeo(%q) = %+v; want a position", c.in, f)
			}
			continue
		}
		if f.OK || f.Problem != c.problem || f.Suggest != c.suggest {
			t.Errorf("findGeo(%q) = %+v; want no position, problem %v, suggestion %q", c.in, f, c.problem, c.suggest)
		}
	}
}

func TestWithoutGeoURI(t *testing.T) {
	cases := []struct{ text, uri, want string }{
		{"Schlagloch geo:51.02,7.59 bitte", "geo:51.02,7.59", "Schlagloch bitte"},
		{"geo:51.02,7.59", "geo:51.02,7.59", ""},
		{"Zeile 1\ngeo:51.02,7.59\nZeile 3", "geo:51.02,7.59", "Zeile 1\n\nZeile 3"},
		{"Text", "", "Text"},
	}
	for _, c := range cases {
		if got := withoutGeoURI(c.text, c.uri); got != c.want {
			t.Errorf("withoutGeoURI(%q, %q) = %q, want %q", c.text, c.uri, got, c.want)
		}
	}
}

func FuzzFindGeo(f *testing.F) {
	for _, s := range []string{"geo:51.0254,7.5919", "geo:51,02510,7,59190;u=9", "geo:0,0?q=1.5,2.5(x y)", "geo:-0.5,-0.5,-1;crs=wgs84;u=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := findGeo(s)
		if g.OK && (g.Point.Lat < -90 || g.Point.Lat > 90 || g.Point.Lon < -180 || g.Point.Lon > 180) {
			t.Fatalf("findGeo(%q) gave an invalid position %+v", s, g.Point)
		}
	})
}

func TestGeoHint(t *testing.T) {
	de := geoHint("de", findGeo("Gully-Deckel lose geo:51,02510,7,59190;u=9"))
	if !strings.Contains(de, "geo:51.0251,7.5919") || !strings.Contains(de, "geo:51,02510,7,59190;u=9") {
		t.Errorf("German hint %q lacks the URI as sent or the right form", de)
	}
	en := geoHint("en", findGeo("geo:51.0251,7.5919abc"))
	if !strings.Contains(en, "geo:51.0251,7.5919abc") || !strings.Contains(en, "not a valid geo: link") || !strings.Contains(en, "geo:51.0251,7.5919 ") {
		t.Errorf("English hint %q lacks the URI, the reason or the right form", en)
	}
	for _, p := range []geoProblem{geoMalformed, geoCommaDecimal, geoImprecise, geoOutOfRange, geoOtherCRS} {
		for _, lang := range []string{"de", "en"} {
			if h := geoHint(lang, geoFound{Problem: p, Bad: "geo:x"}); strings.Contains(h, "%!") {
				t.Errorf("hint for problem %d in %s is broken: %q", p, lang, h)
			}
		}
	}
}
