package routing

import (
	"fmt"
	"math"
	"path/filepath"
)

// plausibleKm: when every area lies farther than this from the town's
// centre (or from every position of its rule tests), the district file is
// almost certainly in the wrong place: swapped axes, another CRS, or the
// wrong town.
const plausibleKm = 50

type rawPoint struct {
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`
}

// distanceToAreasKm is the distance in km from p to the nearest area's
// bounding box (0 inside one); +Inf without areas.
func (rs *RuleSet) distanceToAreasKm(p Point) float64 {
	best := math.Inf(1)
	for i := range rs.areas {
		b := rs.areas[i].box
		x := math.Min(math.Max(p.Lon, b.minX), b.maxX)
		y := math.Min(math.Max(p.Lat, b.minY), b.maxY)
		dx := (x - p.Lon) * metresPerDegree * cosDeg((y+p.Lat)/2)
		dy := (y - p.Lat) * metresPerDegree
		best = math.Min(best, math.Hypot(dx, dy)/1000)
	}
	return best
}

// AreasFarFrom reports whether every area lies more than 50 km from every
// one of the positions (for example those of the rule tests), and the
// smallest such distance in km. Without areas or positions it reports
// false.
func (rs *RuleSet) AreasFarFrom(ps []Point) (km float64, far bool) {
	if len(rs.areas) == 0 || len(ps) == 0 {
		return 0, false
	}
	km = math.Inf(1)
	for _, p := range ps {
		km = math.Min(km, rs.distanceToAreasKm(p))
	}
	return km, km > plausibleKm
}

// checkCentre warns when all areas lie far from the configured centre,
// and refuses the district file when they lie far from it as read but
// near it with latitude and longitude exchanged: then the file's axis
// order is the other one (a [latitude, longitude] file without "crs",
// or a "crs" member naming the wrong order), and every district would be
// in the wrong place.
func (c *compiler) checkCentre(raw *rawAreas, geoFile string) {
	if raw.Centre == nil || len(c.rs.areas) == 0 {
		return
	}
	p := Point{Lat: raw.Centre.V.Lat, Lon: raw.Centre.V.Lon}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
		c.ps.add(raw.Centre.Line, "areas: centre {lat: %g, lon: %g} is out of range", p.Lat, p.Lon)
		return
	}
	if km, far := c.rs.AreasFarFrom([]Point{p}); far {
		if swappedKm := c.rs.distanceToAreasKm(Point{Lat: p.Lon, Lon: p.Lat}); swappedKm <= plausibleKm {
			c.ps.addIn(geoFile, 1, "all %d areas lie %.0f km or more from the town's centre (areas.centre %.4f, %.4f), but with latitude and longitude exchanged within %.0f km: the positions are in the other axis order than they were read (GeoJSON is [longitude, latitude], RFC 7946 §3.1.1; a \"crs\" member such as urn:ogc:def:crs:EPSG::4326 means [latitude, longitude]); fix the file or its \"crs\" member, e.g. ogr2ogr -f GeoJSON -t_srs EPSG:4326 -lco RFC7946=YES fixed.geojson %s",
				len(c.rs.areas), km, p.Lat, p.Lon, swappedKm, filepath.Base(geoFile))
			return
		}
		c.ps.warnIn(c.path, raw.Centre.Line, "%s", farMessage(len(c.rs.areas), km, fmt.Sprintf("the town's centre (areas.centre %.4f, %.4f)", p.Lat, p.Lon)))
	}
}

// farMessage explains an implausible district file.
func farMessage(n int, km float64, from string) string {
	return fmt.Sprintf("all %d areas lie %.0f km or more from %s: is the district file in [latitude, longitude] order, in a projected CRS, or of another town?", n, km, from)
}

// FarMessage is the warning `rules test` prints when all areas lie far
// from every position of the rule tests.
func FarMessage(rs *RuleSet, km float64) string {
	return farMessage(len(rs.areas), km, "every position in the rule tests")
}
