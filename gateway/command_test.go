package gateway

import (
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

func TestParseRoomCommand(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		action dispatch.Action
		ref    string
	}{
		{"ok 42", true, dispatch.ActionTake, "42"},
		{"OK 2026-000042", true, dispatch.ActionTake, "2026-000042"},
		{"  übernehme #7", true, dispatch.ActionTake, "7"},
		{"Übernehme 7", true, dispatch.ActionTake, "7"},
		{"erledigt 2026-12", true, dispatch.ActionResolve, "2026-12"},
		{"ok: 5 bin unterwegs", true, dispatch.ActionTake, "5"},
		{"ok", false, "", ""},
		{"okay dann", false, "", ""},
		{"ok 1234567", false, "", ""},
		{"das ist ok 42", false, "", ""},
		{"ok42x", false, "", ""},
	}
	for _, c := range cases {
		got, ok := parseRoomCommand(c.in)
		if ok != c.ok || got.Action != c.action || got.Ref != c.ref {
			t.Errorf("parseRoomCommand(%q) = %+v, %v; want %v %q, %v", c.in, got, ok, c.action, c.ref, c.ok)
		}
	}
}
