package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"mellium.im/xmpp/disco/info"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// fileCase sends text from a fresh reporter to the tiefbau address and
// returns the case number of the answer.
func (s *stack) fileCase(t *testing.T, text string) (string, *testsvc.Client) {
	t.Helper()
	return s.fileCaseAs(t, testsvc.User(t), text)
}

// fileCaseAs is fileCase from the account acct.
func (s *stack) fileCaseAs(t *testing.T, acct testsvc.Account, text string) (string, *testsvc.Client) {
	t.Helper()
	reporter := testsvc.Login(t, acct)
	reporter.SendReport(s.address("tiefbau"), "", text, "")
	// The case number from this database: a leased account may still get
	// answers of an earlier test's gateway (offline storage).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var c string
		if err := s.query(`SELECT coalesce(max(case_number), '') FROM reports WHERE body <> '' AND starts_with($1, body)`, text).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if c != "" {
			reporter.WaitMessage(30*time.Second, "the case number for "+text, func(m testsvc.Message) bool {
				return strings.HasPrefix(m.Body, "Meldung "+c+" ") && strings.Contains(m.Body, "angenommen")
			})
			return c, reporter
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report %q stored within 30 s", text)
		}
	}
}

// TestRoomCommandBoundToNickHolderAtSending attacks the nick → JID
// binding with real Prosody and PostgreSQL. The room's commands are
// handled one after another; while anna's "ok" waits (its incident row is
// locked), ben, a team member but no dispatcher, writes "weiter … " under
// the nick the dispatcher dora usually has, leaves, and dora enters with
// that nick. ben's command must count as ben's (refused: only dispatchers
// reassign), not as dora's, whoever holds the nick when it is handled.
func TestRoomCommandBoundToNickHolderAtSending(t *testing.T) {
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	caseA, _ := s.fileCase(t, "Gully verstopft geo:51.0251,7.5921")
	caseB, _ := s.fileCase(t, "Bank beschädigt geo:51.0261,7.5931")
	s.waitRouted(caseA)
	s.waitRouted(caseB)

	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	dora := testsvc.Login(t, testsvc.DemoUser("dora"))
	annaNick, sharedNick := "anna-"+s.suffix, "leitung-"+s.suffix
	if got := anna.JoinRoomResult(room, annaNick, 20*time.Second); got != "" {
		t.Fatalf("anna joins: %q", got)
	}
	if got := ben.JoinRoomResult(room, sharedNick, 20*time.Second); got != "" {
		t.Fatalf("ben joins as %s: %q", sharedNick, got)
	}

	// Hold case A's row so that anna's take waits in the room's queue.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM incidents WHERE case_number = $1 FOR UPDATE`, caseA); err != nil {
		t.Fatal(err)
	}
	anna.Groupchat(room, "ok "+shortRef(caseA))
	anna.WaitMessage(20*time.Second, "anna's ok reflected", func(m testsvc.Message) bool {
		return m.From == room+"/"+annaNick && m.Body == "ok "+shortRef(caseA)
	})
	ben.Groupchat(room, "weiter "+shortRef(caseB)+" gruenflaechen")
	ben.WaitMessage(20*time.Second, "ben's weiter reflected", func(m testsvc.Message) bool {
		return m.From == room+"/"+sharedNick && strings.HasPrefix(m.Body, "weiter ")
	})
	ben.SendRaw(`<presence type="unavailable" to="` + room + `/` + sharedNick + `"/>`)
	ben.WaitStanza(20*time.Second, "ben out of the room", func(st testsvc.Stanza) bool {
		return st.Name == "presence" && st.Type == "unavailable" && st.From == room+"/"+sharedNick
	})
	if got := dora.JoinRoomResult(room, sharedNick, 20*time.Second); got != "" {
		t.Fatalf("dora joins as %s: %q", sharedNick, got)
	}
	time.Sleep(300 * time.Millisecond) // the gateway sees dora's presence too
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	anna.WaitMessage(30*time.Second, "anna's take of "+caseA, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseA) && strings.Contains(m.Body, "anna@stadt.localhost")
	})
	dora.WaitMessage(30*time.Second, "the answer to the weiter under "+sharedNick, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.HasPrefix(m.Body, sharedNick+": ")
	})
	var team string
	var moved int
	if err := s.query(`SELECT team, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'reassigned')
		FROM incidents i WHERE case_number = $1`, caseB).Scan(&team, &moved); err != nil {
		t.Fatal(err)
	}
	if team != "tiefbau" || moved != 0 {
		t.Fatalf("%s after ben's weiter under the dispatcher's nick: team %q, %d reassign events; want tiefbau and none (ben is no dispatcher)", caseB, team, moved)
	}
}

// sharedOwnerRoom serves a stack whose tiefbau room was created by
// another user (owner), who then made the gateway an owner too and stays
// one, as a town's XMPP admin would; it returns once the room is ready.
func sharedOwnerRoom(t *testing.T) (*stack, string, *testsvc.Client) {
	t.Helper()
	s, room := roomStackOn(t, "offen.stadt.localhost")
	owner := testsvc.Login(t, testsvc.User(t))
	if got := owner.JoinRoomResult(room, "besitzer", 20*time.Second); got != "" {
		t.Fatalf("creating the room: %q", got)
	}
	domain := s.env["FIELDGATE_XMPP_DOMAIN"]
	owner.SendRaw(`<iq type="set" id="make-owner" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="owner" jid="` + domain + `"/></query></iq>`)
	if st := owner.WaitStanza(20*time.Second, "the owner grant", func(st testsvc.Stanza) bool { return st.ID == "make-owner" }); st.Type != "result" {
		t.Fatalf("making the gateway owner: %+v", st)
	}
	if testsvc.XMPP(t).Server == testsvc.Ejabberd {
		ejabberdMUCAdmin(t, "grant", domain)
		t.Cleanup(func() { ejabberdMUCAdmin(t, "revoke", domain) })
	}
	s.serve()
	s.token = s.secToken("owned-app", "reporter", "*")
	disp := s.secToken("owned-disp", "dispatcher", "")
	s.waitRooms(disp, "ok", 60*time.Second, func(r roomsReadiness) bool { return r.Checks["rooms"] == "ok" })
	return s, room, owner
}

// ownerSet sends an owner's IQ (id, payload inside the query) to room and
// fails the test unless the room accepts it.
func ownerSet(t *testing.T, owner *testsvc.Client, room, id, ns, payload string) {
	t.Helper()
	owner.SendRaw(`<iq type="set" id="` + id + `" to="` + room + `"><query xmlns="` + ns + `">` + payload + `</query></iq>`)
	if st := owner.WaitStanza(20*time.Second, "the answer to "+id, func(st testsvc.Stanza) bool { return st.ID == id }); st.Type != "result" {
		t.Fatalf("%s: %+v", id, st)
	}
}

// TestRoomOpenedByAnAdminIsClosedAgain attacks the team room's
// configuration with real Prosody (or ejabberd): a co-owner of the room
// (as a town's XMPP admin is) makes it open to everyone and
// semi-anonymous while the gateway is in it, and a stranger walks in. The
// gateway must close the room again (members-only, non-anonymous), the
// stranger must be out, and the next incident must reach the team but not
// the stranger.
func TestRoomOpenedByAnAdminIsClosedAgain(t *testing.T) {
	s, room, owner := sharedOwnerRoom(t)
	closed := func() bool {
		f := owner.DiscoInfo(room).Features
		has := func(v string) bool { return slices.ContainsFunc(f, func(x info.Feature) bool { return x.Var == v }) }
		return has("muc_membersonly") && has("muc_nonanonymous")
	}
	if !closed() {
		t.Fatal("the gateway did not make the room members-only and non-anonymous")
	}

	ownerSet(t, owner, room, "open-room", "http://jabber.org/protocol/muc#owner", openRoomForm)
	stranger := testsvc.Login(t, testsvc.User(t))
	if got := stranger.JoinRoomResult(room, "neugierig", 20*time.Second); got == "" {
		// Inside for a moment: it must be put out.
		stranger.WaitStanza(20*time.Second, "the stranger put out of the team room", func(st testsvc.Stanza) bool {
			return st.Name == "presence" && st.Type == "unavailable" && strings.EqualFold(st.From, room+"/neugierig")
		})
	} else if got != "registration-required" {
		t.Fatalf("the stranger's join: %q", got)
	}
	for deadline := time.Now().Add(20 * time.Second); !closed(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the room is still open 20 s after the admin opened it")
		}
	}
	if got := stranger.JoinRoomResult(room, "neugierig2", 20*time.Second); got != "registration-required" {
		t.Fatalf("the stranger's second join: %q, want registration-required", got)
	}

	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Ampel dunkel " + s.suffix}, nil)
	rep := s.do("POST", "/api/v1/reports", s.token, ct, body, nil)
	if rep.Status != http.StatusAccepted {
		t.Fatalf("report: %d %s", rep.Status, rep.Body)
	}
	caseNo := rep.JSON["case_number"].(string)
	owner.WaitMessage(60*time.Second, "the post in the closed room", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	for _, m := range stranger.Messages() {
		if strings.Contains(m.Body, caseNo) {
			t.Fatalf("the stranger got the post: %q", m.Body)
		}
	}
}

// openRoomForm is an owner's configuration that opens a room to everyone
// and hides the occupants' JIDs.
const openRoomForm = `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
	`<field var="muc#roomconfig_membersonly"><value>0</value></field><field var="muc#roomconfig_whois"><value>moderators</value></field></x>`

// TestRoomBanByAdminSticks: a room admin bans (outcast, XEP-0045 §9.1) a
// team member whose phone was stolen. The gateway, setting the room up
// again (here after a configuration change; also after a reload or a
// restart), must not lift the ban by making her a member again: she stays
// out until the admin lifts it.
func TestRoomBanByAdminSticks(t *testing.T) {
	s, room, owner := sharedOwnerRoom(t)
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	if got := ben.JoinRoomResult(room, "ben-"+s.suffix, 20*time.Second); got != "" {
		t.Fatalf("ben, a member, joins: %q", got)
	}
	ownerSet(t, owner, room, "ban-ben", "http://jabber.org/protocol/muc#admin", `<item affiliation="outcast" jid="ben@stadt.localhost"><reason>Telefon gestohlen</reason></item>`)
	ben.WaitStanza(20*time.Second, "ben banned from the room", func(st testsvc.Stanza) bool {
		return st.Name == "presence" && st.Type == "unavailable" && strings.EqualFold(st.From, room+"/ben-"+s.suffix)
	})
	ownerSet(t, owner, room, "rename", "http://jabber.org/protocol/muc#owner", `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var="muc#roomconfig_roomdesc"><value>Tiefbau (Bereitschaft)</value></field></x>`)
	time.Sleep(2 * time.Second) // the gateway sets the room up again
	// Prosody answers a banned JID in a members-only room with
	// registration-required (its members-only check comes first), ejabberd
	// with forbidden.
	if got := ben.JoinRoomResult(room, "ben2-"+s.suffix, 20*time.Second); got != "forbidden" && got != "registration-required" {
		t.Fatalf("ben's join after the gateway set the room up again: %q, want a refusal (still banned)", got)
	}
}

// TestRoomDestroyedByAdmin: a co-owner destroys the team room
// (XEP-0045 §10.9) while the gateway is in it, and a report arrives right
// then. Prosody keeps a tombstone of a destroyed room (31 days) that only
// the room service's admins may replace, and the gateway is none here, so
// the room stays unusable: /readyz must say why and what to do, and the
// report is stored with its post waiting, not dropped. (ejabberd keeps no
// tombstone: there the gateway creates the room again and posts once.)
func TestRoomDestroyedByAdmin(t *testing.T) {
	s, room, owner := sharedOwnerRoom(t)
	ownerSet(t, owner, room, "destroy", "http://jabber.org/protocol/muc#owner", `<destroy><reason>aufräumen</reason></destroy>`)
	body, ct := multipartBody(map[string]string{"to": "tiefbau", "text": "Kanaldeckel fehlt " + s.suffix}, nil)
	rep := s.do("POST", "/api/v1/reports", s.token, ct, body, nil)
	if rep.Status != http.StatusAccepted {
		t.Fatalf("report: %d %s", rep.Status, rep.Body)
	}
	caseNo := rep.JSON["case_number"].(string)
	disp := s.secToken("destroy-disp", "dispatcher", "")
	if testsvc.XMPP(t).Server == testsvc.Ejabberd {
		// ejabberd keeps no tombstone, and the gateway is an admin of its
		// room service here: it creates the room again, and the post
		// appears there once.
		anna := testsvc.Login(t, testsvc.DemoUser("anna"))
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
			n := 0
			if anna.JoinRoomResult(room, "anna-"+s.suffix, 20*time.Second) == "" {
				for _, m := range anna.RoomArchive(room, time.Now().Add(-time.Hour)) {
					if b := m.Forwarded.Message.Body; strings.Contains(b, caseNo) && strings.Contains(b, "Kanaldeckel") {
						n++
					}
				}
			}
			if n == 1 {
				return
			}
			if n > 1 || time.Now().After(deadline) {
				t.Fatalf("%d posts of %s in the room made again, want 1", n, caseNo)
			}
		}
	}
	r := s.waitRooms(disp, "degraded", 30*time.Second, func(r roomsReadiness) bool { return r.Checks["rooms"] == "degraded" })
	p := r.Rooms.Problems[room]
	t.Logf("/readyz after the destruction: %s", p)
	if !strings.Contains(p, "destroyed") || !strings.Contains(p, "admin of the room service") {
		t.Errorf("/readyz's reason for the destroyed room %q does not say it was destroyed and what to do", p)
	}
	// The post waits in the queue (after the direct attempt fails, within
	// the reflect timeout) for a usable room.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var jobs, posted int
		if err := s.query(`SELECT (SELECT count(*) FROM river_job WHERE kind = 'room_post' AND state IN ('available','retryable','scheduled','running')
			AND args->>'room' = $1), (SELECT count(*) FROM room_posts rp JOIN incidents i ON i.id = rp.incident_id
			WHERE i.case_number = $2 AND rp.posted_at IS NOT NULL)`, room, caseNo).Scan(&jobs, &posted); err != nil {
			t.Fatal(err)
		}
		if posted != 0 {
			t.Fatalf("%s recorded as posted into the destroyed room", caseNo)
		}
		if jobs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the post of %s into the destroyed room is not waiting in the queue: dropped", caseNo)
		}
	}
}

// TestRoomTakeRaceAndCorrection drives takes with real clients: anna and
// ben send "ok" for the same case at the same instant, 20 times over
// (exactly one wins each time, the other is told who has it); a typed
// take with odd casing and a hash ("OK #7"); a take written wrong and
// then corrected (XEP-0308), which takes the corrected case; and that
// take given back ("zurück"), by its owner only, so another can take it.
func TestRoomTakeRaceAndCorrection(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1ms"})
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	an, bn := "anna-"+s.suffix, "ben-"+s.suffix
	for c, n := range map[*testsvc.Client]string{anna: an, ben: bn} {
		if got := c.JoinRoomResult(room, n, 20*time.Second); got != "" {
			t.Fatalf("%s joins: %q", n, got)
		}
	}
	const races = 20
	reporter := testsvc.Login(t, testsvc.User(t))
	var cases []string
	for i := 0; i < races+2; i++ {
		reporter.SendReport(s.address("tiefbau"), "", fmt.Sprintf("neu Gehweg %d abgesackt geo:51.0251,7.59%02d", i, 10+i), "")
	}
	for deadline := time.Now().Add(60 * time.Second); len(cases) < races+2; time.Sleep(200 * time.Millisecond) {
		rows := s.query(`SELECT coalesce(string_agg(case_number, ' ' ORDER BY case_number), '') FROM incidents WHERE state = 'routed' AND team = 'tiefbau'`)
		var all string
		if err := rows.Scan(&all); err != nil {
			t.Fatal(err)
		}
		cases = strings.Fields(all)
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d cases routed to tiefbau within 60 s", len(cases), races+2)
		}
	}
	for _, c := range cases[:races] {
		go anna.Groupchat(room, "ok "+shortRef(c))
		go ben.Groupchat(room, "ok "+shortRef(c))
	}
	for _, c := range cases[:races] {
		anna.WaitMessage(30*time.Second, "the loser told who has "+c, func(m testsvc.Message) bool {
			return s.fromGateway(m) && (strings.HasPrefix(m.Body, an+": "+c+" ist bereits von ben@stadt.localhost übernommen") ||
				strings.HasPrefix(m.Body, bn+": "+c+" ist bereits von anna@stadt.localhost übernommen"))
		})
		var takes int
		var owner string
		if err := s.query(`SELECT owner, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'take')
			FROM incidents i WHERE case_number = $1`, c).Scan(&owner, &takes); err != nil {
			t.Fatal(err)
		}
		if takes != 1 || (owner != "anna@stadt.localhost" && owner != "ben@stadt.localhost") {
			t.Errorf("%s: %d takes, owner %q; want exactly one", c, takes, owner)
		}
	}

	odd, corrected := cases[races], cases[races+1]
	ben.Groupchat(room, "OK #"+shortRef(odd)+" fahre hin")
	anna.WaitMessage(30*time.Second, "ben's take of "+odd, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, odd+" übernommen von ben@stadt.localhost")
	})
	anna.SendRaw(`<message to="` + room + `" type="groupchat" id="typo-1"><body>ok 99999</body></message>`)
	anna.WaitMessage(30*time.Second, "the answer to the wrong number", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.HasPrefix(m.Body, an+": ") && strings.Contains(m.Body, "99999")
	})
	anna.SendRaw(`<message to="` + room + `" type="groupchat" id="typo-2"><body>ok ` + shortRef(corrected) + `</body>` +
		`<replace xmlns="urn:xmpp:message-correct:0" id="typo-1"/></message>`)
	anna.WaitMessage(30*time.Second, "anna's corrected take of "+corrected, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, corrected+" übernommen von anna@stadt.localhost")
	})
	// ben cannot give anna's take back; anna can, and ben takes it then.
	ben.Groupchat(room, "zurück "+shortRef(corrected))
	ben.WaitMessage(30*time.Second, "the refusal of ben's release", func(m testsvc.Message) bool {
		return s.fromGateway(m) && m.Body == bn+": "+corrected+" ist nicht von Ihnen übernommen; zurückgeben kann nur, wer den Fall übernommen hat (oder die Leitstelle)."
	})
	anna.Groupchat(room, "Zurück "+shortRef(corrected))
	ben.WaitMessage(30*time.Second, "anna's release", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.HasPrefix(m.Body, "🔁 "+corrected+" von anna@stadt.localhost zurückgegeben")
	})
	ben.Groupchat(room, "ok "+shortRef(corrected))
	ben.WaitMessage(30*time.Second, "ben's take after the release", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, corrected+" übernommen von ben@stadt.localhost")
	})
}

// TestReporterOfflineToldOnce: the field worker goes offline right after
// the case number; the team takes the case meanwhile. The news waits on
// the worker's own server (RFC 6121 §8.5.2.2 offline storage; on the test
// ejabberd, the worker's archive) and arrives exactly once when the worker
// comes back, naming the team, never the member who took it.
func TestReporterOfflineToldOnce(t *testing.T) {
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	acct := testsvc.User(t)
	// Leased accounts are reused by other tests, whose case numbers (fresh
	// databases) repeat: only this test's messages count.
	since := time.Now().Add(-time.Second)
	caseNo, reporter := s.fileCaseAs(t, acct, "Poller umgefahren geo:51.0251,7.5921")
	reporter.SendRaw(`<presence type="unavailable"/>`)
	time.Sleep(500 * time.Millisecond)
	s.waitRouted(caseNo)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	if got := anna.JoinRoomResult(room, "anna-"+s.suffix, 20*time.Second); got != "" {
		t.Fatalf("anna joins: %q", got)
	}
	anna.Groupchat(room, "ok "+shortRef(caseNo))
	anna.WaitMessage(30*time.Second, "the take", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo+" übernommen von anna@stadt.localhost")
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var sent int
		if err := s.query(`SELECT count(*) FROM river_job WHERE kind = 'chat_message' AND state = 'completed' AND args->>'to' = $1 AND args->>'body' LIKE '%bearbeitet%'`, acct.JID).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		if sent == 1 {
			break
		}
		if sent > 1 || time.Now().After(deadline) {
			t.Fatalf("%d messages about the take handed to the XMPP server, want 1", sent)
		}
	}
	back := testsvc.Login(t, acct)
	if testsvc.XMPP(t).Server == testsvc.Ejabberd {
		// The test ejabberd has no offline storage (mod_offline) but
		// archives every user's messages (mod_mam default: always), which
		// Conversations, Monal, Dino and Gajim fetch when they come back.
		n := 0
		for _, m := range back.RoomArchive(acct.JID, since) {
			if !strings.HasPrefix(m.Forwarded.Message.From, s.address("tiefbau")) {
				continue // another test's gateway
			}
			if b := m.Forwarded.Message.Body; strings.Contains(b, caseNo) && strings.Contains(b, "bearbeitet") {
				n++
				if b != "Ihre Meldung "+caseNo+" wird jetzt von Tiefbau Nord bearbeitet." {
					t.Errorf("the reporter was told %q", b)
				}
			}
		}
		if n != 1 {
			t.Errorf("the reporter's archive holds the news %d times, want once", n)
		}
		return
	}
	ours := func(m testsvc.Message) bool { return strings.HasPrefix(m.From, s.address("tiefbau")) }
	got := back.WaitMessage(30*time.Second, "the news kept while offline", func(m testsvc.Message) bool {
		return ours(m) && strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "bearbeitet")
	})
	if got.Body != "Ihre Meldung "+caseNo+" wird jetzt von Tiefbau Nord bearbeitet." {
		t.Errorf("the reporter was told %q", got.Body)
	}
	time.Sleep(2 * time.Second)
	n := 0
	for _, m := range back.Messages() {
		if !ours(m) {
			continue // offline messages other tests left for this leased account
		}
		if strings.Contains(m.Body, "bearbeitet") {
			n++
		}
		if strings.Contains(m.Body, "anna") {
			t.Errorf("the reporter learnt who took the case: %q", m.Body)
		}
	}
	if n != 1 {
		t.Errorf("the reporter got the news %d times, want once", n)
	}
}

// TestRoomMemberRemovedByReload: the rules are changed while ben sits in
// the team room: he is no longer a member of Tiefbau (his shift there
// ended). The gateway puts him out of the room, his "ok" right after the
// change takes nothing, and he cannot enter again; anna, still a member,
// takes the case.
func TestRoomMemberRemovedByReload(t *testing.T) {
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	caseNo, _ := s.fileCase(t, "Baustellenampel defekt geo:51.0251,7.5921")
	s.waitRouted(caseNo)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	bn := "ben-" + s.suffix
	for c, n := range map[*testsvc.Client]string{anna: "anna-" + s.suffix, ben: bn} {
		if got := c.JoinRoomResult(room, n, 20*time.Second); got != "" {
			t.Fatalf("%s joins: %q", n, got)
		}
	}
	path := s.env["FIELDGATE_RULES_FILE"]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const before = "    members: [anna@stadt.localhost, ben@stadt.localhost]\n"
	if !strings.Contains(string(b), before) {
		t.Fatal("the demo rules no longer list Tiefbau's members as expected")
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), before, "    members: [anna@stadt.localhost]\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ben.WaitStanza(30*time.Second, "ben put out of the room", func(st testsvc.Stanza) bool {
		return st.Name == "presence" && st.Type == "unavailable" && strings.EqualFold(st.From, room+"/"+bn)
	})
	ben.Groupchat(room, "ok "+shortRef(caseNo))
	if got := ben.JoinRoomResult(room, bn+"-2", 20*time.Second); got != "registration-required" {
		t.Errorf("ben's join after his removal: %q, want registration-required", got)
	}
	anna.Groupchat(room, "ok "+shortRef(caseNo))
	anna.WaitMessage(30*time.Second, "anna's take", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo+" übernommen von anna@stadt.localhost")
	})
	var owner string
	if err := s.query(`SELECT owner FROM incidents WHERE case_number = $1`, caseNo).Scan(&owner); err != nil || owner != "anna@stadt.localhost" {
		t.Fatalf("owner %q (%v), want anna", owner, err)
	}
}
