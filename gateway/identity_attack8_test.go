package gateway

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
)

// iqWire is the handler's token stream for an IQ answer: it keeps what
// the gateway encodes.
type iqWire struct{ out []string }

func (w *iqWire) Token() (xml.Token, error)   { return nil, io.EOF }
func (w *iqWire) EncodeToken(xml.Token) error { return nil }
func (w *iqWire) Flush() error                { return nil }
func (w *iqWire) EncodeElement(v any, _ xml.StartElement) error {
	return w.Encode(v)
}
func (w *iqWire) Encode(v any) error {
	b, err := xml.Marshal(v)
	w.out = append(w.out, string(b))
	return err
}

func askIQ(t *testing.T, g *Gateway, raw string) string {
	t.Helper()
	var iq inIQ
	if err := xml.Unmarshal([]byte(raw), &iq); err != nil {
		t.Fatal(err)
	}
	w := &iqWire{}
	g.answerIQ(w, &iq)
	if len(w.out) != 1 {
		t.Fatalf("%d answers to %s", len(w.out), raw)
	}
	return w.out[0]
}

// TestDiscoAsClientsAskIt: what Conversations, Monal, Dino and Gajim ask
// a contact and its service. A function address is a bot (XEP-0030
// client/bot) that announces XEP-0308 corrections; the domain has a
// registered identity; a node the gateway does not have is
// item-not-found (XEP-0030 §3.2), not the address's features again;
// version and time are refused without a word about the build.
func TestDiscoAsClientsAskIt(t *testing.T) {
	g, _ := newTestGateway(t)
	q := func(to, payload string) string {
		return askIQ(t, g, `<iq type="get" id="q1" from="streife1@stadt.example/phone" to="`+to+`">`+payload+`</iq>`)
	}
	addr := q("tiefbau@reports.stadt.example", `<query xmlns="http://jabber.org/protocol/disco#info"/>`)
	for _, want := range []string{`category="client" type="bot" name="Tiefbau"`, `var="urn:xmpp:message-correct:0"`, `var="urn:xmpp:receipts"`} {
		if !strings.Contains(addr, want) {
			t.Errorf("disco#info of the address lacks %s: %s", want, addr)
		}
	}
	if dom := q("reports.stadt.example", `<query xmlns="http://jabber.org/protocol/disco#info"/>`); !strings.Contains(dom, `category="component" type="generic"`) {
		t.Errorf("disco#info of the domain: %s", dom)
	}
	for _, payload := range []string{
		`<query xmlns="http://jabber.org/protocol/disco#info" node="urn:xmpp:vcard4"/>`,
		`<query xmlns="http://jabber.org/protocol/disco#info" node="http://conversations.im#abc="/>`,
		`<query xmlns="http://jabber.org/protocol/disco#items" node="http://jabber.org/protocol/commands"/>`,
	} {
		if a := q("reports.stadt.example", payload); !strings.Contains(a, "item-not-found") {
			t.Errorf("%s answered %s, want item-not-found", payload, a)
		}
	}
	for _, payload := range []string{`<query xmlns="jabber:iq:version"/>`, `<time xmlns="urn:xmpp:time"/>`} {
		a := q("tiefbau@reports.stadt.example", payload)
		if !strings.Contains(a, "service-unavailable") || strings.Contains(a, "version>") {
			t.Errorf("%s answered %s", payload, a)
		}
	}
	if a := q("tiefbau@reports.stadt.example", `<ping xmlns="urn:xmpp:ping"/>`); !strings.Contains(a, `type="result"`) {
		t.Errorf("ping answered %s", a)
	}
}

// TestSubscriptionAsClientsExpect: a subscription request from an
// allowed sender is approved at once (no "waiting for approval"), and the
// approval and the address's presence carry its display name (XEP-0172)
// so that Conversations names the contact "Tiefbau", not "tiefbau"; a
// probe is answered with the same presence.
func TestSubscriptionAsClientsExpect(t *testing.T) {
	g, _, w := newMessengerGateway(t)
	presence := func(raw string) {
		var p inPresence
		if err := xml.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatal(err)
		}
		g.onPresence(t.Context(), &p)
	}
	presence(`<presence type="subscribe" from="streife1@stadt.example" to="tiefbau@reports.stadt.example"/>`)
	presence(`<presence type="probe" from="streife1@stadt.example" to="tiefbau@reports.stadt.example"/>`)
	w.mu.Lock()
	out := w.out.String()
	w.mu.Unlock()
	if !strings.Contains(out, `type="subscribed"`) {
		t.Errorf("the subscription was not approved:\n%s", out)
	}
	if n := strings.Count(out, `<nick xmlns="http://jabber.org/protocol/nick">Tiefbau</nick>`); n != 3 {
		t.Errorf("%d presences with the display name, want 3 (subscribed, available, probe answer):\n%s", n, out)
	}
}

// TestRoomPrivateMessages: a private message to the gateway's nick in a
// team room (XEP-0045 §7.5) is neither a report nor an "unknown address":
// a member's "ok 7" takes the case as in the room, a stranger's is
// refused, other text gets a hint; every answer goes back privately.
func TestRoomPrivateMessages(t *testing.T) {
	g, d, w := newMessengerGateway(t)
	room := "tiefbau@conference.stadt.example"
	occupy(g, room, "anna", "anna@stadt.example")
	occupy(g, room, "fremd", "mallory@evil.example")
	pm := func(nick, body string) {
		deliver(t, g, `<message from="`+room+`/`+nick+`" to="reports.stadt.example/fieldgate" type="chat" id="p1"><body>`+body+`</body><x xmlns="http://jabber.org/protocol/muc#user"/></message>`)
	}
	pm("anna", "ok 7")
	pm("fremd", "ok 7")
	pm("anna", "Wer fährt raus?")
	d.fakeDisp.mu.Lock()
	cmds := append([]dispatch.Command(nil), d.cmds...)
	d.fakeDisp.mu.Unlock()
	if len(cmds) != 1 || cmds[0].Actor != "anna@stadt.example" || cmds[0].Ref != "7" || cmds[0].Room != room {
		t.Errorf("commands %+v, want anna's take of 7 in the room", cmds)
	}
	if r := d.got(); len(r) != 0 {
		t.Errorf("private messages became reports: %+v", r)
	}
	sent := w.sent(t)
	if len(sent) != 3 {
		t.Fatalf("%d answers, want 3: %+v", len(sent), sent)
	}
	for i, want := range []string{"✅", "Nur Mitglieder", "nur Befehle"} {
		if s := sent[i]; s.Type != "chat" || !strings.HasPrefix(s.To, room+"/") || s.Error != nil || !strings.Contains(s.Body, want) {
			t.Errorf("answer %d = %+v, want a private chat containing %q", i, s, want)
		}
	}
}
