package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// roomsReadiness is /readyz as far as team rooms go.
type roomsReadiness struct {
	Checks map[string]string `json:"checks"`
	Rooms  *struct {
		Pending  []string          `json:"pending"`
		Problems map[string]string `json:"problems"`
	} `json:"rooms"`
}

func (s *stack) roomsReady(token string) roomsReadiness {
	s.t.Helper()
	r := s.do("GET", "/readyz", token, "", nil, nil)
	var out roomsReadiness
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		s.t.Fatalf("/readyz: %v: %s", err, r.Body)
	}
	return out
}

// waitRooms polls /readyz (as token) until cond holds, for up to timeout.
func (s *stack) waitRooms(token, what string, timeout time.Duration, cond func(roomsReadiness) bool) roomsReadiness {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := s.roomsReady(token)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("/readyz: not %s within %v: %+v %+v", what, timeout, r.Checks, r.Rooms)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// foreignRoomStack configures (without starting) a stack whose tiefbau
// team room lives on the test server's second room service,
// offen.stadt.localhost, where anyone may create rooms and the gateway has
// no rights (deploy/dev/prosody.cfg.lua.in): a server not set up as
// docs/xmpp-server.md says. Unusable rooms are retried every 2 s.
func foreignRoomStack(t *testing.T) (*stack, string) {
	t.Helper()
	return roomStackOn(t, "offen.stadt.localhost")
}

// roomStackOn configures (without starting) a stack whose tiefbau team
// room is a fresh room on the test server's room service service.
func roomStackOn(t *testing.T, service string) (*stack, string) {
	t.Helper()
	room := fmt.Sprintf("tiefbau-%x@%s", time.Now().UnixNano(), service)
	rules, suffix := testsvc.DemoRulesWith(t, map[string]string{
		"    room: tiefbau@conference.stadt.localhost\n": "    room: " + room + "\n",
	})
	s := newStack(t, map[string]string{"FIELDGATE_RULES_FILE": rules, "FIELDGATE_XMPP_ROOM_RETRY": "2s", "FIELDGATE_LOG_LEVEL": "info"})
	s.suffix = suffix
	return s, room
}

// TestRoomNotOwnedByGateway: a team room that someone else created before
// the gateway started (the gateway is not its owner) is reported in
// /readyz as degraded, with the reason for a dispatcher only, and in the
// log; a report for that team is stored and visible through the API but
// nothing is posted into the room. Once the room's owner makes the
// gateway an owner, the room is set up and the post goes out.
func TestRoomNotOwnedByGateway(t *testing.T) {
	s, room := foreignRoomStack(t)
	owner := testsvc.Login(t, testsvc.User(t))
	if got := owner.JoinRoomResult(room, "besitzer", 20*time.Second); got != "" {
		t.Fatalf("creating the room first: %q", got)
	}
	notOwner := "the gateway is not the room's owner"
	s.roomFailure(t, room, []string{notOwner}, []string{notOwner}, owner, owner, nil)
}

// TestRoomGatewayMayNotCreate: the team room does not exist and the room
// service lets only its admins create rooms (restrict_room_creation, the
// gateway no admin: gesperrt.stadt.localhost in deploy/dev/prosody.cfg.lua.in).
// /readyz reports the room degraded with that reason (to a dispatcher
// only), the log says so, a report for the team is stored and readable but
// not posted. Once the admin creates the room and makes the gateway an
// owner, the room is set up and the waiting post goes out.
func TestRoomGatewayMayNotCreate(t *testing.T) {
	s, room := roomStackOn(t, "gesperrt.stadt.localhost")
	admin := testsvc.Login(t, testsvc.RoomAdmin(t))
	mayNot := "the room does not exist and the server does not let the gateway create it"
	s.roomFailure(t, room, []string{mayNot}, []string{mayNot}, admin, admin, func() {
		if got := admin.JoinRoomResult(room, "raumadmin", 20*time.Second); got != "" {
			t.Fatalf("the admin creating the room: %q", got)
		}
	})
}

// TestRoomNickTakenBeforeGateway: someone created the team room and took
// the gateway's nick before it started (a second person keeps the room
// open). The gateway cannot reserve the nick, as it is not the owner: the
// log says so and nothing is posted. Prosody 0.12 nevertheless removes the
// occupant of a nick named in a refused reservation, so at the next try
// the gateway enters and finds it is not the owner, which /readyz then
// reports. Once the room's creator makes the gateway an owner, the room is
// set up and the post goes out.
func TestRoomNickTakenBeforeGateway(t *testing.T) {
	s, room := foreignRoomStack(t)
	squatter := testsvc.Login(t, testsvc.User(t))
	if got := squatter.JoinRoomResult(room, s.nick, 20*time.Second); got != "" {
		t.Fatalf("squatting the gateway's nick: %q", got)
	}
	witness := testsvc.Login(t, testsvc.User(t))
	if got := witness.JoinRoomResult(room, "zeuge", 20*time.Second); got != "" {
		t.Fatalf("second occupant: %q", got)
	}
	nickTaken := fmt.Sprintf("the nick %q is taken in the room by someone else and the gateway may not reserve it", s.nick)
	if testsvc.XMPP(t).Server == testsvc.Ejabberd {
		// ejabberd keeps no reservation for the gateway's domain and
		// removes nobody on one: with the rights granted (roomFailure),
		// the gateway tries again at most every 20 s instead of in a
		// loop, and enters once the squatter gives the nick up.
		// The witness, no member, is put out when the room becomes
		// members-only: a member reads the post from the history.
		// The squatter leaves 4 s after the grant: without the bound the
		// gateway would have tried thousands of times by then.
		logs := s.roomFailureLogs(t, room, []string{nickTaken}, []string{nickTaken}, squatter, nil, func() {
			time.AfterFunc(4*time.Second, func() {
				squatter.SendRaw(`<presence type="unavailable" to="` + room + `/` + s.nick + `"/>`)
			})
		})
		if n := strings.Count(logs.String(), "reserved it and rejoining"); n > 5 {
			t.Errorf("the gateway tried to take its nick back %d times (a loop)", n)
		}
		return
	}
	s.roomFailure(t, room, []string{nickTaken}, []string{nickTaken, "the gateway is not the room's owner"}, squatter, nil, nil)
	squatter.WaitStanza(10*time.Second, "the squatter removed from the gateway's nick", func(st testsvc.Stanza) bool {
		return st.Name == "presence" && st.Type == "unavailable" && st.From == room+"/"+s.nick
	})
}

// roomFailure starts serve on a stack whose tiefbau room was prepared by
// owner (its creator). It checks that the log gives every reason of
// logWant, that /readyz reports the room degraded with one of readyWant
// (to a dispatcher only), and that a report for the team is stored but not
// posted; then owner makes the gateway an owner, and the room must become
// usable and the waiting post go out: watcher (if not nil) stays in the
// room and sees it live, otherwise a member reads it from the history.
// create (if not nil) makes owner create the room first, at fix time.
func (s *stack) roomFailure(t *testing.T, room string, logWant, readyWant []string, owner, watcher *testsvc.Client, create func()) {
	s.roomFailureLogs(t, room, logWant, readyWant, owner, watcher, create)
}

// roomFailureLogs is roomFailure returning the gateway's log.
func (s *stack) roomFailureLogs(t *testing.T, room string, logWant, readyWant []string, owner, watcher *testsvc.Client, create func()) *lockedBuffer {
	logs := &lockedBuffer{}
	s.logs = logs
	s.serve()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "rooms-app", "--role", "reporter", "--address", "*"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(out.String())
	disp := s.secToken("rooms-disp", "dispatcher", "")

	// Reported: degraded, with the reason for a dispatcher only.
	r := s.waitRooms(disp, "degraded", 30*time.Second, func(r roomsReadiness) bool {
		return r.Checks["xmpp"] == "connected" && r.Checks["rooms"] == "degraded"
	})
	if r.Rooms == nil || !slices.ContainsFunc(readyWant, func(w string) bool { return strings.Contains(r.Rooms.Problems[room], w) }) {
		t.Fatalf("/readyz for a dispatcher: problems %+v, want %s: one of %q", r.Rooms, room, readyWant)
	}
	t.Logf("/readyz: %s: %s", room, r.Rooms.Problems[room])
	for other := range r.Rooms.Problems {
		if other != room {
			t.Errorf("another room reported: %s: %s", other, r.Rooms.Problems[other])
		}
	}
	if anon := s.roomsReady(""); anon.Checks["rooms"] != "degraded" || anon.Rooms != nil {
		t.Errorf("/readyz without a token: %+v %+v, want degraded without details", anon.Checks, anon.Rooms)
	}
	for _, want := range logWant {
		// slog's text handler quotes the reason.
		quoted := strings.Trim(strconv.Quote(want), `"`)
		s.waitLog(logs, "team room not usable; nothing is posted there", room, quoted)
	}

	// A report for the team is stored and visible, not posted.
	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Straßenlaterne defekt " + s.suffix}, nil)
	rep := s.do("POST", "/api/v1/reports", s.token, ct, body, nil)
	if rep.Status != http.StatusAccepted {
		t.Fatalf("report: %d %s", rep.Status, rep.Body)
	}
	id, caseNo := rep.JSON["id"].(string), rep.JSON["case_number"].(string)
	time.Sleep(3 * time.Second)
	got := s.do("GET", "/api/v1/reports/"+id, s.token, "", nil, nil)
	if got.Status != http.StatusOK || got.JSON["case_number"] != caseNo {
		t.Fatalf("the stored report: %d %s", got.Status, got.Body)
	}
	for _, m := range owner.Messages() {
		// Only the room's messages: the owner's account is shared with
		// tests running beside this one, whose gateways reply 1:1 with
		// case numbers of their own databases.
		if strings.HasPrefix(strings.ToLower(m.From), strings.ToLower(room)+"/") && strings.Contains(m.Body, caseNo) {
			t.Fatalf("posted into a room the gateway may not use: %q from %s", m.Body, m.From)
		}
	}
	var posted int
	if err := s.query(`SELECT count(*) FROM room_posts p JOIN incidents i ON i.id = p.incident_id WHERE i.case_number = $1 AND p.posted_at IS NOT NULL`, caseNo).Scan(&posted); err != nil {
		t.Fatal(err)
	}
	if posted != 0 {
		t.Fatalf("%d posts recorded as delivered into the unusable room", posted)
	}

	// Fixed: the room's owner (creating it first if need be) makes the
	// gateway an owner.
	if create != nil {
		create()
	}
	domain := s.env["FIELDGATE_XMPP_DOMAIN"]
	owner.SendRaw(`<iq type="set" id="make-owner" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="owner" jid="` + domain + `"/></query></iq>`)
	if st := owner.WaitStanza(20*time.Second, "the affiliation change", func(st testsvc.Stanza) bool { return st.ID == "make-owner" }); st.Type != "result" {
		t.Fatalf("making the gateway owner: %+v", st)
	}
	if testsvc.XMPP(t).Server == testsvc.Ejabberd {
		// ejabberd answers the grant above with success but drops it (no
		// owner affiliation for a JID without a local part): there the
		// server admin makes the gateway an admin of the room service.
		ejabberdMUCAdmin(t, "grant", domain)
		t.Cleanup(func() { ejabberdMUCAdmin(t, "revoke", domain) })
	}
	start := time.Now()
	s.waitRooms(disp, "ok again", 60*time.Second, func(r roomsReadiness) bool { return r.Checks["rooms"] == "ok" })
	t.Logf("room usable %v after the fix", time.Since(start).Round(time.Millisecond))
	s.waitLog(logs, "team room usable again", room)
	seen := func(m testsvc.Message) bool { return s.fromGateway(m) && strings.Contains(m.Body, caseNo) }
	if watcher != nil {
		watcher.WaitMessage(120*time.Second, "the post after the fix", seen)
	} else {
		anna := testsvc.Login(t, testsvc.DemoUser("anna"))
		deadline := time.Now().Add(120 * time.Second)
		for i := 0; ; i++ {
			var n int
			_ = s.query(`SELECT count(*) FROM room_posts p JOIN incidents i ON i.id = p.incident_id WHERE i.case_number = $1 AND p.posted_at IS NOT NULL`, caseNo).Scan(&n)
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the post was not delivered within 120s of the fix")
			}
			time.Sleep(500 * time.Millisecond)
		}
		anna.JoinRoomHistory(room, "anna-"+s.suffix, 20)
		anna.WaitMessage(20*time.Second, "the post in the room's history", seen)
	}
	t.Logf("post delivered %v after the fix", time.Since(start).Round(time.Millisecond))
	s.waitLog(logs, "waiting posts made due now", room)
	return logs
}

// ejabberdMUCAdmin grants or revokes (op) domain's access_admin on the
// test ejabberd's room services offen and gesperrt, as a server admin
// would (deploy/dev/ejabberd grant-muc-admin).
func ejabberdMUCAdmin(t *testing.T, op, domain string) {
	t.Helper()
	dir := os.Getenv("FIELDGATE_TEST_DIR")
	if dir == "" {
		t.Fatal("FIELDGATE_TEST_DIR is not set (source the test env)")
	}
	// Output goes to a file: ejabberdctl's Erlang node may keep inherited
	// descriptors open (as in testsvc's resume).
	out, err := os.CreateTemp(t.TempDir(), "muc-admin-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join("..", "..", "deploy", "dev", "ejabberd"), op+"-muc-admin", dir, domain)
	cmd.Env = append(os.Environ(), "FIELDGATE_TEST_PORT_OFFSET="+os.Getenv("FIELDGATE_TEST_EJABBERD_OFFSET"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("deploy/dev/ejabberd %s-muc-admin: %v\n%s", op, err, b)
	}
}

// waitLog waits up to 10 s for a log line that contains every one of parts.
func (s *stack) waitLog(logs *lockedBuffer, parts ...string) {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(l, p) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no log line with %q within 10s:\n%s", parts, logs.String())
		}
	}
}
