package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedFailingCases checks the failing real-world inputs collected
// outside this repository (calendars and district files as towns export
// them) against their expected answers. It runs only when
// FIELDGATE_SHARED_CASES names the folder that holds them; the
// repository's own tests cover the same kinds with inputs of their own.
func TestSharedFailingCases(t *testing.T) {
	dir := os.Getenv("FIELDGATE_SHARED_CASES")
	if dir == "" {
		t.Skip("FIELDGATE_SHARED_CASES not set (optional check of the shared failing cases)")
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	contains := func(what, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", what, w, out)
			}
		}
	}
	lacks := func(what, out string, unwanted ...string) {
		t.Helper()
		for _, w := range unwanted {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", what, w, out)
			}
		}
	}

	out, _, err := runOncallTest("show", "bd", "--rules", f("ics_utc_exdate_date.rules.yaml"), "--week", "--from", "2026-06-08")
	if err != nil {
		t.Fatal(err)
	}
	contains("utc exdate", out,
		"Tue 2026-06-09 05:00 CEST – Tue 2026-06-09 17:00 CEST  carla@stadt.localhost",
		"Wed 2026-06-10 05:00 CEST – Wed 2026-06-10 17:00 CEST  carla@stadt.localhost",
		"Fri 2026-06-12 05:00 CEST – Fri 2026-06-12 17:00 CEST  carla@stadt.localhost")
	lacks("utc exdate", out, "Thu 2026-06-11 05:00")

	out, _, err = runOncallTest("show", "bd", "--rules", f("ics_zimbra_rdate_period.rules.yaml"), "--from", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	contains("rdate period", out,
		"Mon 2026-11-30 08:00 CET – Mon 2026-11-30 20:00 CET  carla@stadt.localhost",
		"Sat 2026-12-05 08:00 CET – Sat 2026-12-05 18:00 CET  carla@stadt.localhost")
	out, _, err = runOncallTest("show", "bd", "--rules", f("ics_zimbra_rdate_period.rules.yaml"), "--from", "2026-12-07")
	if err != nil {
		t.Fatal(err)
	}
	contains("rdate period, second week", out, "Mon 2026-12-07 08:00 CET – Mon 2026-12-07 20:00 CET  carla@stadt.localhost")

	out, _, err = runOncallTest("show", "bd", "--rules", f("ics_zimbra_two_rrules.rules.yaml"), "--week", "--from", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	contains("two rrules", out,
		"Mon 2026-11-30 08:00 CET – Mon 2026-11-30 20:00 CET  dave@stadt.localhost",
		"Sun 2026-12-06 08:00 CET – Sun 2026-12-06 20:00 CET  dave@stadt.localhost")

	out, _, err = runOncallTest("now", "bd", "--rules", f("ics_declined_attendee.rules.yaml"), "--at", "2026-12-01T10:00")
	if err != nil || !strings.Contains(out, "carla@stadt.localhost on call") {
		t.Errorf("declined attendee: %v\n%s", err, out)
	}

	for _, ics := range []string{"ics_utc_exdate_date.ics", "ics_zimbra_rdate_period.ics", "ics_zimbra_two_rrules.ics", "ics_declined_attendee.ics"} {
		out, _, err := runOncallTest("check", f(ics), "--from", "2026-06-01", "--weeks", "30")
		if err != nil || !strings.Contains(out, "carla@") && !strings.Contains(out, "dave@") {
			t.Errorf("check %s: %v\n%s", ics, err, out)
		}
	}

	_, errOut, err := runRulesTest("check", f("geojson_wfs2_latlon_epsg4326.rules.yaml"))
	if err != nil {
		t.Errorf("check lat/lon districts: %v\n%s", err, errOut)
	}
	contains("lat/lon districts", errOut, "warning:", "urn:ogc:def:crs:EPSG::4326", "swapped")
	out, _, err = runRulesTest("explain", f("geojson_wfs2_latlon_epsg4326.rules.yaml"), "--to", "tiefbau", "--lat", "51.01", "--lon", "7.59", "--at", "2026-11-23T10:00")
	if err != nil || strings.Contains(out, "district=-") || !strings.Contains(out, "district=") {
		t.Errorf("explain lat/lon districts: %v\n%s", err, out)
	}

	_, errOut, err = runRulesTest("check", f("geojson_epsg25832_projected.rules.yaml"))
	if err == nil {
		t.Error("projected districts: no error")
	}
	contains("projected districts", errOut, "EPSG:25832", "ogr2ogr", "-t_srs EPSG:4326")
	lacks("projected districts", errOut, "GeoJSON order is")
}
