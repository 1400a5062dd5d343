package routing

// District files in the shapes QGIS, ArcGIS, WFS servers and geojson.io
// export, and the ways they go wrong.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseGeo8 parses a GeoJSON document as Load does.
func parseGeo8(t *testing.T, doc, nameProp string) ([]area, *problems) {
	t.Helper()
	ps := &problems{}
	return parseGeoJSON("d.geojson", []byte(doc), nameProp, ps), ps
}

func readFixture8(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "attack8", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantProblem checks that one error (or warning) contains every text.
func wantProblem(t *testing.T, list []Problem, texts ...string) {
	t.Helper()
	for _, p := range list {
		ok := true
		for _, s := range texts {
			ok = ok && strings.Contains(p.Msg, s)
		}
		if ok {
			return
		}
	}
	t.Errorf("no problem contains %q: %v", texts, list)
}

func districtsAt(areas []area, q pt) string {
	var in []string
	for i := range areas {
		if areas[i].contains(q) != areas[i].containsNaive(q) {
			in = append(in, "MISMATCH:"+areas[i].name)
		}
		if areas[i].contains(q) {
			in = append(in, areas[i].name)
		}
	}
	return strings.Join(in, ",")
}

// A QGIS export: CRS84 crs member, bbox members, 3D positions, a
// MultiPolygon with a hole filled by an enclave district and a detached
// part, and a clockwise outer ring with a counter-clockwise hole
// (RFC 7946 §3.1.6 asks readers not to reject either orientation).
func TestQGISExportWithEnclaveAndHoles(t *testing.T) {
	areas, ps := parseGeo8(t, readFixture8(t, "qgis_districts.geojson"), "name")
	if len(ps.list)+len(ps.warnings) > 0 || len(areas) != 3 {
		t.Fatalf("%d areas, problems %v %v", len(areas), ps.list, ps.warnings)
	}
	checkEnclaves("d.geojson", areas, ps)
	if len(ps.warnings) > 0 {
		t.Errorf("an enclave in a hole is no overlap: %v", ps.warnings)
	}
	for q, want := range map[pt]string{
		{7.52, 51.02}: "Altstadt",
		{7.55, 51.05}: "Schlossinsel",          // in Altstadt's hole
		{7.54, 51.05}: "Altstadt,Schlossinsel", // on the hole's edge: both
		{7.51, 50.91}: "Altstadt",              // the detached part
		{7.65, 51.05}: "",                      // Oststadt's hole (a lake)
		{7.60, 51.05}: "Altstadt,Oststadt",     // on the shared border
		{7.69, 51.09}: "Oststadt",              //
		{7.55, 50.95}: "",                      // between the parts
	} {
		if got := districtsAt(areas, q); got != want {
			t.Errorf("%v in %q, want %q", q, got, want)
		}
	}
}

// A district drawn on top of its surrounding one without a hole is in
// both: rules check warns, naming both and which one is taken.
func TestEnclaveWithoutHoleWarned(t *testing.T) {
	areas, ps := parseGeo8(t, readFixture8(t, "enclave_no_hole.geojson"), "name")
	checkEnclaves("d.geojson", areas, ps)
	if len(ps.warnings) != 1 {
		t.Fatalf("warnings %v, want one", ps.warnings)
	}
	wantProblem(t, ps.warnings, `area "Kaserne" lies inside area "Nordstadt"`, "cut a hole")
	if ps.warnings[0].Line != 3 {
		t.Errorf("warning at line %d, want 3 (Kaserne)", ps.warnings[0].Line)
	}
}

// A position exactly on the border of two districts is in both: the first
// matching rule decides, and the first area in the file is the
// district (documented in deploy/rules.example.yaml).
func TestBorderPositionFirstRuleWins(t *testing.T) {
	geo := readFixture8(t, "qgis_districts.geojson")
	rules := `
teams: {alt: {room: alt@c.example}, ost: {room: ost@c.example}, rest: {room: rest@c.example}}
areas: {file: districts.geojson}
rules:
  - {name: ost, match: {area: Oststadt}, team: ost}
  - {name: alt, match: {area: Altstadt}, team: alt}
default: {team: rest}
`
	rs := mustLoad(t, rules, geo)
	in := &Input{Address: "x", Position: pos(51.05, 7.60), At: local("2026-11-30T10:00")}
	d := rs.Decide(in)
	if d.Team != "ost" || d.District != "Altstadt" {
		t.Errorf("border: team %q district %q, want the first rule's team ost and the first area Altstadt", d.Team, d.District)
	}
	if e := rs.Explain(in); !sameDecision(d, e) {
		t.Errorf("Decide %+v != Explain %+v", d, e)
	}
}

// Empty and degenerate geometries are refused by name; before, an empty
// MultiPolygon or a ring of one repeated point loaded as a district that
// contains nothing, and a ring across the antimeridian covered the rest
// of the world.
func TestEmptyDegenerateAntimeridianRefused(t *testing.T) {
	feature := func(geom string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},"geometry":` + geom + `}]}`
	}
	cases := map[string][]string{
		`{"type":"MultiPolygon","coordinates":[]}`:                                            {`area "A" has no polygons`},
		`{"type":"GeometryCollection","geometries":[]}`:                                       {`area "A" has no polygons`},
		`{"type":"Polygon","coordinates":[[[7,51],[7,51],[7,51],[7,51]]]}`:                    {"encloses no area"},
		`{"type":"Polygon","coordinates":[[[7,51],[7.1,51],[7.2,51],[7,51]]]}`:                {"encloses no area"},
		`{"type":"Polygon","coordinates":[[[179,51],[-179,51],[-179,52],[179,52],[179,51]]]}`: {"antimeridian", "RFC 7946 §3.1.9"},
		`null`: {`area "A" has no geometry`},
		`{"type":"GeometryCollection","geometries":[{"type":"Polygon","coordinates":[[[7,51],[7.1,51],[7.1,51.1],[7,51]]]},{"type":"LineString","coordinates":[[7,51],[7.1,51]]}]}`: {"GeometryCollection member 2", `"LineString"`},
		`{"type":"Polygon","coordinates":[[[7,51],[7.1,51],[7.1,51.1],[7,51.1]]]}`:                                                                                                  {"is not closed", "RFC 7946 §3.1.6"},
	}
	for geom, texts := range cases {
		areas, ps := parseGeo8(t, feature(geom), "name")
		if len(areas) != 0 {
			t.Errorf("%s: loaded %d areas", geom, len(areas))
		}
		wantProblem(t, ps.list, texts...)
	}
}

// GeometryCollections of polygons (dissolved districts) are one area;
// whole-number names (district numbers) are names.
func TestGeometryCollectionAndNumberNames(t *testing.T) {
	areas, ps := parseGeo8(t, readFixture8(t, "geometrycollection.geojson"), "Bezirk")
	if len(ps.list) > 0 || len(areas) != 2 || areas[0].name != "101" || areas[1].name != "102" {
		t.Fatalf("areas %d (%v), problems %v", len(areas), areas, ps.list)
	}
	for q, want := range map[pt]string{{7.55, 51.05}: "101", {7.75, 51.05}: "101", {7.65, 51.05}: "102"} {
		if got := districtsAt(areas, q); got != want {
			t.Errorf("%v in %q, want %q", q, got, want)
		}
	}
	// the wrong name property: the message lists the ones there are
	_, ps = parseGeo8(t, readFixture8(t, "geometrycollection.geojson"), "name")
	wantProblem(t, ps.list, `no "name" property`, `"Bezirk"`, "areas.name_property")
	_, ps = parseGeo8(t, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":1.5},"geometry":null}]}`, "name")
	wantProblem(t, ps.list, `"name" property is 1.5, not a name`)
}

// Esri JSON (ArcGIS REST f=json) is named as such, with the fix.
func TestEsriJSONNamed(t *testing.T) {
	_, ps := parseGeo8(t, `{"displayFieldName":"NAME","fieldAliases":{"NAME":"Name"},"geometryType":"esriGeometryPolygon","spatialReference":{"wkid":4326},"features":[{"attributes":{"NAME":"A"},"geometry":{"rings":[[[7,51],[7.1,51],[7.1,51.1],[7,51]]]}}]}`, "name")
	if len(ps.list) != 1 {
		t.Fatalf("problems %v, want one", ps.list)
	}
	wantProblem(t, ps.list, "Esri JSON", "f=geojson", "ogr2ogr")
}

// The crs member in the spellings exporters write: each WGS 84/ETRS89
// spelling is accepted in its axis order (2D and 3D codes), no spelling
// fieldgate does not know is guessed.
func TestCRSSpellingsAttack8(t *testing.T) {
	lonLatRing := `[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]`
	latLonRing := `[[[51.0,7.5],[51.0,7.6],[51.1,7.6],[51.1,7.5],[51.0,7.5]]]`
	doc := func(name, ring string) string {
		return `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"` + name + `"}},"features":[{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":` + ring + `}}]}`
	}
	for _, n := range []string{"CRS:84", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
		"http://www.opengis.net/def/crs/OGC/0/CRS84", "EPSG:4326", "epsg:4258", "EPSG:4979", "WGS84", "WGS 84"} {
		areas, ps := parseGeo8(t, doc(n, lonLatRing), "name")
		if len(ps.list) > 0 || len(areas) != 1 || !areas[0].contains(pt{7.55, 51.05}) {
			t.Errorf("crs %q: %d areas, problems %v", n, len(areas), ps.list)
		}
	}
	for _, n := range []string{"urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG::4258", "urn:ogc:def:crs:EPSG:4326", "urn:ogc:def:crs:EPSG:9.2:4258",
		"http://www.opengis.net/def/crs/EPSG/0/4258", "urn:ogc:def:crs:EPSG::4937"} {
		areas, ps := parseGeo8(t, doc(n, latLonRing), "name")
		if len(ps.list) > 0 || len(areas) != 1 || !areas[0].contains(pt{7.55, 51.05}) {
			t.Errorf("crs %q: %d areas, problems %v", n, len(areas), ps.list)
		}
		wantProblem(t, ps.warnings, "puts latitude first")
	}
	for _, n := range []string{"https://epsg.io/4326", "EPSG:25832", "EPSG:4314", "urn:ogc:def:crs:EPSG::31467"} {
		if areas, ps := parseGeo8(t, doc(n, lonLatRing), "name"); len(areas) != 0 || len(ps.list) != 1 {
			t.Errorf("crs %q: %d areas, problems %v; want a refusal", n, len(areas), ps.list)
		} else {
			wantProblem(t, ps.list, "ogr2ogr")
		}
	}
}

// An area for the whole town around every district gets one warning,
// not one per district.
func TestWholeTownAreaOneWarning(t *testing.T) {
	areas, ps := parseGeo8(t, `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Stadtgebiet"},"geometry":{"type":"Polygon","coordinates":[[[7.4,50.9],[7.8,50.9],[7.8,51.2],[7.4,51.2],[7.4,50.9]]]}},
{"type":"Feature","properties":{"name":"Nord"},"geometry":{"type":"Polygon","coordinates":[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]}},
{"type":"Feature","properties":{"name":"Ost"},"geometry":{"type":"Polygon","coordinates":[[[7.6,51.0],[7.7,51.0],[7.7,51.1],[7.6,51.1],[7.6,51.0]]]}}]}`, "name")
	checkEnclaves("d.geojson", areas, ps)
	if len(ps.warnings) != 1 || ps.warnings[0].Line != 2 {
		t.Fatalf("warnings %v, want one at line 2", ps.warnings)
	}
	wantProblem(t, ps.warnings, `area "Stadtgebiet" wholly contains areas "Nord", "Ost"`, "put the rules of the inner areas first")
}

// A district with an island part, exported from a shapefile as two
// features of the same name, is one area (before: refused as "defined
// twice"), with a warning naming both lines.
func TestMultipartDistrictAsSeveralFeatures(t *testing.T) {
	areas, ps := parseGeo8(t, `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Nordstadt","OBJECTID":1},"geometry":{"type":"Polygon","coordinates":[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]}},
{"type":"Feature","properties":{"name":"Hafen","OBJECTID":2},"geometry":{"type":"Polygon","coordinates":[[[7.6,51.0],[7.7,51.0],[7.7,51.1],[7.6,51.1],[7.6,51.0]]]}},
{"type":"Feature","properties":{"name":"Nordstadt","OBJECTID":3},"geometry":{"type":"Polygon","coordinates":[[[7.8,51.0],[7.81,51.0],[7.81,51.01],[7.8,51.01],[7.8,51.0]]]}}]}`, "name")
	if len(ps.list) > 0 || len(areas) != 2 {
		t.Fatalf("%d areas, problems %v", len(areas), ps.list)
	}
	if len(ps.warnings) != 1 || ps.warnings[0].Line != 4 {
		t.Fatalf("warnings %v, want one at line 4", ps.warnings)
	}
	wantProblem(t, ps.warnings, `area "Nordstadt" is also defined at line 2`, "joined", "Dissolve")
	for q, want := range map[pt]string{{7.55, 51.05}: "Nordstadt", {7.805, 51.005}: "Nordstadt", {7.75, 51.005}: "", {7.65, 51.05}: "Hafen"} {
		if got := districtsAt(areas, q); got != want {
			t.Errorf("%v in %q, want %q", q, got, want)
		}
	}
}

// An OpenStreetMap export (Overpass/osmtogeojson): district relations as
// MultiPolygons with "@id" ids, beside the admin_centre node (a Point
// with the town's name) and an unassembled boundary way: the Point and
// the LineString are skipped with a warning each (before, the whole file
// was refused), the districts load.
func TestOverpassExportSkipsPointsAndLines(t *testing.T) {
	areas, ps := parseGeo8(t, `{"type":"FeatureCollection","generator":"overpass-turbo","copyright":"The data included in this document is from www.openstreetmap.org. The data is made available under ODbL.","timestamp":"2026-11-29T12:00:00Z","features":[
{"type":"Feature","properties":{"@id":"relation/1001","admin_level":"10","boundary":"administrative","name":"Nordstadt","type":"boundary"},"geometry":{"type":"MultiPolygon","coordinates":[[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]]},"id":"relation/1001"},
{"type":"Feature","properties":{"@id":"node/42","name":"Musterstadt","place":"town","@relations":[{"role":"admin_centre","rel":1000}]},"geometry":{"type":"Point","coordinates":[7.55,51.05]},"id":"node/42"},
{"type":"Feature","properties":{"@id":"way/77","name":"Südstadt"},"geometry":{"type":"LineString","coordinates":[[7.5,50.9],[7.6,50.9],[7.6,51.0]]},"id":"way/77"}]}`, "name")
	if len(ps.list) > 0 || len(areas) != 1 || areas[0].name != "Nordstadt" {
		t.Fatalf("%d areas, problems %v", len(areas), ps.list)
	}
	wantProblem(t, ps.warnings, `feature "Musterstadt" is a Point, not an area: skipped`)
	wantProblem(t, ps.warnings, `feature "Südstadt" is a LineString, not an area: skipped`)
}

// Positions in the other axis order than they are read: a hand-written
// [latitude, longitude] file without "crs", or a file whose "crs" says
// latitude first (urn:ogc:def:crs:EPSG::4326) while its positions are
// [longitude, latitude] (an exporter that ignores the axis order). With
// areas.centre set, the districts lie far from it as read but near it
// exchanged: the file is refused, naming the fix (before: a warning, and
// every district was in the wrong place).
func TestAxisOrderContradictedByCentre(t *testing.T) {
	rules := "teams: {a: {room: a@c.example}}\nareas: {file: districts.geojson, centre: {lat: 51.05, lon: 7.55}}\ndefault: {team: a}\n"
	lonLat := `[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]`
	latLon := `[[[51.0,7.5],[51.0,7.6],[51.1,7.6],[51.1,7.5],[51.0,7.5]]]`
	doc := func(crs, ring string) string {
		c := ""
		if crs != "" {
			c = `"crs":{"type":"name","properties":{"name":"` + crs + `"}},`
		}
		return `{"type":"FeatureCollection",` + c + `"features":[{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":` + ring + `}}]}`
	}
	for _, c := range []struct{ crs, ring string }{{"", latLon}, {"urn:ogc:def:crs:EPSG::4326", lonLat}, {"EPSG:4326", latLon}} {
		_, err := Load(writeRules(t, rules, doc(c.crs, c.ring)))
		if err == nil || !strings.Contains(err.Error(), "with latitude and longitude exchanged within") || !strings.Contains(err.Error(), "ogr2ogr") {
			t.Errorf("crs %q: err %v, want a refusal naming the exchanged axes", c.crs, err)
		}
	}
	for _, c := range []struct{ crs, ring string }{{"", lonLat}, {"urn:ogc:def:crs:EPSG::4326", latLon}, {"urn:ogc:def:crs:OGC:1.3:CRS84", lonLat}} {
		if _, err := Load(writeRules(t, rules, doc(c.crs, c.ring))); err != nil {
			t.Errorf("crs %q: %v", c.crs, err)
		}
	}
}

// A byte order mark (Notepad, some ArcGIS exports) is ignored (RFC 8259
// §8.1; before: "invalid character 'ï'"), and coordinates nested one
// level off for their type name the fix.
func TestBOMAndNestingMismatch(t *testing.T) {
	ring := `[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.0]]`
	doc := func(typ, coords string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"` + typ + `","coordinates":` + coords + `}}]}`
	}
	areas, ps := parseGeo8(t, "\xef\xbb\xbf"+doc("Polygon", "["+ring+"]"), "name")
	if len(areas) != 1 || len(ps.list) > 0 {
		t.Errorf("with BOM: %d areas, %v", len(areas), ps.list)
	}
	_, ps = parseGeo8(t, doc("MultiPolygon", "["+ring+"]"), "name")
	wantProblem(t, ps.list, `set "type": "Polygon" or add one level of brackets`)
	_, ps = parseGeo8(t, doc("Polygon", "[["+ring+"]]"), "name")
	wantProblem(t, ps.list, `set "type": "MultiPolygon" or remove one level of brackets`)
}

// Arbitrary district files give problems, never a panic or a polygon
// whose indexed test differs from the naive one.
func FuzzParseGeoJSON(f *testing.F) {
	for _, name := range []string{"qgis_districts.geojson", "enclave_no_hole.geojson", "geometrycollection.geojson"} {
		b, err := os.ReadFile(filepath.Join("testdata", "attack8", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4258"}},"features":[{"type":"Feature","properties":{"name":1},"geometry":{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		ps := &problems{}
		areas := parseGeoJSON("f.geojson", data, "name", ps)
		checkFarAway("f.geojson", areas, ps)
		checkEnclaves("f.geojson", areas, ps)
		for i := range areas {
			b := areas[i].box
			for _, q := range []pt{{b.minX, b.minY}, {(b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2}, {b.maxX, b.maxY}} {
				if areas[i].contains(q) != areas[i].containsNaive(q) {
					t.Fatalf("%v: indexed and naive test differ for %q", q, areas[i].name)
				}
			}
		}
	})
}

// Area names from a shapefile (padded with spaces) or in decomposed
// Unicode (macOS: "Su\u0308dstadt") match the rules file's "Südstadt";
// before, the rule was refused with an unknown area that looked
// identical to the known one.
func TestAreaNamesPaddedAndDecomposed(t *testing.T) {
	geo := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Su\u0308dstadt"},"geometry":{"type":"Polygon","coordinates":[[[7.5,51.0],[7.6,51.0],[7.6,51.1],[7.5,51.1],[7.5,51.0]]]}},
{"type":"Feature","properties":{"name":"Hafen     "},"geometry":{"type":"Polygon","coordinates":[[[7.6,51.0],[7.7,51.0],[7.7,51.1],[7.6,51.1],[7.6,51.0]]]}}]}`
	rules := `
teams: {sued: {room: sued@c.example}, hafen: {room: hafen@c.example}, rest: {room: rest@c.example}}
areas: {file: districts.geojson, groups: {alle: ["Südstadt", "Hafen"]}}
rules:
  - {name: sued, match: {area: "Südstadt"}, team: sued}
  - {name: hafen, match: {area: [Hafen]}, team: hafen}
default: {team: rest}
`
	rs := mustLoad(t, rules, geo)
	for _, c := range []struct {
		lon            float64
		team, district string
	}{{7.55, "sued", "Südstadt"}, {7.65, "hafen", "Hafen"}} {
		d := rs.Decide(&Input{Address: "x", Position: pos(51.05, c.lon), At: local("2026-11-30T10:00")})
		if d.Team != c.team || d.District != c.district {
			t.Errorf("lon %v: team %q district %q, want %q %q", c.lon, d.Team, d.District, c.team, c.district)
		}
	}
}

// The districts a map shows are those routing uses: a WFS file in
// [latitude, longitude] order (crs urn:ogc:def:crs:EPSG::4326) comes out
// as [longitude, latitude], with the name in properties.name whatever
// the name property, Point features left out, features of one name
// joined. (The console served the raw file, so such districts were drawn
// with exchanged axes, and labels needed a property called "name".)
func TestDistrictsGeoJSONAsRoutingReadsThem(t *testing.T) {
	geo := `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}},"features":[
{"type":"Feature","properties":{"BEZ":"Nord"},"geometry":{"type":"Polygon","coordinates":[[[51.0,7.5],[51.0,7.6],[51.1,7.6],[51.1,7.5],[51.0,7.5]]]}},
{"type":"Feature","properties":{"BEZ":"Rathaus"},"geometry":{"type":"Point","coordinates":[51.05,7.55]}},
{"type":"Feature","properties":{"BEZ":"Nord"},"geometry":{"type":"Polygon","coordinates":[[[51.2,7.5],[51.2,7.51],[51.21,7.51],[51.2,7.5]]]}}]}`
	rs := mustLoad(t, "teams: {a: {room: a@c.example}}\nareas: {file: districts.geojson, name_property: BEZ}\ndefault: {team: a}\n", geo)
	var fc struct {
		Type     string
		Features []struct {
			Properties map[string]string
			Geometry   struct {
				Type        string
				Coordinates [][][][]float64
			}
		}
	}
	if err := json.Unmarshal(rs.DistrictsGeoJSON(), &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 1 {
		t.Fatalf("%+v", fc)
	}
	f := fc.Features[0]
	if f.Properties["name"] != "Nord" || f.Geometry.Type != "MultiPolygon" || len(f.Geometry.Coordinates) != 2 {
		t.Fatalf("feature %+v", f)
	}
	if first := f.Geometry.Coordinates[0][0][0]; first[0] != 7.5 || first[1] != 51.0 {
		t.Errorf("first position %v, want [7.5, 51] (longitude first)", first)
	}
	if first, again := rs.DistrictsGeoJSON(), rs.DistrictsGeoJSON(); &first[0] != &again[0] {
		t.Errorf("built more than once")
	}
}

// A ring that crosses itself (a bow-tie from careless digitising) or a
// hole that crosses its outer ring loads, but with a warning naming the
// spot and the repair; touching at a vertex is no crossing.
func TestSelfCrossingRingsWarned(t *testing.T) {
	doc := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"Schleife"},"geometry":{"type":"Polygon","coordinates":[[[7.5,51.0],[7.6,51.1],[7.6,51.0],[7.5,51.1],[7.5,51.0]]]}},
{"type":"Feature","properties":{"name":"Loch"},"geometry":{"type":"Polygon","coordinates":[[[7.7,51.0],[7.8,51.0],[7.8,51.1],[7.7,51.1],[7.7,51.0]],[[7.75,51.05],[7.85,51.05],[7.85,51.06],[7.75,51.06],[7.75,51.05]]]}},
{"type":"Feature","properties":{"name":"Beruehrt"},"geometry":{"type":"Polygon","coordinates":[[[7.9,51.0],[8.0,51.0],[8.0,51.1],[7.9,51.1],[7.9,51.0]],[[7.9,51.05],[7.95,51.04],[7.95,51.06],[7.9,51.05]]]}}]}`
	areas, ps := parseGeo8(t, doc, "name")
	if len(areas) != 3 || len(ps.list) > 0 {
		t.Fatalf("%d areas, %v", len(areas), ps.list)
	}
	checkCrossings("d.geojson", areas, ps)
	if len(ps.warnings) != 2 {
		t.Fatalf("warnings %v, want two", ps.warnings)
	}
	wantProblem(t, ps.warnings, `area "Schleife": its boundary crosses itself near [7.550000, 51.050000]`, "Fix Geometries")
	wantProblem(t, ps.warnings, `area "Loch": its boundary crosses itself near [7.800000, 51.05`)
	// the fixtures of real exports have none
	for _, f := range []string{"qgis_districts.geojson", "enclave_no_hole.geojson", "geometrycollection.geojson"} {
		areas, ps := parseGeo8(t, readFixture8(t, f), map[bool]string{true: "Bezirk", false: "name"}[f == "geometrycollection.geojson"])
		checkCrossings(f, areas, ps)
		if len(ps.warnings)+len(ps.list) > 0 {
			t.Errorf("%s: %v %v", f, ps.list, ps.warnings)
		}
	}
}
