package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

const crsRulesFile = `version: 1
timezone: Europe/Berlin
areas:
  file: bezirke.geojson
teams:
  nord: {room: nord@conference.stadt.localhost}
  zentrale: {room: zentrale@conference.stadt.localhost}
addresses:
  tiefbau: {allow: [public]}
rules:
  - name: nord
    match: {area: [Nord]}
    team: nord
default:
  team: zentrale
`

// [lat, lon] as a WFS 2.0 server writes EPSG::4326.
const latLonBezirke = `{"type": "FeatureCollection",
 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
 "features": [{"type": "Feature", "properties": {"name": "Nord"}, "geometry": {"type": "Polygon",
   "coordinates": [[[53.55, 9.95], [53.55, 10.05], [53.60, 10.05], [53.60, 9.95], [53.55, 9.95]]]}}]}`

func runRulesTest(args ...string) (string, string, error) {
	var o, e bytes.Buffer
	err := runRules(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestRulesCheckAndExplainLatLonDistricts(t *testing.T) {
	dir := writeFiles(t, map[string]string{"rules.yaml": crsRulesFile, "bezirke.geojson": latLonBezirke})
	rules := filepath.Join(dir, "rules.yaml")
	out, errOut, err := runRulesTest("check", rules)
	if err != nil || !strings.Contains(out, ": ok (version ") || !strings.Contains(out, "1 warning(s)") {
		t.Errorf("check: %v\n%s", err, out)
	}
	if !strings.Contains(errOut, "bezirke.geojson:2: warning:") || !strings.Contains(errOut, "swapped") {
		t.Errorf("check warnings: %q", errOut)
	}
	out, _, err = runRulesTest("explain", rules, "--to", "tiefbau", "--lat", "53.57", "--lon", "10.0", "--at", "2026-11-23T10:00")
	if err != nil || !strings.Contains(out, "team=nord") || !strings.Contains(out, "district=Nord") {
		t.Errorf("explain: %v\n%s", err, out)
	}
}

func TestRulesCheckProjectedDistricts(t *testing.T) {
	utm := `{"type": "FeatureCollection", "name": "stadtteile",
"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
"features": [{"type": "Feature", "properties": {"name": "Nord"}, "geometry": {"type": "Polygon",
  "coordinates": [[[565000.0, 5933000.0], [566000.0, 5933000.0], [566000.0, 5934000.0], [565000.0, 5933000.0]]]}}]}`
	dir := writeFiles(t, map[string]string{"rules.yaml": crsRulesFile, "bezirke.geojson": utm})
	_, errOut, err := runRulesTest("check", filepath.Join(dir, "rules.yaml"))
	if err == nil {
		t.Fatal("check: no error for a projected district file")
	}
	for _, want := range []string{"bezirke.geojson:2:", "EPSG:25832 (ETRS89 / UTM zone 32N", "ogr2ogr -f GeoJSON -t_srs EPSG:4326", "bezirke.geojson"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "swapped") || strings.Contains(errOut, "GeoJSON order is") {
		t.Errorf("the message suggests swapped axes:\n%s", errOut)
	}
}

// rules test warns when every test position lies far from all districts.
func TestRulesTestWarnsFarFromTests(t *testing.T) {
	lonLat := strings.NewReplacer("urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
		"[53.55, 9.95]", "[9.95, 53.55]", "[53.55, 10.05]", "[10.05, 53.55]", "[53.60, 10.05]", "[10.05, 53.60]", "[53.60, 9.95]", "[9.95, 53.60]").Replace(latLonBezirke)
	tests := `tests:
  - name: Köln
    input: {to: tiefbau, lat: 50.94, lon: 6.96, at: "2026-11-23T10:00"}
    expect: {team: zentrale}
`
	dir := writeFiles(t, map[string]string{"rules.yaml": crsRulesFile, "bezirke.geojson": lonLat, "tests.yaml": tests})
	_, errOut, err := runRulesTest("test", filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "tests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "tests.yaml: warning: all 1 areas lie") {
		t.Errorf("stderr %q, want the far-away warning", errOut)
	}
}
