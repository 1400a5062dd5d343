package gateway

import (
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestParseReleaseCommand: a take is given back with "zurück 42" (also
// "zurueck", "abgeben", English "release"), in any case and with the
// forms a take accepts.
func TestParseReleaseCommand(t *testing.T) {
	for _, in := range []string{"zurück 42", "Zurück #42", "ZURUECK 42", "abgeben: 42 kann doch nicht", "release 42"} {
		got, ok := parseRoomCommand(in)
		if !ok || got.Kind != cmdRelease || got.Action != dispatch.ActionRelease || got.Ref != "42" {
			t.Errorf("parseRoomCommand(%q) = %+v, %v; want a release of 42", in, got, ok)
		}
	}
	if _, ok := parseRoomCommand("zurück"); ok {
		t.Error("a bare zurück is a command")
	}
}
