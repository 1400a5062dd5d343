package dispatch

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// Escalation planning without a database: which step comes next and when
// (nextStep), and whom a level alerts (planAlerts).

func TestNextStepWalksThePolicy(t *testing.T) {
	pol := routing.Policy{Name: "p", Levels: []routing.Level{
		{After: 5 * time.Minute, Repeat: 2, RepeatEvery: 10 * time.Minute},
		{After: 30 * time.Minute},
		{After: 60 * time.Minute, Repeat: 1, RepeatEvery: time.Hour},
	}}
	origin := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Berlin moves to summer time: UTC is unaffected
	type step struct {
		level, repeat int
		at            time.Duration // after origin
	}
	want := []step{{0, 1, 15 * time.Minute}, {0, 2, 25 * time.Minute}, {1, 0, 30 * time.Minute}, {2, 0, 60 * time.Minute}, {2, 1, 120 * time.Minute}}
	var got []step
	a := escalateArgs{Round: 3} // the first step, level 0 repeat 0, is due at origin+5m
	for range 10 {
		next, at, ok := nextStep(pol, a, origin)
		if !ok {
			break
		}
		if next.Round != 3 || next.IncidentID != a.IncidentID {
			t.Fatalf("nextStep changed the round or incident: %+v", next)
		}
		got = append(got, step{next.Level, next.Repeat, at.Sub(origin)})
		a = next
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
}

func TestNextStepSingleLevel(t *testing.T) {
	pol := routing.Policy{Levels: []routing.Level{{After: time.Minute}}}
	if next, at, ok := nextStep(pol, escalateArgs{}, time.Unix(0, 0)); ok {
		t.Errorf("a single level without repeats has a next step: %+v at %v", next, at)
	}
}

// planRules: tiefbau with an on-call schedule, a second team sharing
// tiefbau's room, the Leitstelle, and a team whose schedule has nobody.
const planRules = `version: 1
schedules:
  bereitschaft:
    rotation: [carla@stadt.example]
    start: 2026-01-05T08:00
    period: 7d
  leer:
    rotation: [nobody@stadt.example]
    start: 2026-01-05T08:00
    period: 7d
teams:
  tiefbau:
    room: Tiefbau@Conference.Stadt.Example
    oncall: bereitschaft
  tiefbau-nacht:
    room: tiefbau@conference.stadt.example
  leitstelle:
    room: leitstelle@conference.stadt.example
    language: en
  gruen:
    room: gruen@conference.stadt.example
    oncall: leer
addresses:
  tiefbau:
    allow: [public]
default: {team: tiefbau}
`

func loadPlanRules(t *testing.T) *routing.RuleSet {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(planRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// fakeOnCall answers the on-call lookup: Carla for bereitschaft, nobody
// for any other schedule.
func fakeOnCall(s routing.Schedule) (string, bool) {
	if s.Name == "bereitschaft" {
		return "Carla@Stadt.Example", true
	}
	return "", false
}

func TestPlanAlerts(t *testing.T) {
	rs := loadPlanRules(t)
	const (
		tiefbauRoom = "tiefbau@conference.stadt.example"
		leitstelle  = "leitstelle@conference.stadt.example"
		gruenRoom   = "gruen@conference.stadt.example"
	)
	targets := func(refs ...string) routing.Level {
		var lv routing.Level
		for _, r := range refs {
			kind, ref, _ := strings.Cut(r, ":")
			lv.Targets = append(lv.Targets, routing.Target{Kind: kind, Ref: ref})
		}
		return lv
	}
	cases := []struct {
		name  string
		team  string
		level routing.Level
		want  []alertTarget
	}{
		{"every kind of target", "tiefbau", targets("room", "team:leitstelle", "oncall", "person:Dora@stadt.example"), []alertTarget{
			{Kind: alertReminder, JID: tiefbauRoom},
			{Kind: alertTeamRoom, JID: leitstelle, Language: "en", Record: true},
			{Kind: alertPerson, JID: "carla@stadt.example", Record: true},
			{Kind: alertPerson, JID: "dora@stadt.example", Record: true},
		}},
		{"a named schedule", "gruen", targets("oncall:bereitschaft"), []alertTarget{
			{Kind: alertPerson, JID: "carla@stadt.example", Record: true},
		}},
		{"the same person twice is alerted once", "tiefbau", targets("oncall", "person:carla@stadt.example"), []alertTarget{
			{Kind: alertPerson, JID: "carla@stadt.example", Record: true},
		}},
		{"another team sharing the room: one post, no alert row", "tiefbau-nacht", targets("team:tiefbau"), []alertTarget{
			{Kind: alertTeamRoom, JID: tiefbauRoom, Language: "de"},
		}},
		{"reminder and the same room again", "tiefbau", targets("room", "team:tiefbau-nacht"), []alertTarget{
			{Kind: alertReminder, JID: tiefbauRoom},
		}},
		{"unknown team", "tiefbau", targets("team:gibtsnicht"), []alertTarget{
			{Kind: alertMissing, Note: "missing:team:gibtsnicht"},
		}},
		{"nobody on call: said in the room", "gruen", targets("oncall"), []alertTarget{
			{Kind: alertNobodyOnCall, JID: gruenRoom, Schedule: "leer", Note: "nobody_on_call:leer"},
		}},
		{"nobody on call after a reminder: noted, the room not told twice", "gruen", targets("room", "oncall"), []alertTarget{
			{Kind: alertReminder, JID: gruenRoom},
			{Kind: alertNobodyOnCall, Schedule: "leer", Note: "nobody_on_call:leer"},
		}},
		{"team without schedule", "leitstelle", targets("oncall"), []alertTarget{
			{Kind: alertNobodyOnCall, JID: leitstelle, Note: "nobody_on_call:"},
		}},
		{"unknown schedule", "tiefbau", targets("oncall:gibtsnicht"), []alertTarget{
			{Kind: alertNobodyOnCall, JID: tiefbauRoom, Schedule: "gibtsnicht", Note: "nobody_on_call:gibtsnicht"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planAlerts(rs, Incident{Team: c.team, CaseNumber: "2026-000042"}, c.level, fakeOnCall)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("planAlerts =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}
