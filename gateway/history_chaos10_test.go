package gateway

import (
	"context"
	"testing"
	"time"
)

// TestRoomHistoryCommands: commands in the history a room sends as the
// gateway joins (written while no gateway was in the room) are carried
// out as their author's, the one the room names; nothing else delayed
// counts: not a message delayed by someone else, not one after the
// room's subject (which ends the history), not one whose author the
// room does not name or names twice (an occupant's forged muc#user item
// next to the room's), not one without the room's stanza-id (it could
// not be claimed once), and never as whoever holds the nick now.
func TestRoomHistoryCommands(t *testing.T) {
	g, d := newTestGateway(t)
	ja := "jugendamt@conference.stadt.example"
	occupy(g, ja, "carla", "mallory@stadt.example") // the nick is someone else's now
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	join := func() {
		g.mu.Lock()
		g.rooms[ja].reset()
		g.mu.Unlock()
		g.roomPresence(&inPresence{From: ja + "/" + g.cfg.Nick, MUCUser: &mucUserElem{
			Items: []mucItem{{Affiliation: "owner"}}, Statuses: []mucCode{{Code: 110}}}})
	}
	n := 0
	delayed := func(by string, authors ...string) *inMessage {
		n++
		m := &inMessage{From: ja + "/carla", Type: "groupchat", Bodies: oneBody("ok 7"),
			StanzaIDs: []idElem{{ID: "s-" + string(rune('a'+n)), By: ja}}, Delay: &delayElem{From: by}}
		if len(authors) > 0 {
			m.MUCUser = &mucUserElem{}
			for _, a := range authors {
				m.MUCUser.Items = append(m.MUCUser.Items, mucItem{JID: a + "/phone"})
			}
		}
		return m
	}
	handle := func(m *inMessage) {
		g.markHistory(m)
		g.bindOccupant(m)
		g.onRoomMessage(ctx, m)
	}
	join()
	handle(delayed(ja, "carla@stadt.example"))                     // carried out, as carla's
	handle(delayed("elsewhere.example", "carla@stadt.example"))    // delayed by someone else
	handle(delayed(ja))                                            // author not named
	handle(delayed(ja, "eve@evil.example", "carla@stadt.example")) // two authors named
	noID := delayed(ja, "carla@stadt.example")
	noID.StanzaIDs = nil
	handle(noID)
	subject := ""
	handle(&inMessage{From: ja, Type: "groupchat", Subject: &subject})
	handle(delayed(ja, "carla@stadt.example")) // after the subject: not history
	if len(d.cmds) != 1 || d.cmds[0].Actor != "carla@stadt.example" || d.cmds[0].Ref != "7" {
		t.Fatalf("commands carried out: %+v; want carla's one take from the history", d.cmds)
	}
	join() // the next join's history counts again
	handle(delayed(ja, "carla@stadt.example"))
	if len(d.cmds) != 2 {
		t.Fatalf("commands after joining again: %+v", d.cmds)
	}
	// A live message ends the history too (a server that sends no subject).
	handle(&inMessage{From: ja + "/carla", Type: "groupchat", Bodies: oneBody("moin")})
	handle(delayed(ja, "carla@stadt.example"))
	if len(d.cmds) != 2 {
		t.Fatalf("a delayed message after a live one was taken for history: %+v", d.cmds)
	}
}
