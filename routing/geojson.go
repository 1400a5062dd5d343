package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// parseGeoJSON reads a FeatureCollection of Polygon and MultiPolygon
// features. Every problem is reported with the line of its feature.
func parseGeoJSON(file string, data []byte, nameProp string, ps *problems) []area {
	// A UTF-8 byte order mark, as Windows editors and some ArcGIS exports
	// write it; RFC 8259 §8.1 lets a parser ignore it.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int {
		// skip separators to the start of the next value
		for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n,:["), data[off]) >= 0 {
			off++
		}
		return 1 + bytes.Count(data[:off], []byte("\n"))
	}
	fail := func(line int, format string, args ...any) { ps.addIn(file, line, format, args...) }
	warn := func(line int, format string, args ...any) { ps.warnIn(file, line, format, args...) }
	order, ok := readCRS(file, data, warn, fail)
	if !ok {
		return nil
	}
	syntax := func(err error) {
		line := lineAt(dec.InputOffset())
		var se *json.SyntaxError
		if e, ok := err.(*json.SyntaxError); ok {
			se = e
			line = 1 + bytes.Count(data[:min(se.Offset, int64(len(data)))], []byte("\n"))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("unexpected end of file")
		}
		fail(line, "invalid GeoJSON: %v", err)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == nil {
			err = fmt.Errorf("want a FeatureCollection object")
		}
		syntax(err)
		return nil
	}
	var areas []area
	seen := map[string]int{}
	sawFeatures := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			syntax(err)
			return nil
		}
		key, _ := t.(string)
		if esriKeys[key] {
			fail(1, "this is Esri JSON (ArcGIS %q), not GeoJSON: request the ArcGIS service with f=geojson, or convert it: ogr2ogr -f GeoJSON -t_srs EPSG:4326 -lco RFC7946=YES districts.geojson %s", key, filepath.Base(file))
			return nil
		}
		if key != "features" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				syntax(err)
				return nil
			}
			continue
		}
		sawFeatures = true
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			if err == nil {
				err = fmt.Errorf(`"features" must be a list`)
			}
			syntax(err)
			return nil
		}
		for dec.More() {
			line := lineAt(dec.InputOffset())
			var f geoFeature
			if err := dec.Decode(&f); err != nil {
				if _, ok := err.(*json.UnmarshalTypeError); ok {
					fail(line, "feature: %v", err)
					continue
				}
				syntax(err)
				return nil
			}
			a, ok := f.toArea(file, line, nameProp, order, fail, warn)
			if !ok {
				continue
			}
			if prev, dup := seen[a.name]; dup {
				// Shapefile-based exports (ArcGIS, QGIS without Dissolve)
				// write a district with several parts as several features.
				b := &areas[prev]
				warn(line, "area %q is also defined at line %d: the polygons of both features are joined into one area (dissolve them into one MultiPolygon feature, e.g. QGIS Vector › Geoprocessing › Dissolve, to silence this; rename one if they are different districts)", a.name, b.line)
				b.polys = append(b.polys, a.polys...)
				b.box.union(a.box)
				b.cosLat = cosDeg((b.box.minY + b.box.maxY) / 2)
				continue
			}
			seen[a.name] = len(areas)
			areas = append(areas, a)
		}
		if _, err := dec.Token(); err != nil {
			syntax(err)
			return nil
		}
	}
	if !sawFeatures {
		fail(1, `no "features" list: want a GeoJSON FeatureCollection`)
	}
	return areas
}

// esriKeys are top-level members of Esri JSON, which looks like GeoJSON
// but is not.
var esriKeys = map[string]bool{"geometryType": true, "spatialReference": true, "fieldAliases": true, "displayFieldName": true}

type geoFeature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   *geoGeometry   `json:"geometry"`
}

// geoGeometry is a GeoJSON geometry object (RFC 7946 §3.1).
type geoGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  []geoGeometry   `json:"geometries"` // GeometryCollection (§3.1.8)
}

// polygons collects the polygons of a Polygon, a MultiPolygon, or a
// GeometryCollection of those (as QGIS and ArcGIS export dissolved
// districts); any other member is an error naming it.
func (g *geoGeometry) polygons(depth int) ([][][][]float64, error) {
	switch g.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			var ps [][][][]float64
			if json.Unmarshal(g.Coordinates, &ps) == nil {
				//lint:ignore ST1005 "Polygon" is the GeoJSON type's name (RFC 7946 §3.1.6).
				return nil, errors.New(`Polygon coordinates are nested like a MultiPolygon's ([[[[lon, lat], …]]]): set "type": "MultiPolygon" or remove one level of brackets`)
			}
			//lint:ignore ST1005 "Polygon" is the GeoJSON type's name (RFC 7946 §3.1.6).
			return nil, fmt.Errorf("Polygon coordinates: %v", err)
		}
		return [][][][]float64{p}, nil
	case "MultiPolygon":
		var ps [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &ps); err != nil {
			var p [][][]float64
			if json.Unmarshal(g.Coordinates, &p) == nil {
				return nil, errors.New(`MultiPolygon coordinates are nested like a Polygon's ([[[lon, lat], …]]): set "type": "Polygon" or add one level of brackets`)
			}
			return nil, fmt.Errorf("MultiPolygon coordinates: %v", err)
		}
		return ps, nil
	case "GeometryCollection":
		if depth > 0 {
			return nil, fmt.Errorf("nested GeometryCollection (RFC 7946 §3.1.8 advises against it); use a MultiPolygon")
		}
		var out [][][][]float64
		for i := range g.Geometries {
			ps, err := g.Geometries[i].polygons(depth + 1)
			if err != nil {
				return nil, fmt.Errorf("GeometryCollection member %d: %w", i+1, err)
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("geometry type %q is not supported (use Polygon or MultiPolygon)", g.Type)
}

// featureName is a feature's name property: a string, or an integer
// (district numbers, as QGIS and shapefiles write them).
func featureName(v any) string {
	switch v := v.(type) {
	case string:
		return norm.NFC.String(strings.TrimSpace(v))
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// areaKey is how an area name from the rules file finds its area:
// without surrounding spaces (padded shapefile fields) and in Unicode
// NFC, so that "Südstadt" typed on one system matches the decomposed
// "Su\u0308dstadt" another one exported.
func areaKey(name string) string {
	return norm.NFC.String(strings.TrimSpace(name))
}

// propertyNames lists a feature's properties for an error message.
func propertyNames(props map[string]any) string {
	if len(props) == 0 {
		return "it has no properties"
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, fmt.Sprintf("%q", k))
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return "it has " + strings.Join(names, ", ") + "; set areas.name_property to the one holding the district's name"
}

func (f *geoFeature) toArea(file string, line int, nameProp string, order axisOrder, fail, warn func(int, string, ...any)) (area, bool) {
	name := featureName(f.Properties[nameProp])
	if f.Geometry != nil {
		switch f.Geometry.Type {
		case "Point", "MultiPoint", "LineString", "MultiLineString":
			// OpenStreetMap exports (Overpass, osmtogeojson) carry label
			// and admin_centre nodes and unassembled boundary ways beside
			// the district polygons.
			warn(line, "feature %q is a %s, not an area: skipped (only Polygon and MultiPolygon features are districts)", name, f.Geometry.Type)
			return area{}, false
		}
	}
	if name == "" {
		if v, ok := f.Properties[nameProp]; ok && v != nil {
			fail(line, "feature's %q property is %v, not a name (a string or a whole number)", nameProp, v)
		} else {
			fail(line, "feature has no %q property (the area's name): %s", nameProp, propertyNames(f.Properties))
		}
		return area{}, false
	}
	if f.Geometry == nil {
		fail(line, "area %q has no geometry (null): draw the district or remove the feature", name)
		return area{}, false
	}
	polys, err := f.Geometry.polygons(0)
	if err != nil {
		fail(line, "area %q: %v", name, err)
		return area{}, false
	}
	if len(polys) == 0 {
		fail(line, "area %q has no polygons (empty coordinates): draw the district or remove the feature", name)
		return area{}, false
	}
	a := area{name: name, line: line, box: emptyBBox()}
	ok := true
	for pi, rings := range polys {
		if len(rings) == 0 {
			fail(line, "area %q: polygon %d has no rings", name, pi+1)
			ok = false
			continue
		}
		var rs [][]pt
		for ri, ring := range rings {
			what := fmt.Sprintf("area %q: polygon %d ring %d", name, pi+1, ri+1)
			if len(polys) == 1 {
				what = fmt.Sprintf("area %q: ring %d", name, ri+1)
			}
			r := make([]pt, 0, len(ring))
			for ci, c := range ring {
				if len(c) < 2 {
					fail(line, "%s: position %d has %d numbers, want [longitude, latitude]", what, ci+1, len(c))
					ok = false
					break
				}
				x, y := c[0], c[1]
				if order == latLon {
					x, y = y, x
				}
				if looksProjected(x, y) {
					fail(line, "%s: position %d %s", what, ci+1, projectedHint(file, c[0], c[1]))
					ok = false
					break
				}
				if x < -180 || x > 180 || y < -90 || y > 90 {
					fail(line, "%s: position %d [%g, %g] is out of range for [longitude, latitude] (RFC 7946 order)", what, ci+1, c[0], c[1])
					ok = false
					break
				}
				r = append(r, pt{x, y})
			}
			if !ok {
				continue
			}
			if r[0] != r[len(r)-1] {
				// Refused rather than closed: a ring that lost positions at
				// its end would be closed by a wrong straight line.
				fail(line, "%s is not closed: first position [%g, %g] differs from last [%g, %g] (RFC 7946 §3.1.6: the last position repeats the first; add it, or repair the layer with QGIS Fix geometries)", what, r[0].x, r[0].y, r[len(r)-1].x, r[len(r)-1].y)
				ok = false
				continue
			}
			if len(r) < 4 {
				fail(line, "%s has %d positions; a closed ring needs at least 4", what, len(r))
				ok = false
				continue
			}
			if err := ringProblem(r); err != "" {
				fail(line, "%s %s", what, err)
				ok = false
				continue
			}
			rs = append(rs, r)
		}
		if ok {
			p := newPolygon(rs)
			a.box.union(p.box)
			a.polys = append(a.polys, p)
		}
	}
	if !ok {
		return area{}, false
	}
	a.cosLat = cosDeg((a.box.minY + a.box.maxY) / 2)
	return a, true
}

// ringProblem says why a closed ring cannot be a district boundary, or
// "": it encloses no area (all positions on one point or line), or it
// spans more than 180° of longitude, i.e. crosses the antimeridian,
// which RFC 7946 §3.1.9 wants cut in two.
func ringProblem(r []pt) string {
	b := emptyBBox()
	twice := 0.0 // of the fan's triangles, unsigned: a bow-tie's signed area may be 0
	for i := 0; i+1 < len(r); i++ {
		b.extend(r[i])
		twice += math.Abs((r[i].x-r[0].x)*(r[i+1].y-r[0].y) - (r[i+1].x-r[0].x)*(r[i].y-r[0].y))
	}
	if b.maxX-b.minX > 180 {
		return fmt.Sprintf("spans %g° of longitude: it crosses the antimeridian (±180°); cut it in two there (RFC 7946 §3.1.9, e.g. ogr2ogr -wrapdateline)", b.maxX-b.minX)
	}
	if twice/2 < 1e-12 { // about 0.01 m²
		return "encloses no area: its positions lie on one point or line"
	}
	return ""
}
