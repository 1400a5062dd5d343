package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/fieldgate/fieldgate/internal/msg"
	"github.com/fieldgate/fieldgate/internal/slots"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
)

// TestDecodeMessage decodes a message as Conversations sends a photo with
// a location: body, XEP-0066 OOB link, XEP-0080 geoloc, XEP-0359
// origin-id, XEP-0184 receipt request.
func TestDecodeMessage(t *testing.T) {
	raw := `<message xmlns="jabber:component:accept" from="streife1@stadt.example/phone" to="tiefbau@reports.stadt.example"
	         id="m1" type="chat" xml:lang="de">
	  <body>https://upload.stadt.example/abc/foto.jpg</body>
	  <x xmlns="jabber:x:oob"><url>https://upload.stadt.example/abc/foto.jpg</url></x>
	  <geoloc xmlns="http://jabber.org/protocol/geoloc"><lat>51.0234</lat><lon>7.5921</lon><accuracy>12</accuracy></geoloc>
	  <origin-id xmlns="urn:xmpp:sid:0" id="orig-1"/>
	  <request xmlns="urn:xmpp:receipts"/>
	</message>`
	var m inMessage
	if err := xml.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	if m.From != "streife1@stadt.example/phone" || m.Type != "chat" || m.Lang != "de" || m.body() != "https://upload.stadt.example/abc/foto.jpg" {
		t.Errorf("header/body: %+v", m)
	}
	if len(m.OOB) != 1 || m.OOB[0].URL != "https://upload.stadt.example/abc/foto.jpg" {
		t.Errorf("OOB %+v", m.OOB)
	}
	if m.Geoloc == nil || m.Geoloc.Lat == nil || *m.Geoloc.Lat != "51.0234" || *m.Geoloc.Lon != "7.5921" || *m.Geoloc.Accuracy != "12" {
		t.Errorf("geoloc %+v", m.Geoloc)
	}
	if m.Request == nil || m.Received != nil {
		t.Errorf("receipt request %v, received %v", m.Request, m.Received)
	}
	if got := idempotencyKey(&m); got != "origin:orig-1" {
		t.Errorf("idempotency key %q, want the origin-id", got)
	}
}

func TestDecodeRoomReactionAndReply(t *testing.T) {
	raw := `<message from="tiefbau@conference.stadt.example/anna" type="groupchat" id="r1">
	  <reactions xmlns="urn:xmpp:reactions:0" id="post-9"><reaction>👍</reaction></reactions>
	  <reply xmlns="urn:xmpp:reply:0" to="tiefbau@conference.stadt.example/fieldgate" id="post-8"/>
	  <stanza-id xmlns="urn:xmpp:sid:0" by="tiefbau@conference.stadt.example" id="s-1"/>
	  <delay xmlns="urn:xmpp:delay" stamp="2026-05-20T10:00:00Z"/>
	</message>`
	var m inMessage
	if err := xml.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	if m.Reactions == nil || m.Reactions.ID != "post-9" || !reflect.DeepEqual(m.Reactions.Reactions, []string{"👍"}) {
		t.Errorf("reactions %+v", m.Reactions)
	}
	if m.Reply == nil || m.Reply.ID != "post-8" || len(m.StanzaIDs) != 1 || m.StanzaIDs[0].ID != "s-1" || m.Delay == nil {
		t.Errorf("reply %+v stanza-ids %+v delay %v", m.Reply, m.StanzaIDs, m.Delay)
	}
	if got := idempotencyKey(&m); got != "id:r1" {
		t.Errorf("idempotency key %q, want the message id", got)
	}
	if got := idempotencyKey(&inMessage{}); got != "" {
		t.Errorf("idempotency key of a message without ids: %q", got)
	}
}

func TestParseBareCommand(t *testing.T) {
	cases := []struct {
		in   string
		want dispatch.Action
		ok   bool
	}{
		{"ok", dispatch.ActionTake, true},
		{" OK! ", dispatch.ActionTake, true},
		{"übernehme.", dispatch.ActionTake, true},
		{"Erledigt", dispatch.ActionResolve, true},
		{"done", dispatch.ActionResolve, true},
		{"ok danke", "", false},
		{"ok 42", "", false}, // a full command, not a bare one
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := parseBareCommand(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parseBareCommand(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestWithoutQuote(t *testing.T) {
	in := "> Meldung 2026-000042\n>   Schlagloch\nok\n"
	if got := withoutQuote(in); got != "ok" {
		t.Errorf("withoutQuote = %q, want ok", got)
	}
	if got := withoutQuote("Gehweg > Straße"); got != "Gehweg > Straße" {
		t.Errorf("a > inside a line was dropped: %q", got)
	}
}

// TestSafeURLDropsSecrets: logs show scheme and host only; the path of an
// HTTP-upload URL is the credential to the file (issue 16).
func TestSafeURLDropsSecrets(t *testing.T) {
	cases := map[string]string{
		"https://upload.stadt.example/abc/foto.jpg?token=geheim": "https://upload.stadt.example/…",
		"https://user:pass@upload.stadt.example/x.jpg":           "https://upload.stadt.example/…",
		"https://upload.stadt.example/a b.jpg#frag":              "https://upload.stadt.example/…",
		"http://[::1": "(unparsable URL)",
	}
	for in, want := range cases {
		if got := safeURL(in); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAttachmentReason(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("fetch: %w", ErrAttachmentTooLarge), "zu groß"},
		{fmt.Errorf("put: %w", media.ErrTooLarge), "zu groß"},
		{fmt.Errorf("put: %w", media.ErrTypeNotAllowed), "Dateityp nicht erlaubt"},
		{fmt.Errorf("put: %w", &media.TooLargeError{ContentType: "image/jpeg", Limit: 50 << 20}), "zu groß, höchstens 50,0 MiB für image/jpeg"},
		{fmt.Errorf("put: %w", &media.TypeNotAllowedError{Detected: "text/html"}), "Dateityp text/html nicht erlaubt"},
		{fmt.Errorf("put: %w", &media.TypeNotAllowedError{Empty: true}), "leere Datei"},
		{fmt.Errorf("download: %w", slots.ErrTooSlow), "zu langsam"},
		{errors.New("dial tcp: connection refused"), "nicht abrufbar"},
	}
	for _, c := range cases {
		if got := attachmentReason(msg.For("de"), c.err); got != c.want {
			t.Errorf("attachmentReason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{
		"anna@stadt.example/phone": "stadt.example",
		"reports.stadt.example":    "reports.stadt.example",
		"@@":                       "",
	} {
		if got := domainOf(in); got != want {
			t.Errorf("domainOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunCommand: each room command becomes the matching domain call with
// the actor, the room, the channel and whether the actor is a dispatcher
// (from the rules, never from the message).
func TestRunCommand(t *testing.T) {
	const room = "tiefbau@conference.stadt.example"
	cases := []struct {
		text, actor string
		want        any
	}{
		{"ok 42", "anna@stadt.example",
			dispatch.Command{Action: dispatch.ActionTake, Ref: "42", Actor: "anna@stadt.example", Via: "room", Room: room}},
		{"erledigt 2026-000042", "anna@stadt.example",
			dispatch.Command{Action: dispatch.ActionResolve, Ref: "2026-000042", Actor: "anna@stadt.example", Via: "room", Room: room}},
		{"weiter 42 jugendamt Kind allein", "dora@stadt.example",
			dispatch.ReassignCommand{Ref: "42", Team: "jugendamt", Reason: "Kind allein", Actor: "dora@stadt.example", Via: "room", Dispatcher: true}},
		{"weiter 42 jugendamt", "anna@stadt.example",
			dispatch.ReassignCommand{Ref: "42", Team: "jugendamt", Actor: "anna@stadt.example", Via: "room"}},
		{"antwort 42 Wir sind unterwegs.", "anna@stadt.example",
			dispatch.ReplyCommand{Ref: "42", Text: "Wir sind unterwegs.", Actor: "anna@stadt.example", Via: "room", Room: room}},
		{"abgelehnt 42 Privatgrund", "anna@stadt.example",
			dispatch.RejectCommand{Ref: "42", Reason: "Privatgrund", Actor: "anna@stadt.example", Via: "room", Room: room}},
		{"trennen 42", "dora@stadt.example",
			dispatch.UnmergeCommand{Ref: "42", Actor: "dora@stadt.example", Via: "room", Dispatcher: true}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			g, d := newTestGateway(t)
			cmd, ok := parseRoomCommand(c.text)
			if !ok {
				t.Fatalf("parseRoomCommand(%q) found no command", c.text)
			}
			cmd.Via = "room"
			if _, err := g.runCommand(context.Background(), cmd, c.actor, room, dispatch.RoomClaim{}); err != nil {
				t.Fatal(err)
			}
			if len(d.all) != 1 || !reflect.DeepEqual(d.all[0], c.want) {
				t.Errorf("domain got %#v\nwant %#v", d.all, c.want)
			}
		})
	}
}

// TestRoomCommandByReactionAndReply: a 👍 on the gateway's post, or a
// reply "ok" to it, takes the case the post belongs to; other reactions,
// and reactions to posts the domain does not know, do nothing.
func TestRoomCommandByReactionAndReply(t *testing.T) {
	const room = "tiefbau@conference.stadt.example"
	ctx := context.Background()
	g, d := newTestGateway(t)
	react := func(emoji string) *inMessage {
		return &inMessage{Type: "groupchat", Reactions: &reactElem{ID: "post-1", Reactions: []string{emoji}}}
	}
	for _, e := range []string{"👍", "👍🏽", "+1", "✅"} {
		cmd, ok, err := g.roomCommand(ctx, room, react(e))
		if err != nil || !ok || cmd.Kind != cmdTake || cmd.Ref != "7" || cmd.Via != "reaction" {
			t.Errorf("reaction %q: %+v %v, want take of case 7", e, cmd, ok)
		}
	}
	for _, e := range []string{"❤️", "👎", ""} {
		if cmd, ok, err := g.roomCommand(ctx, room, react(e)); ok || err != nil {
			t.Errorf("reaction %q became %+v", e, cmd)
		}
	}
	reply := &inMessage{Type: "groupchat", Bodies: oneBody("> Meldung 7\nerledigt"), Reply: &replyElem{ID: "post-1"}}
	if cmd, ok, err := g.roomCommand(ctx, room, reply); err != nil || !ok || cmd.Kind != cmdResolve || cmd.Action != dispatch.ActionResolve || cmd.Ref != "7" || cmd.Via != "reply" {
		t.Errorf("reply erledigt: %+v %v", cmd, ok)
	}
	if cmd, ok, err := g.roomCommand(ctx, room, &inMessage{Type: "groupchat", Bodies: oneBody("ok")}); ok || err != nil {
		t.Errorf("a bare ok that replies to nothing became %+v", cmd)
	}
	d.caseErr = dispatch.ErrNotFound
	if cmd, ok, err := g.roomCommand(ctx, room, react("👍")); ok || err != nil {
		t.Errorf("a reaction to an unknown post became %+v (%v)", cmd, err)
	}
	// A post that could not be looked up (the database) is an error the
	// writer is told about, never a 👍 dropped without a word.
	d.caseErr = errors.New("connection refused")
	if _, _, err := g.roomCommand(ctx, room, react("👍")); err == nil {
		t.Errorf("a reaction whose post could not be looked up was no error")
	}
	if len(d.all) != 0 {
		t.Errorf("recognising commands called the domain: %v", d.all)
	}
}

func TestTeamLanguage(t *testing.T) {
	rs := loadTestRules(t)
	if got := teamLanguage(rs, "TIEFBAU@conference.stadt.example"); got == "" {
		t.Errorf("teamLanguage(tiefbau) is empty")
	}
	if got := teamLanguage(rs, "unbekannt@conference.stadt.example"); got != "de" {
		t.Errorf("teamLanguage(unknown room) = %q, want the default de", got)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	rules := staticRules{loadTestRules(t)}
	cfg := Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s"}
	if _, err := New(cfg, nil, rules, noMedia{}, nil); err == nil {
		t.Error("New without a dispatcher succeeded")
	}
	if _, err := New(Config{Domain: "reports.stadt.example"}, &fakeDisp{}, rules, noMedia{}, nil); err == nil {
		t.Error("New without addr and secret succeeded")
	}
	if _, err := New(Config{Addr: "x:1", Domain: "bad domain@@", Secret: "s"}, &fakeDisp{}, rules, noMedia{}, nil); err == nil {
		t.Error("New with a bad domain succeeded")
	}
}
