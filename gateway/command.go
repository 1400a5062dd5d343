package gateway

import (
	"regexp"
	"strings"

	"github.com/fieldgate/fieldgate/dispatch"
)

// roomCommand is a take/resolve typed in a team room: "ok 42",
// "übernehme 2026-000042", "erledigt #42".
type roomCommand struct {
	Action dispatch.Action
	Ref    string
	Via    string // "room", "reply", "reaction"
}

var commandRE = regexp.MustCompile(`(?i)^\s*(ok|okay|übernehme|uebernehme|take|erledigt|done)\s*[:#]?\s*#?(\d{4}-\d{1,6}|\d{1,6})\b`)

// parseRoomCommand recognises a command at the start of a room message.
func parseRoomCommand(body string) (roomCommand, bool) {
	m := commandRE.FindStringSubmatch(body)
	if m == nil {
		return roomCommand{}, false
	}
	switch strings.ToLower(m[1]) {
	case "erledigt", "done":
		return roomCommand{Action: dispatch.ActionResolve, Ref: m[2]}, true
	default:
		return roomCommand{Action: dispatch.ActionTake, Ref: m[2]}, true
	}
}

var bareCommandRE = regexp.MustCompile(`(?i)^\s*(ok|okay|übernehme|uebernehme|take|erledigt|done)\s*[.!]?\s*$`)

// parseBareCommand recognises a command without a case number, as sent in
// a reply to an incident post.
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
