package routing

import (
	"testing"
	"time"
)

// condRules has one rule per condition type, each bound to its own
// address so the cases do not interfere.
const condRules = unitHead + `
rules:
  - {name: r-address, match: {address: adr}, team: a}
  - {name: r-keywords, match: {address: kw, keywords: ["#Schlagloch", Straße]}, team: b, category: schlagloch}
  - {name: r-area, match: {address: area, area: [Quadrat, dreiecke]}, team: c}
  - {name: r-near, match: {address: near, near: {areas: [Dreieck], within: 200m}}, team: d}
  - {name: r-pos, match: {address: pos, position: true}, team: e}
  - {name: r-nopos, match: {address: nopos, position: false}, team: f}
  - {name: r-time, match: {address: time, time: [{days: [sat, sun, holiday], hours: "10:00-12:00"}, {days: [fri], hours: "22:00-06:00"}]}, team: g}
  - {name: r-nottime, match: {address: nottime, not_time: [{days: [mon-fri], hours: "08:00-16:00"}]}, team: h}
  - {name: r-hours, match: {address: hours, working_hours: a}, team: i}
  - {name: r-sender, match: {address: sender, sender: [streife, partner.example, x@y.example]}, team: j}
  - {name: r-urgent, match: {address: urg, urgent: true}, team: k, priority: high}
  - {name: r-alarm, match: {address: alarm, urgent: true}, team: bereit}
default: {team: leitstelle}
`

func TestConditions(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	mon10 := local("2026-11-23T10:00") // Monday
	cases := []struct {
		name string
		in   Input
		rule string
	}{
		{"address matches", Input{Address: "adr", At: mon10}, "r-address"},
		{"address is case-insensitive", Input{Address: "ADR", At: mon10}, "r-address"},
		{"address as a full JID", Input{Address: "Adr@reports.stadt.localhost", At: mon10}, "r-address"},
		{"unknown address falls to default", Input{Address: "zzz", At: mon10}, "default"},

		{"hashtag", Input{Address: "kw", Text: "Da ist ein #Schlagloch!", At: mon10}, "r-keywords"},
		{"lower case", Input{Address: "kw", Text: "schlagloch", At: mon10}, "r-keywords"},
		{"plural with umlaut", Input{Address: "kw", Text: "Zwei Schlaglöcher", At: mon10}, "r-keywords"},
		{"umlaut transcribed", Input{Address: "kw", Text: "SCHLAGLOECHER", At: mon10}, "r-keywords"},
		{"ß written as ss", Input{Address: "kw", Text: "Hauptstrasse kaputt", At: mon10}, "default"}, // word starts with haupt
		{"ß as ss at word start", Input{Address: "kw", Text: "Strasse kaputt", At: mon10}, "r-keywords"},
		{"keyword inside a word does not match", Input{Address: "kw", Text: "Vorschlag", At: mon10}, "default"},
		{"prefix of keyword does not match", Input{Address: "kw", Text: "Schlag", At: mon10}, "default"},

		{"inside area", Input{Address: "area", Position: pos(51.02, 7.52), At: mon10}, "r-area"},
		{"inside area group", Input{Address: "area", Position: pos(51.02, 7.75), At: mon10}, "r-area"},
		{"in the hole is outside", Input{Address: "area", Position: pos(51.05, 7.55), At: mon10}, "default"},
		{"outside area", Input{Address: "area", Position: pos(51.2, 7.52), At: mon10}, "default"},
		{"area without position", Input{Address: "area", At: mon10}, "default"},

		{"near: inside", Input{Address: "near", Position: pos(51.01, 7.75), At: mon10}, "r-near"},
		{"near: 150 m south of the base edge", Input{Address: "near", Position: pos(51.00-150/metresPerDegree, 7.75), At: mon10}, "r-near"},
		{"near: 250 m south of the base edge", Input{Address: "near", Position: pos(51.00-250/metresPerDegree, 7.75), At: mon10}, "default"},
		{"near: no position", Input{Address: "near", At: mon10}, "default"},

		{"has position", Input{Address: "pos", Position: pos(1, 1), At: mon10}, "r-pos"},
		{"has no position (wanted)", Input{Address: "pos", At: mon10}, "default"},
		{"no position", Input{Address: "nopos", At: mon10}, "r-nopos"},
		{"no position (has one)", Input{Address: "nopos", Position: pos(1, 1), At: mon10}, "default"},

		{"saturday 11:00", Input{Address: "time", At: local("2026-11-28T11:00")}, "r-time"},
		{"saturday 12:00 is past the window", Input{Address: "time", At: local("2026-11-28T12:00")}, "default"},
		{"monday 11:00", Input{Address: "time", At: local("2026-11-23T11:00")}, "default"},
		{"holiday friday 11:00", Input{Address: "time", At: local("2026-12-25T11:00")}, "r-time"},
		{"friday 23:00", Input{Address: "time", At: local("2026-11-27T23:00")}, "r-time"},
		{"saturday 05:59 belongs to friday night", Input{Address: "time", At: local("2026-11-28T05:59")}, "r-time"},
		{"sunday 05:00 is not friday night", Input{Address: "time", At: local("2026-11-29T05:00")}, "default"},
		{"time given in UTC", Input{Address: "time", At: utc("2026-11-28T10:30Z")}, "r-time"}, // 11:30 CET

		{"not_time: monday 10:00", Input{Address: "nottime", At: mon10}, "default"},
		{"not_time: monday 17:00", Input{Address: "nottime", At: local("2026-11-23T17:00")}, "r-nottime"},
		{"not_time: holiday 10:00", Input{Address: "nottime", At: local("2026-12-25T10:00")}, "r-nottime"},

		{"working hours", Input{Address: "hours", At: mon10}, "r-hours"},
		{"outside working hours", Input{Address: "hours", At: local("2026-11-23T16:00")}, "default"},

		{"sender in group", Input{Address: "sender", Sender: "streife2@stadt.localhost", At: mon10}, "r-sender"},
		{"sender upper case", Input{Address: "sender", Sender: "Streife1@Stadt.Localhost", At: mon10}, "r-sender"},
		{"sender domain", Input{Address: "sender", Sender: "anyone@partner.example", At: mon10}, "r-sender"},
		{"sender jid", Input{Address: "sender", Sender: "x@y.example", At: mon10}, "r-sender"},
		{"sender other", Input{Address: "sender", Sender: "z@y.example", At: mon10}, "default"},
		{"no sender", Input{Address: "sender", At: mon10}, "default"},

		{"urgent", Input{Address: "urg", Urgent: true, At: mon10}, "r-urgent"},
		{"not urgent", Input{Address: "urg", At: mon10}, "default"},
		{"urgent address", Input{Address: "alarm", At: mon10}, "r-alarm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := rs.Decide(&c.in)
			if d.Rule != c.rule {
				t.Errorf("Decide: rule %q, want %q", d.Rule, c.rule)
			}
			e := rs.Explain(&c.in)
			if !sameDecision(d, e) {
				t.Errorf("Decide %+v != Explain %+v", d, e)
			}
		})
	}
}

func TestDecisionFields(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	at := local("2026-11-23T10:00")
	d := rs.Decide(&Input{Address: "kw", Text: "Schlagloch", Position: pos(51.05, 7.55), At: at})
	want := Decision{Rule: "r-keywords", Team: "b", Priority: "normal", Category: "schlagloch", District: "Loch"}
	if !sameDecision(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
	// team policy is the default policy; explicit priority wins over urgency
	d = rs.Decide(&Input{Address: "adr", Urgent: true, At: at})
	if d.Policy != "standard" || d.Priority != "urgent" {
		t.Errorf("adr urgent: %+v, want policy standard (the team's) and priority urgent", d)
	}
	d = rs.Decide(&Input{Address: "urg", Urgent: true, At: at})
	if d.Priority != "high" {
		t.Errorf("explicit priority: %+v", d)
	}
	// urgent address: the report is urgent although the sender did not flag it
	d = rs.Decide(&Input{Address: "alarm", At: at})
	if d.Priority != "urgent" || d.Policy != "urgent" || d.Team != "bereit" {
		t.Errorf("alarm: %+v", d)
	}
	if len(d.Trail) != 0 {
		t.Errorf("Decide filled the trail: %v", d.Trail)
	}
}

func TestRuleOrderFirstMatchWins(t *testing.T) {
	rs := mustLoad(t, unitHead+`
rules:
  - {name: first, match: {keywords: [baum]}, team: a}
  - {name: second, match: {address: kw, keywords: [ast]}, team: b}
  - {name: third, match: {address: kw}, team: c}
default: {team: leitstelle}
`, unitGeo)
	at := local("2026-11-23T10:00")
	for text, want := range map[string]string{
		"Baum und Ast": "first", // both first and second match: first wins
		"Ast":          "second",
		"nichts":       "third",
	} {
		in := &Input{Address: "kw", Text: text, At: at}
		if d := rs.Decide(in); d.Rule != want {
			t.Errorf("%q: Decide rule %q, want %q", text, d.Rule, want)
		}
		if d := rs.Explain(in); d.Rule != want {
			t.Errorf("%q: Explain rule %q, want %q", text, d.Rule, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	at := local("2026-11-23T10:00")
	d := rs.Decide(&Input{Address: "fallback", At: at})
	if d.Rule != "address:fallback" || d.Team != "b" {
		t.Errorf("address default: %+v", d)
	}
	d = rs.Decide(&Input{Address: "kw", Text: "nichts", At: at, Urgent: true})
	if d.Rule != "default" || d.Team != "leitstelle" || d.Priority != "urgent" {
		t.Errorf("file default: %+v", d)
	}
	d = rs.Decide(&Input{})
	if d.Rule != "default" {
		t.Errorf("empty input: %+v", d)
	}
}

// A report without position routes by the rules that do not need one.
func TestNoPositionUsesRulesWithoutArea(t *testing.T) {
	rs := mustLoad(t, unitHead+`
rules:
  - {name: in-quadrat, match: {address: kw, area: Quadrat}, team: a}
  - {name: near-dreieck, match: {address: kw, near: {areas: [Dreieck], within: 1km}}, team: b}
  - {name: text, match: {address: kw, keywords: [baum]}, team: c}
default: {team: leitstelle}
`, unitGeo)
	in := &Input{Address: "kw", Text: "Baum", At: local("2026-11-23T10:00")}
	d := rs.Explain(in)
	if d.Rule != "text" {
		t.Fatalf("rule %q, want text", d.Rule)
	}
	if len(d.Trail) != 3 || d.Trail[0].Failed != "area: the report has no position" || d.Trail[1].Failed != "near: the report has no position" || !d.Trail[2].Matched {
		t.Errorf("trail: %+v", d.Trail)
	}
}

func TestExplainTrail(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	d := rs.Explain(&Input{Address: "time", At: local("2026-11-23T11:00"), Position: pos(51.02, 7.52)})
	if d.Rule != "default" {
		t.Fatalf("rule %q", d.Rule)
	}
	if len(d.Trail) != 12 {
		t.Fatalf("trail has %d steps, want 12 (all rules)", len(d.Trail))
	}
	if got, want := d.Trail[0].Failed, `address: "time" is not adr`; got != want {
		t.Errorf("step 0: %q, want %q", got, want)
	}
	if got, want := d.Trail[6].Failed, "time: Mon 2026-11-23 11:00 CET is not in sat,sun,holiday 10:00-12:00, fri 22:00-06:00"; got != want {
		t.Errorf("step 6: %q, want %q", got, want)
	}
	if d.Trail[6].Line == 0 || d.Trail[6].Rule != "r-time" {
		t.Errorf("step 6: %+v", d.Trail[6])
	}
	d = rs.Explain(&Input{Address: "kw", Text: "Hallo", At: local("2026-11-23T11:00")})
	if got, want := d.Trail[1].Failed, "keywords: the text has none of #Schlagloch, Straße"; got != want {
		t.Errorf("keywords step: %q, want %q", got, want)
	}
}

func TestWorkingHoursOnHoliday(t *testing.T) {
	rs := mustLoad(t, condRules, unitGeo)
	// 2026-12-25 is a Friday and a holiday: mon-fri working hours do not apply
	if d := rs.Decide(&Input{Address: "hours", At: local("2026-12-25T10:00")}); d.Rule != "default" {
		t.Errorf("holiday: rule %q, want default", d.Rule)
	}
	// the next day is Saturday anyway; 2026-12-24 is a normal Thursday
	if d := rs.Decide(&Input{Address: "hours", At: local("2026-12-24T10:00")}); d.Rule != "r-hours" {
		t.Errorf("Christmas Eve: rule %q, want r-hours", d.Rule)
	}
}

func TestTimeZoneOfFile(t *testing.T) {
	rs := mustLoad(t, `
timezone: America/New_York
teams: {a: {room: a@c.example}, b: {room: b@c.example}}
addresses: {x: {allow: [public]}}
rules:
  - {name: office, match: {time: [{days: [mon-fri], hours: "09:00-17:00"}]}, team: a}
default: {team: b}
`, "")
	if rs.Location().String() != "America/New_York" {
		t.Fatalf("location %v", rs.Location())
	}
	// 14:30 UTC on a Monday is 09:30 in New York (EST, UTC-5)
	if d := rs.Decide(&Input{At: utc("2026-11-23T14:30Z")}); d.Team != "a" {
		t.Errorf("14:30Z: team %q, want a", d.Team)
	}
	// 13:30 UTC is 08:30 there
	if d := rs.Decide(&Input{At: utc("2026-11-23T13:30Z")}); d.Team != "b" {
		t.Errorf("13:30Z: team %q, want b", d.Team)
	}
	// default zone is Europe/Berlin
	rs2 := mustLoad(t, `
teams: {a: {room: a@c.example}}
default: {team: a}
`, "")
	if rs2.Location().String() != "Europe/Berlin" {
		t.Errorf("default location %v", rs2.Location())
	}
	_ = time.UTC
}
