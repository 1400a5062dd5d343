package routing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const demoRules = "../deploy/demo/rules.yaml"

// The demo town's facts that `make run` and the integration tests rely on.
func TestDemoTown(t *testing.T) {
	rs, err := Load(demoRules)
	if err != nil {
		t.Fatal(err)
	}
	at := local("2026-11-23T10:00")
	// the photo 67-0_length_string.jpg (GPS 51.025, 7.59194) is in Mitte, north
	d := rs.Decide(&Input{Address: "tiefbau", Position: pos(51.025, 7.59194), At: at})
	if d.District != "Mitte" || d.Team != "tiefbau" {
		t.Errorf("photo: %+v, want Mitte / tiefbau", d)
	}
	// outside all districts (the Italian photos) and without position: tiefbau
	for _, p := range []*Point{pos(43.467, 11.885), nil} {
		d := rs.Decide(&Input{Address: "tiefbau", Position: p, At: at})
		if d.Team != "tiefbau" || d.District != "" {
			t.Errorf("position %v: %+v, want team tiefbau", p, d)
		}
	}
	if n := len(rs.Areas()); n < 6 {
		t.Errorf("%d districts, want at least 6", n)
	}
	rooms := map[string]string{
		"tiefbau":                "tiefbau@conference.stadt.localhost",
		"tiefbau-sued":           "tiefbau-sued@conference.stadt.localhost",
		"jugendamt":              "jugendamt@conference.stadt.localhost",
		"jugendamt-bereitschaft": "jugendamt@conference.stadt.localhost",
		"ordnungsamt":            "ordnungsamt@conference.stadt.localhost",
		"gruenflaechen":          "gruenflaechen@conference.stadt.localhost",
		"leitstelle":             "leitstelle@conference.stadt.localhost",
	}
	for id, room := range rooms {
		tm, ok := rs.Team(id)
		if !ok || tm.Room != room {
			t.Errorf("team %s: %+v, want room %s", id, tm, room)
		}
	}
	if tm, _ := rs.Team("tiefbau"); tm.Name != "Tiefbau Nord" || !slices.Equal(tm.Members, []string{"anna@stadt.localhost", "ben@stadt.localhost"}) {
		t.Errorf("tiefbau: %+v", tm)
	}
	if tm, _ := rs.Team("gruenflaechen"); tm.Name != "Grünflächen" {
		t.Errorf("gruenflaechen name %q", tm.Name)
	}
	if ids := rs.Teams(); ids[0].ID != "tiefbau" || len(ids) != 7 {
		t.Errorf("Teams() not in file order: %v", ids)
	}
	tb, _ := rs.Team("jugendamt-bereitschaft")
	sch, ok := rs.Schedule(tb.OnCall)
	if !ok || !slices.Equal(sch.Rotation, []string{"carla@stadt.localhost"}) || sch.Period != 7*24*time.Hour || !sch.Start.Equal(local("2026-01-05T08:00")) {
		t.Errorf("on-call schedule: %+v", sch)
	}
	if tb.Policy != "kindeswohl" {
		t.Errorf("jugendamt-bereitschaft policy %q", tb.Policy)
	}
	// child-welfare call-outs need a second confirmer; the day team's do not
	if kw, ok := rs.Policy(tb.Policy); !ok || kw.Confirmers != 2 || kw.AckTimeout != 2*time.Hour || len(kw.Levels) != 2 {
		t.Errorf("kindeswohl policy: %+v", kw)
	}
	if day, _ := rs.Team("jugendamt"); day.Policy != "urgent" {
		t.Errorf("jugendamt policy %q", day.Policy)
	}
	std, _ := rs.Policy("standard")
	if len(std.Levels) != 2 || std.Levels[0].After != 30*time.Minute || std.Levels[0].Targets[0] != (Target{Kind: "room"}) ||
		std.Levels[1].After != time.Hour || std.Levels[1].Targets[0] != (Target{Kind: "team", Ref: "leitstelle"}) {
		t.Errorf("standard policy: %+v", std)
	}
	urg, _ := rs.Policy("urgent")
	if urg.AckTimeout != 2*time.Hour || len(urg.Levels) != 2 || urg.Levels[0].After != 5*time.Minute || urg.Levels[0].Targets[0].Kind != "oncall" ||
		urg.Levels[1].After != 15*time.Minute || urg.Levels[1].Targets[0] != (Target{Kind: "team", Ref: "leitstelle"}) {
		t.Errorf("urgent policy: %+v", urg)
	}
	if std.Confirmers != 1 || urg.Confirmers != 1 {
		t.Errorf("confirmers default: standard %d, urgent %d, want 1", std.Confirmers, urg.Confirmers)
	}
	if !rs.IsDispatcher("dora@stadt.localhost") || !rs.IsDispatcher("Dora@Stadt.Localhost") || rs.IsDispatcher("anna@stadt.localhost") {
		t.Error("IsDispatcher")
	}
	tiefbau, _ := rs.Address("tiefbau")
	if tiefbau.DefaultTeam != "tiefbau" || !tiefbau.Allows("streife1@stadt.localhost") || tiefbau.Allows("x@example.org") || tiefbau.Allows("") || tiefbau.Language != "de" {
		t.Errorf("tiefbau address: %+v", tiefbau)
	}
	ja, _ := rs.Address("jugendamt-bereitschaft")
	if !ja.Urgent || !ja.Allows("carla@stadt.localhost") {
		t.Errorf("jugendamt-bereitschaft address: %+v", ja)
	}
	info, _ := rs.Address("info")
	if !info.Allows("") || !info.Allows("someone@example.org") {
		t.Errorf("info address is not public: %+v", info)
	}
	if _, ok := rs.Address("nope"); ok {
		t.Error("unknown address found")
	}
	if len(rs.Addresses()) != 3 {
		t.Errorf("addresses: %v", rs.Addresses())
	}
	if len(rs.Version()) != 12 {
		t.Errorf("version %q", rs.Version())
	}
	if _, ok := rs.holidays[dayNumber(2027, time.May, 6)]; !ok {
		t.Error("Christi Himmelfahrt 2027 is not a holiday")
	}
}

func TestAddressAllows(t *testing.T) {
	a := Address{Allow: []string{"stadt.localhost", "gast@example.org"}}
	for jid, want := range map[string]bool{
		"anna@stadt.localhost":      true,
		"Anna@STADT.localhost":      true,
		"gast@example.org":          true,
		"other@example.org":         false,
		"anna@evil-stadt.localhost": false,
		"stadt.localhost":           false, // a bare domain is not a user
		"":                          false,
	} {
		if got := a.Allows(jid); got != want {
			t.Errorf("Allows(%q) = %v, want %v", jid, got, want)
		}
	}
}

// deploy/demo/rules_test.yaml passes.
func TestDemoRuleTests(t *testing.T) {
	rs, err := Load(demoRules)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := rs.LoadTests("../deploy/demo/rules_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Errorf("only %d demo cases", len(cases))
	}
	for _, r := range rs.RunTests(cases) {
		if !r.Passed() {
			t.Errorf("%s:%d %s: %v", r.Case.File, r.Case.Line, r.Case.Name, r.Mismatch)
		}
	}
}

func TestRuleTestFileMistakes(t *testing.T) {
	rs, err := Load(demoRules)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.parseTests("t.yaml", []byte(`
tests:
  - name: no time
    input: {to: tiefbau}
    expect: {team: tiefbau}
  - name: half a position
    input: {to: tiefbau, lat: 51, at: "2026-11-23T10:00"}
    expect: {teem: tiefbau}
  - name: unknown team
    input: {to: tiefbau, at: "2026-11-23T10:00"}
    expect: {team: tiefbauu}
`))
	for _, want := range []string{
		"t.yaml:3: no time: input needs at",
		"t.yaml:8: unknown key \"teem\" (did you mean \"team\"?)",
		"t.yaml:6: half a position: give both lat and lon",
		"t.yaml:9: unknown team: expect team \"tiefbauu\" is not a team",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in:\n%v", want, err)
		}
	}
}
