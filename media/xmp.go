package media

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Position sources of Metadata.PositionSource.
const (
	SourceEXIF = "exif" // the EXIF GPS IFD
	SourceXMP  = "xmp"  // XMP exif:GPSLatitude/exif:GPSLongitude
)

// maxXMPValue bounds a property value; a GPSCoordinate is at most ~20 bytes.
const maxXMPValue = 64

// xmpGPS reads exif:GPSLatitude and exif:GPSLongitude from an XMP packet
// (bounded by the caller, at most one 64 KiB APP1 segment). Both the
// attribute form (exif:GPSLatitude="51,1.506N") and the element form
// (<exif:GPSLatitude>51,1.506N</exif:GPSLatitude>) are read. Values are
// XMP GPSCoordinate ("DDD,MM,SSk" or "DDD,MM.mmk", k one of N S E W; XMP
// Specification Part 2, §1.2.6.1 EXIF schema) or decimal degrees with an
// optional k. nil when either is missing or invalid, or the point is 0,0.
func xmpGPS(packet []byte) *Position {
	lat, ok1 := xmpCoordinate(xmpProperty(packet, "exif:GPSLatitude"), 'N', 'S', 90)
	lon, ok2 := xmpCoordinate(xmpProperty(packet, "exif:GPSLongitude"), 'E', 'W', 180)
	if !ok1 || !ok2 || (lat == 0 && lon == 0) {
		return nil
	}
	return &Position{Lat: lat, Lon: lon}
}

// xmpProperty returns the value of the first simple property name in an
// XMP packet, as an attribute or an element; "" if absent.
func xmpProperty(p []byte, name string) string {
	for {
		i := bytes.Index(p, []byte(name))
		if i < 0 {
			return ""
		}
		p = p[i+len(name):]
		var v []byte
		switch {
		case len(p) > 2 && p[0] == '=' && (p[1] == '"' || p[1] == '\''):
			q := p[1]
			v = p[2:]
			if j := bytes.IndexByte(v, q); j >= 0 && j <= maxXMPValue {
				return strings.TrimSpace(string(v[:j]))
			}
		case len(p) > 1 && p[0] == '>':
			v = p[1:]
			if j := bytes.IndexByte(v, '<'); j >= 0 && j <= maxXMPValue {
				return strings.TrimSpace(string(v[:j]))
			}
		}
	}
}

// xmpCoordinate parses a GPSCoordinate; pos and neg are the reference
// letters, limit the largest absolute value in degrees.
func xmpCoordinate(s string, pos, neg byte, limit float64) (float64, bool) {
	if s == "" {
		return 0, false
	}
	sign := 1.0
	switch s[len(s)-1] {
	case pos, pos + 'a' - 'A':
		s = s[:len(s)-1]
	case neg, neg + 'a' - 'A':
		sign, s = -1, s[:len(s)-1]
	}
	parts := strings.Split(s, ",")
	if len(parts) > 3 {
		return 0, false
	}
	var v float64
	scale := 1.0
	for i, part := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || (i > 0 && (f < 0 || f >= 60)) {
			return 0, false
		}
		if i > 0 && strings.Contains(parts[i-1], ".") {
			return 0, false // only the last part may have decimals
		}
		v += f / scale
		scale *= 60
	}
	if v < 0 {
		if len(parts) > 1 || sign < 0 {
			return 0, false
		}
		sign, v = -1, -v
	}
	v *= sign
	if v < -limit || v > limit {
		return 0, false
	}
	return v, true
}

// withXMPPosition takes the XMP position when EXIF gave none, and records
// which of the two the position came from.
func withXMPPosition(md *Metadata, xmp *Position) {
	switch {
	case md.Position != nil:
		md.PositionSource = SourceEXIF
	case xmp != nil:
		md.Position, md.PositionSource, md.NoPositionReason = xmp, SourceXMP, ""
	}
}
