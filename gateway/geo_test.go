package gateway

import "testing"

func TestParseGeoURI(t *testing.T) {
	cases := []struct {
		in       string
		ok       bool
		lat, lon float64
		alt      bool
	}{
		{"geo:51.0254,7.5919", true, 51.0254, 7.5919, false},
		{"Schlagloch hier geo:51.0254,7.5919;u=12 bitte", true, 51.0254, 7.5919, false},
		{"GEO:-33.5,151.25,40", true, -33.5, 151.25, true},
		{"geo:51.0254,7.5919;crs=wgs84", true, 51.0254, 7.5919, false},
		{"geo:51.0254,7.5919;crs=utm", false, 0, 0, false},
		{"geo:91,7", false, 0, 0, false},
		{"geo:50,181", false, 0, 0, false},
		{"geo:0,0", false, 0, 0, false},
		{"no position here", false, 0, 0, false},
		{"geo:0,0 then geo:50.1,8.2", true, 50.1, 8.2, false},
	}
	for _, c := range cases {
		p, ok := parseGeoURI(c.in)
		if ok != c.ok || (ok && (p.Lat != c.lat || p.Lon != c.lon || (p.Alt != nil) != c.alt)) {
			t.Errorf("parseGeoURI(%q) = %+v, %v; want %v,%v alt=%v ok=%v", c.in, p, ok, c.lat, c.lon, c.alt, c.ok)
		}
	}
}
