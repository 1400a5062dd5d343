package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `rules check` and `rules explain` on a QGIS district export with an
// enclave in a hole and a shared border (fixture of package routing):
// it loads without warnings, and a position on the border of Altstadt
// and Oststadt goes by the first matching rule and names the first area
// of the file.
func TestRulesCheckQGISDistricts(t *testing.T) {
	geo, err := os.ReadFile(filepath.Join("..", "..", "routing", "testdata", "attack8", "qgis_districts.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	rules := strings.NewReplacer("[Nord]", "[Oststadt]").Replace(crsRulesFile)
	dir := writeFiles(t, map[string]string{"rules.yaml": rules, "bezirke.geojson": string(geo)})
	out, errOut, err := runRulesTest("check", filepath.Join(dir, "rules.yaml"))
	if err != nil || !strings.Contains(out, "3 areas") || strings.Contains(out, "warning") || errOut != "" {
		t.Errorf("check: %v\n%s%s", err, out, errOut)
	}
	out, _, err = runRulesTest("explain", filepath.Join(dir, "rules.yaml"), "--to", "tiefbau", "--lat", "51.05", "--lon", "7.60", "--at", "2026-11-23T10:00")
	if err != nil || !strings.Contains(out, "team=nord") || !strings.Contains(out, "district=Altstadt") {
		t.Errorf("explain on the border: %v\n%s", err, out)
	}
}
