package gateway

import (
	"cmp"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// mapLinkRE finds http(s) links in free text; mapLink decides whether one
// is a map service's link that carries a position.
var mapLinkRE = regexp.MustCompile(`(?i)https?://[^\s<>"]+`)

// findMapLink returns the position of the first map link in text that
// carries one, as the share buttons of map apps write them (the link as
// written goes to URI, so that it can be dropped from the report text):
//
//   - OpenStreetMap: ?mlat=LAT&mlon=LON, #map=ZOOM/LAT/LON, the short
//     links osm.org/go/CODE (wiki.openstreetmap.org/wiki/Shortlink);
//   - Google Maps: ?q=LAT,LON (also "loc:LAT,LON"), ?ll=, ?query= and
//     ?center= (Maps URLs API), /maps/@LAT,LON,ZOOMz, /maps/place/…/@…,
//     where the place's own !3dLAT!4dLON wins over the view's centre;
//   - Apple Maps: ?ll=, ?q=, ?sll=, ?coordinate=;
//   - OsmAnd: ?lat=&lon=, ?pin=LAT,LON, #ZOOM/LAT/LON;
//   - Waze ?ll=, Bing Maps ?cp=LAT~LON, HERE /l/LAT,LON, and the
//     destination of Google and Apple directions (?daddr=, ?destination=).
//
// Short links that only a request to the map service could resolve
// (maps.app.goo.gl, goo.gl/maps, …) are never fetched (no requests to
// hosts a sender names); they give Problem geoShortLink, so that the
// sender is asked for the position in a form that can be read. Links
// without a position (an address search) give nothing.
func findMapLink(text string) geoFound {
	var first geoFound
	for _, raw := range mapLinkRE.FindAllString(text, 8) {
		raw = trimURLTail(raw)
		f := mapLink(raw)
		if f.OK {
			f.URI = raw
			return f
		}
		if first.Problem == geoOK && f.Problem != geoOK {
			f.Bad = raw
			first = f
		}
	}
	return first
}

// mapLink reads one link (see findMapLink).
func mapLink(raw string) geoFound {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return geoFound{}
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	q := u.Query()
	switch {
	case host == "openstreetmap.org" || host == "osm.org" || strings.HasSuffix(host, ".openstreetmap.org"):
		if code, ok := strings.CutPrefix(u.Path, "/go/"); ok {
			return osmShortLink(code)
		}
		return firstPosition(pairOf(q.Get("mlat"), q.Get("mlon")), mapFragment(u.Fragment), coords(q.Get("query")))
	case host == "osmand.net":
		return firstPosition(pairOf(q.Get("lat"), q.Get("lon")), coords(q.Get("pin")), mapFragment(u.Fragment))
	case host == "maps.apple.com" || host == "maps.apple":
		f := firstPosition(coords(q.Get("coordinate")), coords(q.Get("ll")), coords(q.Get("q")), coords(q.Get("sll")),
			coords(q.Get("daddr")))
		if name := cmp.Or(q.Get("name"), q.Get("q")); f.OK && !coords(name).OK {
			f.Label = placeLabel(name)
		}
		return f
	case isGoogleMaps(host, u.Path):
		f := firstPosition(googlePlace(u.Path), coords(strings.TrimPrefix(q.Get("q"), "loc:")),
			coords(q.Get("query")), coords(q.Get("ll")), coords(q.Get("center")), coords(q.Get("destination")),
			coords(q.Get("daddr")), googleView(u.Path))
		if name, ok := strings.CutPrefix(u.Path, "/maps/place/"); f.OK && ok {
			name, _, _ = strings.Cut(name, "/")
			if n, err := url.QueryUnescape(name); err == nil && !coords(n).OK && !strings.HasPrefix(n, "@") {
				f.Label = placeLabel(n)
			}
		}
		return f
	case host == "waze.com" || host == "ul.waze.com":
		return firstPosition(coords(q.Get("ll")), coords(q.Get("to")))
	case host == "bing.com" && strings.HasPrefix(u.Path, "/maps"):
		return firstPosition(coords(strings.Replace(q.Get("cp"), "~", ",", 1)), coords(q.Get("where1")))
	case host == "share.here.com" || host == "wego.here.com":
		if rest, ok := strings.CutPrefix(u.Path, "/l/"); ok {
			lat, rest, _ := strings.Cut(rest, ",")
			lon, _, _ := strings.Cut(rest, ",")
			return pairOf(lat, lon)
		}
		return firstPosition(coords(q.Get("map")))
	case host == "maps.app.goo.gl" || host == "goo.gl" && strings.HasPrefix(u.Path, "/maps") ||
		host == "g.co" && strings.HasPrefix(u.Path, "/kgs/") || host == "omaps.app" || host == "ge0.me":
		return geoFound{Problem: geoShortLink}
	}
	return geoFound{}
}

// isGoogleMaps reports whether host and path are Google Maps
// (maps.google.TLD, google.TLD/maps…).
func isGoogleMaps(host, path string) bool {
	name, _, _ := strings.Cut(host, ".")
	rest := strings.TrimPrefix(host, name+".")
	if name == "maps" {
		name, _, _ = strings.Cut(rest, ".")
		return name == "google"
	}
	return name == "google" && (path == "/maps" || strings.HasPrefix(path, "/maps/"))
}

// firstPosition is the first of the candidates that is a position, else
// the first that says why it is none.
func firstPosition(cands ...geoFound) geoFound {
	var why geoFound
	for _, c := range cands {
		if c.OK {
			return c
		}
		if why.Problem == geoOK {
			why = c
		}
	}
	return why
}

// minViewZoom is the least zoom at which the centre of a shared map view
// (not a marker) is taken as the place: at 15 the screen spans some
// hundred metres; a view of the whole town says nothing about where.
const minViewZoom = 15

// viewAt is the centre lat,lon of a map view at zoom, or why not.
func viewAt(lat, lon, zoom string) geoFound {
	f := pairOf(lat, lon)
	if z, err := strconv.ParseFloat(zoom, 64); f.OK && (err != nil || z < minViewZoom) {
		return geoFound{Problem: geoCoarseLink}
	}
	return f
}

var (
	googleViewRE  = regexp.MustCompile(`/@(-?\d{1,3}\.\d+),(-?\d{1,3}\.\d+)(?:,(\d+(?:\.\d+)?)z)?`)
	googlePlaceRE = regexp.MustCompile(`!3d(-?\d{1,3}\.\d+)!4d(-?\d{1,3}\.\d+)`)
)

// googleView is the centre of a Google Maps view, /maps/@LAT,LON,ZOOMz.
func googleView(path string) geoFound {
	m := googleViewRE.FindStringSubmatch(path)
	if m == nil {
		return geoFound{}
	}
	if m[3] == "" {
		return pairOf(m[1], m[2]) // "@lat,lon,123m": a street-level view
	}
	return viewAt(m[1], m[2], m[3])
}

// googlePlace is the place of a /maps/place/… link (its data's !3d!4d).
func googlePlace(path string) geoFound {
	m := googlePlaceRE.FindStringSubmatch(path)
	if m == nil {
		return geoFound{}
	}
	return pairOf(m[1], m[2])
}

// mapFragment reads the "map=ZOOM/LAT/LON" (OpenStreetMap) or
// "ZOOM/LAT/LON" (OsmAnd) fragment of a map link.
func mapFragment(frag string) geoFound {
	frag = strings.TrimPrefix(frag, "map=")
	frag, _, _ = strings.Cut(frag, "&")
	parts := strings.Split(frag, "/")
	if len(parts) != 3 {
		return geoFound{}
	}
	return viewAt(parts[1], parts[2], parts[0])
}

// coords reads "LAT,LON" (spaces and a "+" sign allowed) as map
// services write it in their parameters.
func coords(s string) geoFound {
	lat, lon, ok := strings.Cut(s, ",")
	if !ok {
		return geoFound{}
	}
	return pairOf(lat, lon)
}

// pairOf is the position with the decimal degrees lat and lon, if both
// are plain decimal numbers ("51.0251", "-7.5", "+7.59": no exponents,
// no NaN) in range and not 0,0.
func pairOf(lat, lon string) geoFound {
	la, ok1 := decimalDegrees(lat)
	lo, ok2 := decimalDegrees(lon)
	if !ok1 || !ok2 || la < -90 || la > 90 || lo < -180 || lo > 180 || (la == 0 && lo == 0) {
		return geoFound{}
	}
	return geoFound{Point: geoPoint{Lat: la, Lon: lo}, OK: true}
}

func decimalDegrees(s string) (float64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	n := scanNumber(s)
	if n == "" || n != s || !strings.Contains(n, ".") {
		return 0, false
	}
	f, err := strconv.ParseFloat(n, 64)
	return f, err == nil
}

// osmShortLinkChars is the alphabet of OpenStreetMap short links; old
// links use "@" for "~".
const osmShortLinkChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~"

// osmMinShortLinkChars is the shortest short link read: seven characters
// are 21 bits per axis, about 19 m; shorter ones name an area, not a place.
const osmMinShortLinkChars = 7

// osmShortLink decodes an OpenStreetMap short link code (the part after
// /go/; wiki.openstreetmap.org/wiki/Shortlink): each character carries
// three bits of longitude and three of latitude, interleaved, most
// significant first; trailing "-" only adjust the zoom. The position is
// the middle of the cell the code names.
func osmShortLink(code string) geoFound {
	code, _, _ = strings.Cut(code, "?")
	code = strings.TrimRight(code, "-")
	if len(code) < osmMinShortLinkChars {
		return geoFound{Problem: geoCoarseLink}
	}
	if len(code) > 10 {
		return geoFound{Problem: geoMalformed}
	}
	var x, y uint64
	bits := 0
	for _, c := range code {
		if c == '@' {
			c = '~'
		}
		t := strings.IndexRune(osmShortLinkChars, c)
		if t < 0 {
			return geoFound{Problem: geoMalformed}
		}
		for i := 0; i < 3; i++ {
			x = x<<1 | uint64(t>>5&1)
			y = y<<1 | uint64(t>>4&1)
			t <<= 2
		}
		bits += 3
	}
	// The cell's middle: one more bit, set, then scale to 32 bits.
	x, y = (x<<1|1)<<(31-bits), (y<<1|1)<<(31-bits)
	lon := float64(x)*360/(1<<32) - 180
	lat := float64(y)*180/(1<<32) - 90
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return geoFound{Problem: geoOutOfRange}
	}
	return geoFound{Point: geoPoint{Lat: lat, Lon: lon}, OK: true}
}

// placeLabel is a place name from a map link, fit to stand as the
// report's text when the link was all of it: trimmed, at most 120 runes.
func placeLabel(name string) string {
	return clip(strings.Join(strings.Fields(name), " "), 120)
}
