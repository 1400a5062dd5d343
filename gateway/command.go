package gateway

import (
	"regexp"
	"strings"

	"github.com/fieldgate/fieldgate/dispatch"
)

// Command kinds typed in rooms (or 1:1 to a function address).
const (
	cmdTake     = "take"
	cmdResolve  = "resolve"
	cmdReassign = "reassign" // weiter 42 grünflächen [Grund]
	cmdReply    = "reply"    // antwort 42 Text | antwort 42 /erledigt
	cmdReject   = "reject"   // abgelehnt 42 Grund
	cmdUnmerge  = "unmerge"  // trennen 42
	cmdRelease  = "release"  // zurück 42: give a take back
)

// roomCommand is a command typed in a team room: "ok 42",
// "übernehme 2026-000042", "erledigt #42", "weiter 42 grünflächen".
type roomCommand struct {
	Kind   string
	Action dispatch.Action // for take, resolve and release
	Ref    string
	Arg    string // team, reply text or reason
	Via    string // "room", "reply", "reaction", "chat"
}

var verbs = map[string]string{
	"ok": cmdTake, "okay": cmdTake, "übernehme": cmdTake, "uebernehme": cmdTake, "take": cmdTake,
	"erledigt": cmdResolve, "done": cmdResolve,
	"weiter": cmdReassign, "reassign": cmdReassign,
	"antwort": cmdReply, "reply": cmdReply,
	"abgelehnt": cmdReject, "ablehnen": cmdReject, "reject": cmdReject,
	"trennen": cmdUnmerge, "unmerge": cmdUnmerge,
	"zurück": cmdRelease, "zurueck": cmdRelease, "abgeben": cmdRelease, "release": cmdRelease,
}

var commandRE = regexp.MustCompile(`(?is)^\s*([\p{L}]+)\s*[:#]?\s*#?(\d{4}-\d{1,6}|\d{1,6})\b\s*(.*)$`)

// parseRoomCommand recognises a command at the start of a message.
func parseRoomCommand(body string) (roomCommand, bool) {
	m := commandRE.FindStringSubmatch(body)
	if m == nil {
		return roomCommand{}, false
	}
	kind, ok := verbs[strings.ToLower(m[1])]
	if !ok {
		return roomCommand{}, false
	}
	c := roomCommand{Kind: kind, Ref: m[2], Arg: strings.TrimSpace(m[3])}
	switch kind {
	case cmdTake:
		c.Action = dispatch.ActionTake
	case cmdResolve:
		c.Action = dispatch.ActionResolve
	case cmdRelease:
		c.Action = dispatch.ActionRelease
	case cmdReassign, cmdReply, cmdReject:
		if c.Arg == "" {
			return roomCommand{}, false // "weiter 42" without a team is just text
		}
	}
	return c, true
}

var bareCommandRE = regexp.MustCompile(`(?i)^\s*(ok|okay|übernehme|uebernehme|take|erledigt|done)\s*[.!]?\s*$`)

// parseBareCommand recognises a take/resolve without a case number, as
// sent in a reply to an incident post.
func parseBareCommand(body string) (dispatch.Action, bool) {
	m := bareCommandRE.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	switch strings.ToLower(m[1]) {
	case "erledigt", "done":
		return dispatch.ActionResolve, true
	}
	return dispatch.ActionTake, true
}
