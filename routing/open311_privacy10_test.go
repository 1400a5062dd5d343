package routing

import (
	"slices"
	"testing"
)

// TestOpen311TeamsOfTheDemoTown: the demo town publishes tiefbau and info
// over Open311; their rules lead to Tiefbau Nord and Süd, the Leitstelle,
// the Ordnungsamt and Grünflächen. The youth welfare teams are reached
// only from the unpublished jugendamt-bereitschaft address, so a request
// handed to them is not public.
func TestOpen311TeamsOfTheDemoTown(t *testing.T) {
	rs, err := Load(demoRules)
	if err != nil {
		t.Fatal(err)
	}
	got := rs.Open311Teams()
	slices.Sort(got)
	want := []string{"gruenflaechen", "leitstelle", "ordnungsamt", "tiefbau", "tiefbau-sued"}
	if !slices.Equal(got, want) {
		t.Errorf("Open311Teams = %v, want %v", got, want)
	}
	none := mustLoad(t, `version: 1
teams: {a: {name: A, room: a@conference.stadt.localhost}}
addresses: {x: {allow: [public], default_team: a}}
rules: []
default: {team: a}
`, "")
	if got := none.Open311Teams(); got == nil || len(got) != 0 {
		t.Errorf("without published addresses: %#v, want an empty list (not nil: nil filters nothing)", got)
	}
}
