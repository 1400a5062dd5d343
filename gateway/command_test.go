package gateway

import (
	"testing"
)

func TestParseRoomCommand(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		kind string
		ref  string
		arg  string
	}{
		{"ok 42", true, cmdTake, "42", ""},
		{"OK 2026-000042", true, cmdTake, "2026-000042", ""},
		{"  übernehme #7", true, cmdTake, "7", ""},
		{"Übernehme 7", true, cmdTake, "7", ""},
		{"erledigt 2026-12", true, cmdResolve, "2026-12", ""},
		{"ok: 5 bin unterwegs", true, cmdTake, "5", "bin unterwegs"},
		{"weiter 42 grünflächen", true, cmdReassign, "42", "grünflächen"},
		{"Weiter 42 Grünflächen falscher Bezirk", true, cmdReassign, "42", "Grünflächen falscher Bezirk"},
		{"weiter 42", false, "", "", ""},
		{"antwort 42 /erledigt", true, cmdReply, "42", "/erledigt"},
		{"antwort 42 Wir sind unterwegs.\nBis gleich", true, cmdReply, "42", "Wir sind unterwegs.\nBis gleich"},
		{"abgelehnt 42 Privatgrund", true, cmdReject, "42", "Privatgrund"},
		{"trennen 2026-000042", true, cmdUnmerge, "2026-000042", ""},
		{"ok", false, "", "", ""},
		{"okay dann", false, "", "", ""},
		{"ok 1234567", false, "", "", ""},
		{"das ist ok 42", false, "", "", ""},
		{"ok42x", false, "", "", ""},
		{"hallo 42", false, "", "", ""},
	}
	for _, c := range cases {
		got, ok := parseRoomCommand(c.in)
		if ok != c.ok || got.Kind != c.kind || got.Ref != c.ref || got.Arg != c.arg {
			t.Errorf("parseRoomCommand(%q) = %+v, %v; want %s %q %q, %v", c.in, got, ok, c.kind, c.ref, c.arg, c.ok)
		}
	}
}
