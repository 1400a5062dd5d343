package routing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// parseGeoJSON reads a FeatureCollection of Polygon and MultiPolygon
// features. Every problem is reported with the line of its feature.
func parseGeoJSON(file string, data []byte, nameProp string, ps *problems) []area {
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
			a, ok := f.toArea(file, line, nameProp, order, fail)
			if !ok {
				continue
			}
			if prev, dup := seen[a.name]; dup {
				fail(line, "area %q is defined twice (first at line %d)", a.name, prev)
				continue
			}
			seen[a.name] = line
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

type geoFeature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

func (f *geoFeature) toArea(file string, line int, nameProp string, order axisOrder, fail func(int, string, ...any)) (area, bool) {
	name, _ := f.Properties[nameProp].(string)
	if name == "" {
		fail(line, "feature has no %q property (the area's name)", nameProp)
		return area{}, false
	}
	if f.Geometry == nil {
		fail(line, "area %q has no geometry", name)
		return area{}, false
	}
	var polys [][][][]float64
	switch f.Geometry.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
			fail(line, "area %q: Polygon coordinates: %v", name, err)
			return area{}, false
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
			fail(line, "area %q: MultiPolygon coordinates: %v", name, err)
			return area{}, false
		}
	default:
		fail(line, "area %q: geometry type %q is not supported (use Polygon or MultiPolygon)", name, f.Geometry.Type)
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
			if len(r) < 4 {
				fail(line, "%s has %d positions; a closed ring needs at least 4", what, len(r))
				ok = false
				continue
			}
			if r[0] != r[len(r)-1] {
				fail(line, "%s is not closed: first position [%g, %g] differs from last [%g, %g]", what, r[0].x, r[0].y, r[len(r)-1].x, r[len(r)-1].y)
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
