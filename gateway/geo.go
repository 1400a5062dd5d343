package gateway

import (
	"regexp"
	"strconv"
	"strings"
)

// geoURIRE finds RFC 5870 geo URIs in free text. Parameters after ';' are
// matched too so that a non-WGS84 crs can be refused.
var geoURIRE = regexp.MustCompile(`(?i)\bgeo:(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)(?:,(-?\d+(?:\.\d+)?))?((?:;[a-z0-9-]+(?:=[^;\s]*)?)*)`)

// geoPoint is a position parsed from a message.
type geoPoint struct {
	Lat, Lon float64
	Alt      *float64
}

// parseGeoURI returns the first usable geo URI in text. URIs with a crs
// other than wgs84, or coordinates out of range, are ignored.
func parseGeoURI(text string) (geoPoint, bool) {
	for _, m := range geoURIRE.FindAllStringSubmatch(text, 4) {
		lat, err1 := strconv.ParseFloat(m[1], 64)
		lon, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if !wgs84(m[4]) || lat < -90 || lat > 90 || lon < -180 || lon > 180 || (lat == 0 && lon == 0) {
			continue
		}
		p := geoPoint{Lat: lat, Lon: lon}
		if m[3] != "" {
			if alt, err := strconv.ParseFloat(m[3], 64); err == nil {
				p.Alt = &alt
			}
		}
		return p, true
	}
	return geoPoint{}, false
}

func wgs84(params string) bool {
	for _, p := range strings.Split(strings.ToLower(params), ";") {
		if v, ok := strings.CutPrefix(p, "crs="); ok && v != "wgs84" {
			return false
		}
	}
	return true
}
