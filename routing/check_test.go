package routing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// markerLine is the line of a broken example that carries "<- mistake".
func markerLine(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "<- mistake") {
			return i + 1
		}
	}
	t.Fatalf("%s has no <- mistake marker", path)
	return 0
}

// TestCheckFindsMistakes loads every broken example under
// testdata/broken and expects the mistake with its file and line.
func TestCheckFindsMistakes(t *testing.T) {
	cases := []struct {
		file    string
		msg     string
		geoFile string // when the mistake is in the GeoJSON file
		geoLine int
	}{
		{file: "unknown_team.yaml", msg: `rule "sued": unknown team "tiefbau-sued"`},
		{file: "polygon_not_closed.yaml", msg: `area "Sued": ring 1 is not closed`, geoFile: "not_closed.geojson", geoLine: 5},
		{file: "ring_too_short.yaml", msg: `area "Sued": ring 1 has 3 positions; a closed ring needs at least 4`, geoFile: "too_short.geojson", geoLine: 5},
		{file: "swapped_coordinates.yaml", msg: `area "Sued" lies`, geoFile: "swapped.geojson", geoLine: 5},
		{file: "overlapping_windows.yaml", msg: `time window "fri 22:00-06:00" overlaps window "mon-fri 18:00-23:00" at line 37`},
		{file: "shadowed_rule.yaml", msg: `rule "tiefbau-nord" is unreachable: every report it matches is already taken by rule "alles-tiefbau" at line 28`},
		{file: "missing_default.yaml", msg: "no default"},
		{file: "unknown_area.yaml", msg: `unknown area "Norden" (did you mean "Nord"?)`},
		{file: "unknown_address.yaml", msg: `rule "gruen": unknown address "gruenflaechen"`},
		{file: "bad_hours.yaml", msg: `hours "22:00-25:00": times must be HH:MM between 00:00 and 24:00`},
		{file: "bad_priority.yaml", msg: `priority "sofort": use low, normal, high or urgent`},
		{file: "unknown_policy.yaml", msg: `team "tiefbau": unknown escalation policy "dringend"`},
		{file: "bad_confirmers.yaml", msg: `policy "standard": confirmers 3: use 1 or 2`},
		{file: "typo_key.yaml", msg: `unknown key "keyword" (did you mean "keywords"?)`},
		{file: "duplicate_rule.yaml", msg: `rule name "nord" is used twice (first at line 28)`},
		{file: "bad_timezone.yaml", msg: `unknown time zone "Europe/Bonn"`},
		{file: "yaml_syntax.yaml", msg: "mapping values are not allowed in this context"},
		{file: "unknown_day.yaml", msg: `unknown day "sam"`},
		{file: "no_conditions.yaml", msg: `rule "rest" has no conditions`},
		{file: "unknown_sender_group.yaml", msg: `sender "streifen" is not a group, JID or domain (did you mean "streife"?)`},
		{file: "bad_room.yaml", msg: `room "Tiefbau Raum" is not a bare JID`},
		{file: "bad_holiday.yaml", msg: `holiday "2026-02-30" is not a date`},
		{file: "unknown_schedule.yaml", msg: `unknown on-call schedule "bereitschaftt"`},
		{file: "never_matches.yaml", msg: `rule "ohne-ort" can never match: position: false together with an area condition`},
		{file: "missing_geojson.yaml", msg: "areas: cannot read"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			seen[c.file] = true
			path := filepath.Join("testdata", "broken", c.file)
			wantFile, wantLine := path, 0
			if c.geoFile != "" {
				wantFile, wantLine = filepath.Join("testdata", "broken", c.geoFile), c.geoLine
			} else {
				wantLine = markerLine(t, path)
			}
			rs, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %v, nil; want an error", path, rs)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var verr *Error
			if !errors.As(err, &verr) {
				t.Fatalf("error is not *Error: %v", err)
			}
			for _, p := range verr.Problems {
				if p.File == wantFile && p.Line == wantLine && strings.Contains(p.Msg, c.msg) {
					if len(verr.Problems) > 2 {
						t.Errorf("one mistake should give at most two problems, got:\n%v", err)
					}
					return
				}
			}
			t.Errorf("want %s:%d: …%s…, got:\n%v", wantFile, wantLine, c.msg, err)
		})
	}
	// every broken example is tested
	files, _ := filepath.Glob(filepath.Join("testdata", "broken", "*.yaml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s is not in the table", f)
		}
	}
	if len(cases) < 8 {
		t.Errorf("only %d distinct mistakes", len(cases))
	}
}

// The broken examples differ from a valid file only by their mistake.
func TestBrokenExamplesBaseIsValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "broken", "unknown_team.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(data), "team: tiefbau-sued  # <- mistake", "team: tiefbau", 1)
	dir := t.TempDir()
	geo, _ := os.ReadFile(filepath.Join("testdata", "broken", "districts.geojson"))
	os.WriteFile(filepath.Join(dir, "districts.geojson"), geo, 0o644)
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(fixed), 0o644)
	if _, err := Load(filepath.Join(dir, "rules.yaml")); err != nil {
		t.Fatalf("fixed file: %v", err)
	}
}

// Shape mistakes are all reported in one run, in plain words.
func TestCheckReportsAllShapeMistakes(t *testing.T) {
	path := writeRules(t, `teams:
  a: {room: a@c.example}
rules:
  - hello
  - {name: x, match: {address: [a, {b: c}]}, team: a}
  - {name: y, match: {urgent: maybe}, team: a}
  - {name: z, match: {time: "08:00"}, team: a}
default: {team: a, cc: {x: 1}}
holidays: 2026-01-01
`, "")
	_, err := Load(path)
	var verr *Error
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		"rules.yaml:4: cannot unmarshal !!str `hello` into a rule (a mapping)",
		"rules.yaml:5: expected a string, found a mapping",
		"rules.yaml:6: cannot unmarshal !!str `maybe` into true or false",
		"rules.yaml:7: cannot unmarshal !!str `08:00` into a list",
		"rules.yaml:8: expected a string or a list of strings, found a mapping",
		"rules.yaml:9: cannot unmarshal !!timestamp `2026-01-01` into a list",
	}
	if len(verr.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(verr.Problems), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}
