package gateway

import (
	"encoding/xml"
	"testing"
)

// TestRoomChangedBehindTheGatewaysBack: a ready team room stops being
// ready (so nothing is posted until the room manager has set it up again)
// when the room announces a configuration change (XEP-0045 status 104,
// 172/173 anonymity) or when an occupant the rules do not let in appears;
// members, dispatchers and the room's owners change nothing, and a room
// being set up ignores the notice its own configuration causes.
func TestRoomChangedBehindTheGatewaysBack(t *testing.T) {
	g, _ := newTestGateway(t)
	room := "tiefbau@conference.stadt.example"
	ready := func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		r := g.rooms[room]
		return r != nil && r.isReady
	}
	makeReady := func() {
		t.Helper()
		occupy(g, room, "x", "")
		g.mu.Lock()
		delete(g.rooms[room].occupants, "x")
		g.mu.Unlock()
		g.markReady(room, "v1")
		if !ready() {
			t.Fatal("room not ready")
		}
	}
	presence := func(raw string) {
		t.Helper()
		var p inPresence
		if err := xml.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatal(err)
		}
		g.roomPresence(&p)
	}
	message := func(raw string) bool {
		t.Helper()
		var m inMessage
		if err := xml.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		return g.roomConfigChanged(&m)
	}
	item := func(nick, jid, aff string) string {
		return `<presence from="` + room + `/` + nick + `"><x xmlns="http://jabber.org/protocol/muc#user"><item jid="` + jid + `/phone" affiliation="` + aff + `" role="participant"/></x></presence>`
	}

	makeReady()
	presence(item("anna", "Anna@stadt.example", "member"))
	presence(item("dora", "dora@stadt.example", "member"))
	presence(item("admin", "root@stadt.example", "owner"))
	if !ready() {
		t.Fatal("a member, the dispatcher or an owner made the room unready")
	}
	presence(item("neugierig", "mallory@stadt.example", "none"))
	if ready() {
		t.Error("a stranger inside left the room ready")
	}

	makeReady()
	presence(item("carla", "carla@stadt.example", "member")) // a member of another team
	if ready() {
		t.Error("a member of another team's room inside left the room ready")
	}

	makeReady()
	if message(`<message from="`+room+`/anna" type="groupchat"><x xmlns="http://jabber.org/protocol/muc#user"><status code="104"/></x></message>`) || !ready() {
		t.Error("an occupant's message counted as the room's notice")
	}
	for _, code := range []string{"104", "172", "173"} {
		makeReady()
		if !message(`<message from="`+room+`" type="groupchat"><x xmlns="http://jabber.org/protocol/muc#user"><status code="`+code+`"/></x></message>`) || ready() {
			t.Errorf("status %s left the room ready", code)
		}
		// The notice of the gateway's own configuration, while setting up.
		if !message(`<message from="`+room+`" type="groupchat"><x xmlns="http://jabber.org/protocol/muc#user"><status code="104"/></x></message>`) || ready() {
			t.Errorf("a notice while setting up made the room ready")
		}
	}
}

// BenchmarkRoomBookkeepingPerMessage is what every incoming message now
// costs the handler before it is queued (roomConfigChanged and
// bindOccupant), for a 1:1 report and for a room command, against the
// floor of parsing its sender's JID once.
func BenchmarkRoomBookkeepingPerMessage(b *testing.B) {
	g, _ := newTestGateway(&testing.T{})
	room := "tiefbau@conference.stadt.example"
	occupy(g, room, "anna", "anna@stadt.example")
	for _, c := range []struct{ name, from, typ string }{
		{"chat", "streife1@stadt.example/phone", "chat"},
		{"groupchat", room + "/anna", "groupchat"},
	} {
		b.Run("floor-"+c.name, func(b *testing.B) {
			for b.Loop() {
				_ = bare(c.from)
			}
		})
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				m := inMessage{From: c.from, Type: c.typ}
				if !g.roomConfigChanged(&m) {
					g.bindOccupant(&m)
				}
			}
		})
	}
}
