package gateway

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// geoSchemeRE finds where a geo URI may start in free text.
var geoSchemeRE = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])(geo:)`)

// geoPoint is a position parsed from a message.
type geoPoint struct {
	Lat, Lon float64
	Alt      *float64
}

// geoProblem says why a geo URI in a message gave no position.
type geoProblem int

const (
	geoOK           geoProblem = iota
	geoMalformed               // not RFC 5870: a number not ended by a delimiter, a missing coordinate
	geoCommaDecimal            // decimal commas ("geo:51,0251,7,5919"): never read as another place
	geoImprecise               // whole degrees only (±111 km): almost always a mangled comma-decimal
	geoOutOfRange              // latitude outside ±90, longitude outside ±180, or 0,0
	geoOtherCRS                // crs other than wgs84 (RFC 5870 §3.4.1)
	geoShortLink               // a map service's short link (maplink.go): never opened
	geoCoarseLink              // a map link that names an area (a short OpenStreetMap code)
	geoBadGeoloc               // an XEP-0080 geoloc without a valid lat/lon
)

// geoFound is the result of looking for geo URIs in a message.
type geoFound struct {
	Point geoPoint
	OK    bool   // Point is a usable WGS 84 position
	URI   string // the URI as written (to drop it from the report text when OK)
	Label string // Android intent label "(…)", if any
	// Problem is set when the text had a geo URI but none gave a position;
	// Suggest is then the URI the sender probably meant ("geo:51.0251,7.5919"),
	// or "" when it cannot be told.
	Problem geoProblem
	Suggest string
	Bad     string // the refused URI as written
}

// findGeo returns the first usable geo URI (RFC 5870) in text, or why the
// geo URIs it has gave none.
//
// It is strict where RFC 5870 §3.3 is: each number is "-"? 1*DIGIT ["." 1*DIGIT]
// and must be ended by a delimiter ("," ";" "?" or the end of the URI: white
// space, the end of the text, or a closing punctuation mark followed by
// either), so "geo:51.0251,7.5919.5" and "geo:51.0251,7.5919abc" are
// refused. It is forgiving where people and locale-formatting apps are:
// decimal commas ("geo:51,02510,7,59190") are recognised and answered with
// the right form instead of being read as lat 51, lon 2510. The Android
// intent form "geo:0,0?q=LAT,LON(label)" is read from its q parameter.
func findGeo(text string) geoFound {
	var first geoFound
	for _, loc := range geoSchemeRE.FindAllStringSubmatchIndex(text, 8) {
		f := parseGeoAt(text, loc[2])
		if f.OK {
			return f
		}
		if first.Problem == geoOK && f.Problem != geoOK {
			first = f
		}
	}
	return first
}

// parseGeoAt parses the geo URI that starts at text[start:] ("geo:" in any case).
func parseGeoAt(text string, start int) geoFound {
	s := text[start+len("geo:"):]
	nums, rest := scanNumbers(s)
	end := len(s) - len(rest)
	// The URI ends at white space; everything up to there must be parameters.
	params, tail := cutURIEnd(rest)
	uri := text[start : start+len("geo:")+end+len(params)]
	bad := func(p geoProblem, suggest string) geoFound {
		// Show the refused URI as written, up to the next white space.
		written := text[start:]
		if i := strings.IndexAny(written, " \t\r\n"); i >= 0 {
			written = written[:i]
		}
		return geoFound{Problem: p, Suggest: suggest, Bad: written}
	}
	if !endsURI(tail) {
		return bad(geoMalformed, "")
	}
	if len(nums) == 4 && allDigits(nums) {
		return bad(geoCommaDecimal, commaSuggestion(nums))
	}
	if len(nums) < 2 || len(nums) > 3 {
		if len(nums) > 4 {
			return bad(geoCommaDecimal, "")
		}
		return bad(geoMalformed, "")
	}
	if params != "" && !strings.HasPrefix(params, ";") && !strings.HasPrefix(params, "?") {
		return bad(geoMalformed, "")
	}
	query := ""
	if i := strings.IndexByte(params, '?'); i >= 0 {
		params, query = params[:i], params[i+1:]
	}
	if !wgs84(params) {
		return bad(geoOtherCRS, "")
	}
	if nums[0] == "0" && nums[1] == "0" && query != "" {
		// Android intent: geo:0,0?q=LAT,LON(label) — the place is in q.
		f := parseIntentQuery(query)
		f.URI = uri
		if !f.OK {
			f.Bad = uri
		}
		return f
	}
	if len(nums) == 3 && allDigits(nums) {
		// "geo:51,0251,7" and the like: commas typed as decimal marks.
		return bad(geoCommaDecimal, "")
	}
	if !strings.Contains(nums[0], ".") && !strings.Contains(nums[1], ".") {
		if nums[0] == "0" && nums[1] == "0" {
			return bad(geoOutOfRange, "")
		}
		return bad(geoImprecise, "")
	}
	lat, _ := strconv.ParseFloat(nums[0], 64)
	lon, _ := strconv.ParseFloat(nums[1], 64)
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 || (lat == 0 && lon == 0) {
		return bad(geoOutOfRange, "")
	}
	p := geoPoint{Lat: lat, Lon: lon}
	if len(nums) == 3 {
		alt, _ := strconv.ParseFloat(nums[2], 64)
		p.Alt = &alt
	}
	return geoFound{Point: p, OK: true, URI: uri}
}

// parseIntentQuery reads "LAT,LON(label)" from an Android geo intent's q.
func parseIntentQuery(query string) geoFound {
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "q" {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		v = strings.TrimSpace(v)
		label := ""
		if i := strings.IndexByte(v, '('); i >= 0 && strings.HasSuffix(v, ")") {
			v, label = strings.TrimSpace(v[:i]), v[i+1:len(v)-1]
		}
		nums, rest := scanNumbers(strings.ReplaceAll(v, ", ", ","))
		if rest != "" || len(nums) < 2 {
			return geoFound{} // q is an address search, not a position
		}
		if len(nums) == 4 && allDigits(nums) {
			return geoFound{Problem: geoCommaDecimal, Suggest: commaSuggestion(nums)}
		}
		if len(nums) != 2 {
			return geoFound{Problem: geoMalformed}
		}
		lat, _ := strconv.ParseFloat(nums[0], 64)
		lon, _ := strconv.ParseFloat(nums[1], 64)
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 || (lat == 0 && lon == 0) {
			return geoFound{Problem: geoOutOfRange}
		}
		return geoFound{Point: geoPoint{Lat: lat, Lon: lon}, OK: true, Label: label}
	}
	return geoFound{}
}

// scanNumbers reads RFC 5870 numbers separated by "," from the start of s
// and returns them and what follows the last one.
func scanNumbers(s string) ([]string, string) {
	var nums []string
	for {
		n := scanNumber(s)
		if n == "" {
			return nums, s
		}
		nums = append(nums, n)
		s = s[len(n):]
		if len(s) >= 2 && s[0] == ',' && (isDigit(s[1]) || s[1] == '-') {
			s = s[1:]
			continue
		}
		return nums, s
	}
}

// scanNumber returns the RFC 5870 num at the start of s: "-"? 1*DIGIT ["." 1*DIGIT].
func scanNumber(s string) string {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == d {
		return ""
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return s[:i]
}

// cutURIEnd splits rest into the URI's parameters (";…", "?…") and what
// follows the URI. An Android intent label "(…)" may contain spaces.
func cutURIEnd(rest string) (params, tail string) {
	if rest == "" || (rest[0] != ';' && rest[0] != '?') {
		return "", rest
	}
	i := strings.IndexAny(rest, " \t\r\n")
	if i < 0 {
		i = len(rest)
	}
	if open := strings.IndexByte(rest[:i], '('); open >= 0 && !strings.Contains(rest[open:i], ")") {
		if cl := strings.IndexAny(rest[open:], ")\n"); cl >= 0 && rest[open+cl] == ')' {
			i = open + cl + 1
		}
	}
	params = rest[:i]
	for params != "" && strings.ContainsRune(".,!", rune(params[len(params)-1])) ||
		strings.HasSuffix(params, ")") && strings.Count(params, ")") > strings.Count(params, "(") {
		params = params[:len(params)-1]
	}
	return params, rest[len(params):]
}

// endsURI reports whether tail may follow a geo URI: nothing, white space,
// or sentence punctuation followed by either.
func endsURI(tail string) bool {
	t := strings.TrimLeft(tail, ".,!?:)]\"'»“”")
	return t == "" || t[0] == ' ' || t[0] == '\t' || t[0] == '\r' || t[0] == '\n'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(nums []string) bool {
	for _, n := range nums {
		if strings.Contains(n, ".") {
			return false
		}
	}
	return true
}

// commaSuggestion rebuilds "geo:A.B,C.D" from the four parts of a
// comma-decimal URI, if that is a valid position.
func commaSuggestion(nums []string) string {
	if strings.HasPrefix(nums[1], "-") || strings.HasPrefix(nums[3], "-") {
		return ""
	}
	lat, err1 := strconv.ParseFloat(nums[0]+"."+nums[1], 64)
	lon, err2 := strconv.ParseFloat(nums[2]+"."+nums[3], 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 || (lat == 0 && lon == 0) {
		return ""
	}
	return "geo:" + strconv.FormatFloat(lat, 'f', -1, 64) + "," + strconv.FormatFloat(lon, 'f', -1, 64)
}

// wgs84 reports whether the parameters name no crs or wgs84 (RFC 5870 §3.4.1).
func wgs84(params string) bool {
	for _, p := range strings.Split(strings.ToLower(params), ";") {
		if v, ok := strings.CutPrefix(p, "crs="); ok && v != "wgs84" {
			return false
		}
	}
	return true
}

// withoutGeoURI removes a parsed geo URI from the report text, so the post
// shows the position once (on its 📍 line), not again as text.
func withoutGeoURI(text, uri string) string {
	i := strings.Index(text, uri)
	if uri == "" || i < 0 {
		return text
	}
	before := strings.TrimRight(text[:i], " \t")
	after := strings.TrimLeft(text[i+len(uri):], " \t")
	if before != "" && after != "" && !strings.HasSuffix(before, "\n") && !strings.HasPrefix(after, "\n") {
		before += " "
	}
	return strings.TrimSpace(before + after)
}

// geoHint is the reply to a geo URI that gave no position: the right form,
// in the sender's language.
func geoHint(lang string, f geoFound) string {
	if f.Suggest != "" {
		return msg.For(lang).GeoSuggest(f.Bad, f.Suggest)
	}
	t := msg.For(lang)
	why := map[geoProblem]func() string{
		geoMalformed: t.GeoMalformed, geoCommaDecimal: t.GeoCommaDecimal, geoImprecise: t.GeoImprecise,
		geoOutOfRange: t.GeoOutOfRange, geoOtherCRS: t.GeoOtherCRS,
		geoShortLink: t.GeoShortLink, geoCoarseLink: t.GeoCoarseLink, geoBadGeoloc: t.GeoLocationInvalid,
	}[f.Problem]
	if why == nil {
		why = t.GeoMalformed
	}
	return t.GeoHint(f.Bad, why())
}

// position reads an XEP-0080 User Location's lat and lon (decimal
// degrees, XEP-0080 §4: xs:decimal). ok is false when either is missing;
// found then tells whether the element had a position that is not valid
// (not a number, out of range, 0,0), which the sender is told about.
func (gl *geolocElem) position() (p geoPoint, ok bool, found geoFound) {
	if gl == nil || (gl.Lat == nil && gl.Lon == nil) {
		return geoPoint{}, false, geoFound{}
	}
	lat, lon := "", ""
	if gl.Lat != nil {
		lat = strings.TrimSpace(*gl.Lat)
	}
	if gl.Lon != nil {
		lon = strings.TrimSpace(*gl.Lon)
	}
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(lon, 64)
	if err1 != nil || err2 != nil || la != la || lo != lo || la < -90 || la > 90 || lo < -180 || lo > 180 || (la == 0 && lo == 0) {
		return geoPoint{}, false, geoFound{Problem: geoBadGeoloc, Bad: "lat " + clip(lat, 24) + " · lon " + clip(lon, 24)}
	}
	return geoPoint{Lat: la, Lon: lo}, true, geoFound{}
}

// clip shortens s to at most n runes, for echoing input back.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
