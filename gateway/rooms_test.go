package gateway

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// testRules are two teams sharing nothing, a two-person policy, a
// dispatcher and a team without members.
const testRules = `version: 1
dispatchers: [dora@stadt.example]
policies:
  zwei:
    confirmers: 2
    levels:
      - after: 5m
        notify: room
teams:
  tiefbau:
    name: Tiefbau
    room: tiefbau@conference.stadt.example
    members: [anna@stadt.example, Ben@Stadt.Example]
  jugendamt:
    name: Jugendamt
    room: jugendamt@conference.stadt.example
    policy: zwei
    members: [carla@stadt.example, dirk@stadt.example]
  leer:
    name: Leer
    room: leer@conference.stadt.example
addresses:
  tiefbau:
    display_name: Tiefbau
    allow: [public]
default: {team: tiefbau}
`

func loadTestRules(t *testing.T) *routing.RuleSet {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := routing.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestRoomMembers(t *testing.T) {
	rs := loadTestRules(t)
	got := strings.Join(roomMembers(rs, "TIEFBAU@conference.stadt.example"), " ")
	if want := "anna@stadt.example ben@stadt.example dora@stadt.example"; got != want {
		t.Errorf("roomMembers(tiefbau) = %q, want %q", got, want)
	}
	if got := strings.Join(roomMembers(rs, "leer@conference.stadt.example"), " "); got != "dora@stadt.example" {
		t.Errorf("roomMembers(leer) = %q, want only the dispatcher", got)
	}
}

func TestMayAct(t *testing.T) {
	rs := loadTestRules(t)
	cases := []struct {
		room, actor string
		want        bool
	}{
		{"tiefbau@conference.stadt.example", "anna@stadt.example", true},
		{"tiefbau@conference.stadt.example", "ben@stadt.example", true},  // case-insensitive
		{"tiefbau@conference.stadt.example", "dora@stadt.example", true}, // dispatcher
		{"tiefbau@conference.stadt.example", "carla@stadt.example", false},
		{"jugendamt@conference.stadt.example", "anna@stadt.example", false},
		{"tiefbau@conference.stadt.example", "mallory@stadt.example", false},
		{"tiefbau@conference.stadt.example", "anna@stadt.example.evil", false},
		{"tiefbau@conference.stadt.example", "", false},
		{"leer@conference.stadt.example", "anna@stadt.example", false},
		{"unbekannt@conference.stadt.example", "anna@stadt.example", false},
	}
	for _, c := range cases {
		if got := mayAct(rs, c.room, c.actor); got != c.want {
			t.Errorf("mayAct(%s, %q) = %v, want %v", c.room, c.actor, got, c.want)
		}
	}
}

func TestMemberChanges(t *testing.T) {
	got := memberChanges(
		[]string{"anna@x", "mallory@x", "Old@X"},
		[]string{"reports.x", "boss@x"},
		[]string{"anna@x", "ben@x", "boss@x", "DORA@x"})
	var s []string
	for _, c := range got {
		s = append(s, c.Affiliation+":"+c.JID)
	}
	want := "member:ben@x member:dora@x none:mallory@x none:old@x"
	if strings.Join(s, " ") != want {
		t.Errorf("memberChanges = %q, want %q", strings.Join(s, " "), want)
	}
	if got := memberChanges([]string{"a@x"}, nil, []string{"A@x"}); len(got) != 0 {
		t.Errorf("an equal list gives changes: %v", got)
	}
}

func TestTeamRoomConfigForm(t *testing.T) {
	b, err := xml.Marshal(teamRoomConfig("Tiefbau", archivingField))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit">`,
		`<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/muc#roomconfig</value></field>`,
		`<field var="muc#roomconfig_membersonly"><value>1</value></field>`,
		`<field var="muc#roomconfig_whois"><value>anyone</value></field>`,
		`<field var="muc#roomconfig_persistentroom"><value>1</value></field>`,
		`<field var="muc#roomconfig_allowinvites"><value>0</value></field>`,
		`<field var="muc#roomconfig_moderatedroom"><value>0</value></field>`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("room config lacks %s:\n%s", want, b)
		}
	}
}

// fakeDisp records the commands that reach the domain: takes and
// resolves in cmds, every command (of any type) in all.
type fakeDisp struct {
	mu      sync.Mutex
	cmds    []dispatch.Command
	all     []any
	caseErr error // CaseByPost fails with it when set
	// execErrs are the errors of the next Execute calls, one each.
	execErrs []error
	claims   int // ClaimRoomCommand calls
}

func (f *fakeDisp) note(c any) (dispatch.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = append(f.all, c)
	return dispatch.CommandResult{}, nil
}

func (f *fakeDisp) Intake(context.Context, dispatch.NewReport) (dispatch.Receipt, error) {
	return dispatch.Receipt{}, nil
}
func (f *fakeDisp) Replay(context.Context, string, string, string) (dispatch.Receipt, error) {
	return dispatch.Receipt{}, dispatch.ErrNotFound
}
func (f *fakeDisp) Execute(_ context.Context, c dispatch.Command) (dispatch.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, c)
	f.all = append(f.all, c)
	if len(f.execErrs) > 0 {
		err := f.execErrs[0]
		f.execErrs = f.execErrs[1:]
		return dispatch.CommandResult{}, err
	}
	return dispatch.CommandResult{}, nil
}
func (f *fakeDisp) Reassign(_ context.Context, c dispatch.ReassignCommand) (dispatch.CommandResult, error) {
	return f.note(c)
}
func (f *fakeDisp) Reply(_ context.Context, c dispatch.ReplyCommand) (dispatch.CommandResult, error) {
	return f.note(c)
}
func (f *fakeDisp) Reject(_ context.Context, c dispatch.RejectCommand) (dispatch.CommandResult, error) {
	return f.note(c)
}
func (f *fakeDisp) Unmerge(_ context.Context, c dispatch.UnmergeCommand) (dispatch.CommandResult, error) {
	return f.note(c)
}
func (f *fakeDisp) ClaimRoomCommand(context.Context, string, string, time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims++
	return true, nil
}

func (f *fakeDisp) CaseByPost(context.Context, string, string) (string, error) {
	if f.caseErr != nil {
		return "", f.caseErr
	}
	return "7", nil
}
func (f *fakeDisp) RecordDelivery(context.Context, string, string, string) error {
	return nil
}
func (f *fakeDisp) DiscardObjects(context.Context, ...string)            {}
func (f *fakeDisp) HoldMedium(*dispatch.NewReport, media.Object, []byte) {}

type staticRules struct{ rs *routing.RuleSet }

func (s staticRules) Current() *routing.RuleSet { return s.rs }

type noMedia struct{}

func (noMedia) Put(context.Context, io.Reader) (media.Object, error) { return media.Object{}, nil }
func (noMedia) Delete(context.Context, ...string) error              { return nil }
func (noMedia) PutHold(context.Context, io.Reader, int64, func(media.Object, []byte)) (media.Object, error) {
	return media.Object{}, nil
}

func newTestGateway(t *testing.T) (*Gateway, *fakeDisp) {
	t.Helper()
	d := &fakeDisp{}
	g, err := New(Config{Addr: "127.0.0.1:1", Domain: "reports.stadt.example", Secret: "s"},
		d, staticRules{loadTestRules(t)}, noMedia{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return g, d
}

// occupy puts nick (real JID real) into a room as the server would report it.
func occupy(g *Gateway, room, nick, real string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[room]
	if r == nil {
		r = newRoom(room)
		g.rooms[room] = r
	}
	r.occupants[nick] = real
}

// TestRoomCommandsOnlyFromMembers: whatever the server let into a room,
// only the team's members and dispatchers reach the domain, by typed
// command, reply and reaction; two strangers saying "ok" in a two-person
// room confirm nothing.
func TestRoomCommandsOnlyFromMembers(t *testing.T) {
	g, d := newTestGateway(t)
	ja, tb := "jugendamt@conference.stadt.example", "tiefbau@conference.stadt.example"
	occupy(g, ja, "fremd1", "mallory@stadt.example")
	occupy(g, ja, "fremd2", "eve@evil.example")
	occupy(g, ja, "anna", "anna@stadt.example") // a member of another team
	occupy(g, ja, "carla", "carla@stadt.example")
	occupy(g, ja, "anon", "") // anonymous occupant
	occupy(g, tb, "dora", "dora@stadt.example")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	say := func(room, nick string, m inMessage) {
		m.From, m.Type = room+"/"+nick, "groupchat"
		g.onRoomMessage(ctx, &m)
	}
	text := func(s string) inMessage { return inMessage{Bodies: oneBody(s)} }
	say(ja, "fremd1", text("ok 7"))
	say(ja, "fremd2", text("ok 7"))
	say(ja, "fremd1", inMessage{Bodies: oneBody("> 🆕 Meldung\nok"), Reply: &replyElem{ID: "post-1"}})
	say(ja, "fremd2", inMessage{Reactions: &reactElem{ID: "post-1", Reactions: []string{"👍"}}})
	say(ja, "anna", text("ok 7"))
	say(ja, "anon", text("erledigt 7"))
	if len(d.cmds) != 0 {
		t.Fatalf("commands of non-members reached the domain: %+v", d.cmds)
	}
	say(ja, "carla", text("ok 7"))
	say(tb, "dora", inMessage{Reactions: &reactElem{ID: "post-2", Reactions: []string{"👍🏽"}}})
	if len(d.cmds) != 2 || d.cmds[0].Actor != "carla@stadt.example" || d.cmds[1].Actor != "dora@stadt.example" ||
		d.cmds[1].Via != "reaction" || !d.cmds[1].Dispatcher {
		t.Fatalf("member and dispatcher commands = %+v", d.cmds)
	}
}

func TestLooksLikeCommand(t *testing.T) {
	cases := []struct {
		m    inMessage
		want bool
	}{
		{inMessage{Bodies: oneBody("ok 42")}, true},
		{inMessage{Bodies: oneBody("Guten Morgen")}, false},
		{inMessage{Bodies: oneBody("ok")}, false},
		{inMessage{Bodies: oneBody("> x\nok"), Reply: &replyElem{ID: "1"}}, true},
		{inMessage{Reactions: &reactElem{ID: "1", Reactions: []string{"❤️"}}}, false},
		{inMessage{Reactions: &reactElem{ID: "1", Reactions: []string{"👍"}}}, true},
	}
	for i, c := range cases {
		if got := looksLikeCommand(&c.m); got != c.want {
			t.Errorf("case %d: looksLikeCommand = %v, want %v", i, got, c.want)
		}
	}
}

// TestIQAffiliationListDecodes: a member list answer, decoded the way the
// handler decodes stanzas (from tokens), yields its items.
func TestIQAffiliationListDecodes(t *testing.T) {
	raw := `<iq xmlns="jabber:component:accept" type="result" id="fgq-1" from="r@conference.x" to="reports.x"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="anna@x" nick="anna"/><item affiliation="member" jid="ben@x"/></query></iq>`
	var iq inIQ
	if err := xml.NewTokenDecoder(xml.NewDecoder(strings.NewReader(raw))).Decode(&iq); err != nil {
		t.Fatal(err)
	}
	if iq.Type != "result" || len(iq.AdminItems) != 2 || iq.AdminItems[0].JID != "anna@x" || iq.AdminItems[1].JID != "ben@x" {
		t.Fatalf("decoded %+v", iq)
	}
	raw = `<iq type="error" id="fgq-2"><error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">x</text></error></iq>`
	iq = inIQ{}
	if err := xml.Unmarshal([]byte(raw), &iq); err != nil {
		t.Fatal(err)
	}
	if c := iq.Error.condition(); c != "conflict" {
		t.Fatalf("condition = %q, want conflict", c)
	}
}
