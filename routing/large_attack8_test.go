package routing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// largeDistricts writes a FeatureCollection the size of a detailed town
// export: a whole-town area around n×n districts of vertices positions
// each, with QGIS's 15 decimals (n=10, vertices=2500: 250,000 positions,
// about 10 MB).
func largeDistricts(n, vertices int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[` + "\n")
	fmt.Fprintf(&b, `{"type":"Feature","properties":{"name":"Stadtgebiet"},"geometry":{"type":"Polygon","coordinates":[[[7.0,51.0],[%g,51.0],[%g,%g],[7.0,%g],[7.0,51.0]]]}}`,
		7.0+0.01*float64(n+1), 7.0+0.01*float64(n+1), 51.0+0.01*float64(n+1), 51.0+0.01*float64(n+1))
	for i := range n * n {
		cx, cy := 7.01+0.01*float64(i%n), 51.01+0.01*float64(i/n)
		fmt.Fprintf(&b, ",\n"+`{"type":"Feature","properties":{"name":"Bezirk %d"},"geometry":{"type":"MultiPolygon","coordinates":[[[`, i)
		for v := 0; v <= vertices; v++ {
			a := 2 * math.Pi * float64(v%vertices) / float64(vertices)
			r := 0.004 * (1 + 0.1*math.Sin(7*a))
			if v > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%.15f,%.15f]", cx+r*math.Cos(a), cy+r*math.Sin(a))
		}
		b.WriteString("]]]}}")
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

// BenchmarkLargeDistrictFile: reading a 10 MB, 250,000-position district
// file as Load does (parse, index, plausibility, enclave and crossing
// checks)
// against the floor of decoding the same JSON with encoding/json alone.
func BenchmarkLargeDistrictFile(b *testing.B) {
	data := largeDistricts(10, 2500)
	b.Run("floor-json-decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var doc struct {
				Features []struct {
					Properties map[string]any `json:"properties"`
					Geometry   struct {
						Type        string          `json:"type"`
						Coordinates json.RawMessage `json:"coordinates"`
					} `json:"geometry"`
				} `json:"features"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				b.Fatal(err)
			}
			for _, f := range doc.Features {
				var c any
				if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("load-areas", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			ps := &problems{}
			areas := parseGeoJSON("big.geojson", data, "name", ps)
			checkFarAway("big.geojson", areas, ps)
			checkEnclaves("big.geojson", areas, ps)
			checkCrossings("big.geojson", areas, ps)
			if len(areas) != 101 || len(ps.list) > 0 || len(ps.warnings) != 1 {
				b.Fatalf("%d areas, %v, %v", len(areas), ps.list, ps.warnings)
			}
		}
	})
}

// The large file loads completely and answers like the naive test.
func TestLargeDistrictFileLoads(t *testing.T) {
	vertices := 1000 // 100,000 positions, 4 MB (BenchmarkLargeDistrictFile reads 10 MB)
	if testing.Short() {
		vertices = 200
	}
	data := largeDistricts(10, vertices)
	ps := &problems{}
	areas := parseGeoJSON("big.geojson", data, "name", ps)
	checkEnclaves("big.geojson", areas, ps)
	if len(areas) != 101 || len(ps.list) > 0 {
		t.Fatalf("%d areas, problems %v", len(areas), ps.list)
	}
	wantProblem(t, ps.warnings, `area "Stadtgebiet" wholly contains areas "Bezirk 0"`, "and 95 more")
	for _, q := range []pt{{7.01, 51.01}, {7.0137, 51.0137}, {7.014, 51.01}, {7.055, 51.055}, {7.1, 51.1}} {
		for i := range areas {
			if areas[i].contains(q) != areas[i].containsNaive(q) {
				t.Errorf("%v: %s indexed and naive differ", q, areas[i].name)
			}
		}
	}
	if !areas[1].contains(pt{7.01, 51.01}) || areas[2].contains(pt{7.01, 51.01}) {
		t.Errorf("Bezirk 0's centre is not in Bezirk 0 alone")
	}
	t.Logf("%d bytes", len(data))
}

// A polygon of many long north-south edges (a comb) made the band index
// grow with edges × bands: 40,000 edges took 640 MB and 2.6 s to load,
// and a 10 MB file of this shape would exhaust memory. The index is now
// bounded per edge, and answers stay those of the naive test.
func TestCombPolygonIndexBounded(t *testing.T) {
	teeth := 5000 // 10,000 long edges: about 330 MB of band index before the bound
	if testing.Short() {
		teeth = 2000
	}
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Kamm"},"geometry":{"type":"Polygon","coordinates":[[`)
	for i := range teeth {
		x := 7.0 + float64(i)*0.00001
		fmt.Fprintf(&b, "[%.6f,51.0],[%.6f,51.1],", x, x+0.000005)
	}
	fmt.Fprintf(&b, "[%.6f,50.9],[7.0,50.9],[7.0,51.0]]]}}]}", 7.0+float64(teeth)*0.00001)
	ps := &problems{}
	areas := parseGeoJSON("d.geojson", b.Bytes(), "name", ps)
	if len(areas) != 1 || len(ps.list) > 0 {
		t.Fatalf("%d areas, %v", len(areas), ps.list)
	}
	p := &areas[0].polys[0]
	if n, limit := len(p.bandEdges), maxBandEntries*len(p.edges); n > limit {
		t.Errorf("band index has %d entries, more than %d", n, limit)
	}
	rnd := rand.New(rand.NewPCG(8, 8))
	for range 2000 {
		q := pt{7.0 + rnd.Float64()*0.00001*float64(teeth), 50.9 + rnd.Float64()*0.2}
		if areas[0].contains(q) != areas[0].containsNaive(q) {
			t.Fatalf("%v: indexed and naive test differ", q)
		}
	}
}
