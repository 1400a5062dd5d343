package gateway

import (
	"context"
	"testing"
	"time"
)

// TestRoomArchiveCommands: commands read from a room's archive as the
// gateway joins (written while no gateway was in the room, catchUpRoom)
// are carried out as their author's, the one the archive names; never as
// whoever holds the nick now, and not at all when the archive names no
// author or two (an occupant's forged muc#user item beside the room's),
// when the result carries no stanza-id (it could not be claimed once) or
// no archive time, or when it is the gateway's own. A delayed message the gateway was sent
// (history, or a client's forged delay) is never a command.
func TestRoomArchiveCommands(t *testing.T) {
	g, d := newTestGateway(t)
	ja := "jugendamt@conference.stadt.example"
	occupy(g, ja, "carla", "mallory@stadt.example") // the nick is someone else's now
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// The archive's results as mamResultIn turns them into messages.
	search := &mamSearch{room: ja, collect: true}
	g.mam.add("q1", search)
	n := 0
	result := func(nick string, authors ...string) {
		n++
		var r mamResult
		r.QueryID, r.ID = "q1", "arch-"+string(rune('a'+n))
		r.Forwarded.Message = inMessage{From: ja + "/" + nick, Bodies: oneBody("ok 7")}
		if nick != "nostamp" {
			r.Forwarded.Delay = &struct {
				Stamp string `xml:"stamp,attr"`
			}{Stamp: "2026-12-01T02:00:00Z"}
		}
		if len(authors) > 0 {
			r.Forwarded.Message.MUCUser = &mucUserElem{}
			for _, a := range authors {
				r.Forwarded.Message.MUCUser.Items = append(r.Forwarded.Message.MUCUser.Items, mucItem{JID: a + "/phone"})
			}
		}
		g.mamResultIn(&inMessage{From: ja, MAMResult: &r})
	}
	result("carla", "carla@stadt.example")                     // carried out, as carla's
	result("carla")                                            // author not named
	result("carla", "eve@evil.example", "carla@stadt.example") // two authors named
	result(g.cfg.Nick, "carla@stadt.example")                  // our own
	result("nostamp", "carla@stadt.example")                   // no archive time: not checkable against the claims\' start
	g.mam.remove("q1")
	if len(search.got) != 5 || search.got[0].archivedAt.IsZero() || !search.got[0].history || search.got[0].Type != "groupchat" ||
		len(search.got[0].StanzaIDs) != 1 || search.got[0].StanzaIDs[0].ID != "arch-b" || search.got[0].StanzaIDs[0].By != ja {
		t.Fatalf("collected %+v", search.got)
	}
	for i := range search.got {
		g.onRoomMessage(ctx, &search.got[i])
	}
	noID := inMessage{From: ja + "/carla", Type: "groupchat", Bodies: oneBody("ok 7"), history: true,
		MUCUser: &mucUserElem{Items: []mucItem{{JID: "carla@stadt.example"}}}}
	g.onRoomMessage(ctx, &noID)
	sent := inMessage{From: ja + "/carla", Type: "groupchat", Bodies: oneBody("ok 7"), Delay: &struct{}{},
		StanzaIDs: []idElem{{ID: "s-9", By: ja}}, MUCUser: &mucUserElem{Items: []mucItem{{JID: "carla@stadt.example"}}}}
	g.bindOccupant(&sent)
	g.onRoomMessage(ctx, &sent)
	if len(d.cmds) != 1 || d.cmds[0].Actor != "carla@stadt.example" || d.cmds[0].Ref != "7" {
		t.Fatalf("commands carried out: %+v; want carla's one take from the archive", d.cmds)
	}
}
