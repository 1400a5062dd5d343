package routing

// The legacy GeoJSON "crs" member (GeoJSON 2008 §3; RFC 7946 §4 dropped
// it, but WFS servers and open-data portals still write it).

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// axisOrder says how to read a file's positions.
type axisOrder int

const (
	lonLat axisOrder = iota // RFC 7946: [longitude, latitude]
	latLon                  // the EPSG axis order of geographic CRSs: [latitude, longitude]
)

// geographicCodes are EPSG codes of geographic CRSs fieldgate accepts as
// WGS 84 within a metre or so (ETRS89 and NAD83 differ from WGS 84 by
// less than a report's GPS error).
var geographicCodes = map[string]string{
	"4326": "WGS 84",
	"4258": "ETRS89",
	"4269": "NAD83",
	"4979": "WGS 84 (3D)", // geographic 3D: latitude, longitude, height
	"4937": "ETRS89 (3D)",
}

// projectedNames names projected CRSs common on European open-data
// portals, for error messages.
var projectedNames = map[string]string{
	"25831": "ETRS89 / UTM zone 31N", "25832": "ETRS89 / UTM zone 32N", "25833": "ETRS89 / UTM zone 33N",
	"31466": "DHDN / 3-degree Gauss-Krüger zone 2", "31467": "DHDN / 3-degree Gauss-Krüger zone 3",
	"31468": "DHDN / 3-degree Gauss-Krüger zone 4", "31469": "DHDN / 3-degree Gauss-Krüger zone 5",
	"3857": "WGS 84 / Pseudo-Mercator", "3035": "ETRS89 / LAEA Europe", "2056": "CH1903+ / LV95",
	"31287": "MGI / Austria Lambert", "28992": "Amersfoort / RD New", "2154": "RGF93 / Lambert-93",
}

var (
	crs84Re   = regexp.MustCompile(`(?i)^(urn:ogc:def:crs:ogc:[0-9.]*:crs84|https?://www\.opengis\.net/def/crs/ogc/[0-9.]+/crs84|(ogc:)?crs:?84|wgs ?84)$`) // also WMS "CRS:84"
	shortRe   = regexp.MustCompile(`(?i)^epsg:+(\d+)$`)                                                                                                     // EPSG:4326: traditional x/y order
	gmlRe     = regexp.MustCompile(`(?i)^https?://www\.opengis\.net/gml/srs/epsg\.xml#(\d+)$`)                                                              // also x/y
	authorRe  = regexp.MustCompile(`(?i)^urn:(x-)?ogc:def:crs:epsg:([0-9.]*:)?(\d+)$`)                                                                      // EPSG axis order (also without the version field)
	authorURL = regexp.MustCompile(`(?i)^https?://www\.opengis\.net/def/crs/epsg/[0-9.]+/(\d+)$`)
)

// convertHint tells how to turn file into what fieldgate reads.
func convertHint(file string) string {
	return "convert it to WGS 84 longitude/latitude, e.g. with GDAL: ogr2ogr -f GeoJSON -t_srs EPSG:4326 -lco RFC7946=YES wgs84.geojson " + filepath.Base(file)
}

// readCRS finds the file's "crs" member and decides the axis order. A
// projected or unknown CRS is an error naming it and how to convert; the
// [latitude, longitude] order is a warning (positions are swapped).
func readCRS(file string, data []byte, warn, fail func(line int, format string, args ...any)) (axisOrder, bool) {
	var doc struct {
		CRS *struct {
			Type       string `json:"type"`
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
		} `json:"crs"`
	}
	if json.Unmarshal(data, &doc) != nil || doc.CRS == nil {
		return lonLat, true // syntax errors are reported by the parser
	}
	line := crsLine(data)
	name := strings.TrimSpace(doc.CRS.Properties.Name)
	if !strings.EqualFold(doc.CRS.Type, "name") || name == "" {
		warn(line, `"crs" member of type %q is not understood; positions are read as WGS 84 [longitude, latitude] (RFC 7946)`, doc.CRS.Type)
		return lonLat, true
	}
	if crs84Re.MatchString(name) {
		return lonLat, true
	}
	code, order := "", lonLat
	for _, re := range []*regexp.Regexp{shortRe, gmlRe} {
		if m := re.FindStringSubmatch(name); m != nil {
			code = m[len(m)-1]
		}
	}
	for _, re := range []*regexp.Regexp{authorRe, authorURL} {
		if m := re.FindStringSubmatch(name); m != nil {
			code, order = m[len(m)-1], latLon
		}
	}
	if code == "" {
		fail(line, `"crs" %q is not a CRS fieldgate knows; %s`, name, convertHint(file))
		return lonLat, false
	}
	what, ok := geographicCodes[code]
	if !ok {
		desc := "a projected or unsupported CRS"
		if n, ok := projectedNames[code]; ok {
			desc = n + ", a projected CRS in metres"
		}
		fail(line, `"crs" is EPSG:%s (%s), but fieldgate reads WGS 84 [longitude, latitude] in degrees (RFC 7946); %s`, code, desc, convertHint(file))
		return lonLat, false
	}
	if order == latLon {
		warn(line, `"crs" %q (%s) puts latitude first; the positions were read as [latitude, longitude] and swapped (RFC 7946 order is [longitude, latitude]; re-export with ogr2ogr -lco RFC7946=YES to avoid this)`, name, what)
	}
	return order, true
}

// crsLine is the line of the "crs" key (1 if not found).
func crsLine(data []byte) int {
	i := strings.Index(string(data), `"crs"`)
	if i < 0 {
		return 1
	}
	return 1 + strings.Count(string(data[:i]), "\n")
}

// looksProjected reports whether a position out of the degree range is
// rather a projected coordinate in metres.
func looksProjected(x, y float64) bool {
	return max(abs(x), abs(y)) > 1000
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// projectedHint is the message for positions in metres without a crs.
func projectedHint(file string, x, y float64) string {
	return fmt.Sprintf("[%g, %g] is not a longitude/latitude in degrees: the file looks projected (metres, e.g. UTM); %s", x, y, convertHint(file))
}
