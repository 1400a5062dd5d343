package routing

import (
	"encoding/json"
)

// DistrictsGeoJSON returns the rule set's areas as an RFC 7946
// FeatureCollection for maps: one MultiPolygon feature per area, its name
// in properties.name, positions [longitude, latitude] in degrees as
// routing reads them (after a "crs" axis swap, without skipped Point or
// LineString features, with features of one name joined). It is built
// once per rule set; callers must not modify it.
func (rs *RuleSet) DistrictsGeoJSON() []byte {
	rs.districtsOnce.Do(func() {
		type geometry struct {
			Type        string          `json:"type"`
			Coordinates [][][][]float64 `json:"coordinates"`
		}
		type feature struct {
			Type       string            `json:"type"`
			Properties map[string]string `json:"properties"`
			Geometry   geometry          `json:"geometry"`
		}
		fc := struct {
			Type     string    `json:"type"`
			Features []feature `json:"features"`
		}{Type: "FeatureCollection", Features: make([]feature, 0, len(rs.areas))}
		for i := range rs.areas {
			a := &rs.areas[i]
			polys := make([][][][]float64, 0, len(a.polys))
			for _, p := range a.polys {
				rings := make([][][]float64, 0, len(p.rings))
				for _, r := range p.rings {
					pos := make([][]float64, len(r))
					for k, q := range r {
						pos[k] = []float64{q.x, q.y}
					}
					rings = append(rings, pos)
				}
				polys = append(polys, rings)
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", Properties: map[string]string{"name": a.name},
				Geometry: geometry{Type: "MultiPolygon", Coordinates: polys}})
		}
		b, err := json.Marshal(fc)
		if err != nil { // only finite numbers are stored
			b = []byte(`{"type":"FeatureCollection","features":[]}`)
		}
		rs.districtsJSON = b
	})
	return rs.districtsJSON
}
