package gateway

import (
	"regexp"
	"strconv"
	"strings"
)

// Coordinates as people paste them from map apps, in decimal degrees
// ("51.0251, 7.5919", Apple Maps' "51.0251° N, 7.5919° E") or degrees,
// minutes and seconds (Google Maps' "51°01'30.4"N 7°35'30.8"E"). German
// texts write Ost ("O") for east. Decimals need at least four places
// (about 11 m): fewer are rarely a position ("Hausnummer 12, 7.5 m").
var (
	decimalCoordsRE = regexp.MustCompile(`(?i)(?:^|[^\d.,\-+])([-+]?\d{1,2}\.\d{4,})\s*°?\s*(?:([NS])\b)?\s*(?:[,;/]\s*|\s+)([-+]?\d{1,3}\.\d{4,})\s*°?\s*(?:([EOW])\b)?`)
	dmsCoordsRE     = regexp.MustCompile(`(?i)(\d{1,2})\s*°\s*(\d{1,2})\s*['′’]\s*(\d{1,2}(?:[.,]\d+)?)\s*(?:["″”]|'')?\s*([NS])[\s,;/]+(\d{1,3})\s*°\s*(\d{1,2})\s*['′’]\s*(\d{1,2}(?:[.,]\d+)?)\s*(?:["″”]|'')?\s*([EOW])`)
)

// findCoordinates returns the first pair of coordinates written in text
// (see decimalCoordsRE, dmsCoordsRE), with URI set to the pair as
// written so that it can be dropped from the report text. A pair out of
// range, or 0,0, gives nothing.
func findCoordinates(text string) geoFound {
	// Numbers inside links are the links' business (maplink.go): a map
	// view's centre is no place. Blanked, not cut, so that positions
	// still index the text.
	scan := mapLinkRE.ReplaceAllStringFunc(text, func(u string) string { return strings.Repeat(" ", len(u)) })
	if m := dmsCoordsRE.FindStringSubmatchIndex(scan); m != nil {
		s := func(i int) string { return text[m[2*i]:m[2*i+1]] }
		lat, ok1 := dms(s(1), s(2), s(3), s(4))
		lon, ok2 := dms(s(5), s(6), s(7), s(8))
		if ok1 && ok2 {
			if f := pairOf(strconv.FormatFloat(lat, 'f', 7, 64), strconv.FormatFloat(lon, 'f', 7, 64)); f.OK {
				f.URI = text[m[0]:m[1]]
				return f
			}
		}
	}
	for _, m := range decimalCoordsRE.FindAllStringSubmatchIndex(scan, 8) {
		s := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return text[m[2*i]:m[2*i+1]]
		}
		lat, latH, lon, lonH := s(1), s(2), s(3), s(4)
		if next := m[1]; lonH == "" && next < len(text) && (isDigit(text[next]) || text[next] == '.') {
			continue // a longer number, not a coordinate
		}
		if hemisphere(latH) < 0 {
			lat = "-" + strings.TrimLeft(lat, "+-")
		}
		if hemisphere(lonH) < 0 {
			lon = "-" + strings.TrimLeft(lon, "+-")
		}
		if f := pairOf(lat, lon); f.OK {
			f.URI = strings.TrimSpace(text[m[2]:m[1]])
			return f
		}
	}
	return geoFound{}
}

// dms converts degrees, minutes, seconds (decimal comma allowed) and a
// hemisphere letter to signed decimal degrees.
func dms(deg, min, sec, hemi string) (float64, bool) {
	d, err1 := strconv.ParseFloat(deg, 64)
	m, err2 := strconv.ParseFloat(min, 64)
	s, err3 := strconv.ParseFloat(strings.ReplaceAll(sec, ",", "."), 64)
	if err1 != nil || err2 != nil || err3 != nil || m >= 60 || s >= 60 {
		return 0, false
	}
	v := d + m/60 + s/3600
	if hemisphere(hemi) < 0 {
		v = -v
	}
	return v, true
}

// hemisphere is -1 for south and west, 1 otherwise.
func hemisphere(h string) int {
	switch strings.ToUpper(h) {
	case "S", "W":
		return -1
	}
	return 1
}
