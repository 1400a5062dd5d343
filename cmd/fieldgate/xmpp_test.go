package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// xmppStack is startStack with the settings XMPP tests need: Prosody's
// upload service allowed for fetching (and the default grouping windows).
func xmppStack(t *testing.T, extra map[string]string) *stack {
	t.Helper()
	env := map[string]string{
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + testsvc.XMPP(t).HTTP,
	}
	for k, v := range extra {
		env[k] = v
	}
	return startStack(t, env)
}

func (s *stack) address(local string) string { return local + "@" + s.env["FIELDGATE_XMPP_DOMAIN"] }

func (s *stack) fromGateway(m testsvc.Message) bool {
	return m.Type == "groupchat" && strings.HasSuffix(m.From, "/"+s.nick)
}

func (s *stack) query(sql string, args ...any) pgx.Row {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), sql, args...)
}

// caseFromReply extracts the case number from "Meldung 2026-000001 …".
func caseFromReply(t *testing.T, body string) string {
	t.Helper()
	f := strings.Fields(body)
	if len(f) < 2 || !strings.HasPrefix(f[0], "Meldung") {
		t.Fatalf("not a case reply: %q", body)
	}
	return f[1]
}

func shortRef(caseNo string) string {
	return strings.TrimLeft(strings.SplitN(caseNo, "-", 2)[1], "0")
}

// TestXMPPUploadReportAndAcks: a field worker uploads a photo through
// Prosody's HTTP upload and sends the URL like Conversations does; the
// report gets the photo's GPS, the photo lands in S3, the post appears in
// the room; anna takes it with "ok N", ben takes a second one with a 👍
// reaction, and the reporter hears about both.
func TestXMPPUploadReportAndAcks(t *testing.T) {
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	reporter := testsvc.Login(t, testsvc.User(t))
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	ben.JoinRoom(room, "ben-"+s.suffix)
	to := s.address("tiefbau")

	photo := testsvc.PhotoExpected(t, "gps_nw.jpg")
	url := reporter.Upload(photo.Path, "image/jpeg")
	id := reporter.SendReport(to, "", url, url)
	reporter.WaitMessage(20*time.Second, "the delivery receipt", func(m testsvc.Message) bool {
		return m.Received != nil && m.Received.ID == id
	})
	ack := reporter.WaitMessage(20*time.Second, "the case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ") && strings.Contains(m.Body, "angenommen")
	})
	caseNo := caseFromReply(t, ack.Body)
	reporter.SendReport(to, "", "Gehweg abgesackt", "")
	// Third message: a location share a few metres away. The photo's EXIF
	// position still wins (it is where the evidence was taken), but all
	// three are one case (the parts correct the post, XEP-0308).
	reporter.SendReport(to, "", fmt.Sprintf("geo:%.5f,%.5f", *photo.Lat, *photo.Lon), "")

	post := anna.WaitMessage(60*time.Second, "the incident post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "Gehweg abgesackt")
	})
	if !strings.Contains(post.Body, "Gehweg abgesackt") || !strings.Contains(post.Body, fmt.Sprintf("geo:%.6f,%.6f", *photo.Lat, *photo.Lon)) {
		t.Errorf("post lacks the assembled text or the EXIF position:\n%s", post.Body)
	}
	if strings.Contains(post.Body, url) {
		t.Errorf("post shows the reporter's upload URL instead of our copy:\n%s", post.Body)
	}
	if len(post.OOB) != 1 {
		t.Errorf("post has %d OOB links, want 1", len(post.OOB))
	}
	var lat, lon float64
	var source string
	var media int
	if err := s.query(`SELECT r.lat, r.lon, r.position_source, (SELECT count(*) FROM media_objects m WHERE m.report_id = r.id)
		FROM reports r WHERE case_number = $1 AND kind = 'report'`, caseNo).Scan(&lat, &lon, &source, &media); err != nil {
		t.Fatal(err)
	}
	if math.Abs(lat-*photo.Lat) > 1e-6 || math.Abs(lon-*photo.Lon) > 1e-6 || source != "exif" || media != 1 {
		t.Fatalf("stored report: %v,%v from %s with %d media; want %s's EXIF position and 1 photo", lat, lon, source, media, photo.File)
	}
	if n := s.count("incidents"); n != 1 {
		t.Fatalf("photo, text and location made %d cases, want 1", n)
	}
	if n := len(s.objects()); n == 0 {
		t.Fatal("photo not in S3")
	}

	anna.Groupchat(room, "ok "+shortRef(caseNo))
	anna.WaitMessage(20*time.Second, "the take confirmation", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo+" übernommen von anna@stadt.localhost")
	})
	reporter.WaitMessage(20*time.Second, "the status message", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "bearbeitet")
	})

	// A second report (text and geo: URI, no photo), taken with a 👍.
	reporter.SendReport(to, "", "neu: Kanaldeckel klappert geo:51.0251,7.5921", "")
	ack2 := reporter.WaitMessage(20*time.Second, "the second case number", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ") && strings.Contains(m.Body, "angenommen – ") && !strings.Contains(m.Body, caseNo)
	})
	case2 := caseFromReply(t, ack2.Body)
	post2 := ben.WaitMessage(60*time.Second, "the second post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, case2)
	})
	target := post2.ID
	if post2.StanzaID != nil && post2.StanzaID.ID != "" {
		target = post2.StanzaID.ID
	}
	ben.React(room, target, "👍")
	ben.WaitMessage(20*time.Second, "the reaction take", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, case2+" übernommen von ben@stadt.localhost")
	})
	reporter.WaitMessage(20*time.Second, "the second status message", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, case2) && strings.Contains(m.Body, "bearbeitet")
	})
	var owner string
	if err := s.query(`SELECT owner FROM incidents WHERE case_number = $1`, case2).Scan(&owner); err != nil || owner != "ben@stadt.localhost" {
		t.Fatalf("owner of %s = %q (%v), want ben", case2, owner, err)
	}
}

// TestXMPPBadInput: unknown address, unauthorized sender, disallowed and
// oversized attachments, a resent message id. Nothing is stored that
// should not be, and everyone is answered.
func TestXMPPBadInput(t *testing.T) {
	photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A real JPEG start, then more than the limit; streamed (chunked),
		// so the limit is hit while reading, not by Content-Length.
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(photo)
		_, _ = w.Write(make([]byte, 300_000))
	}))
	defer big.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redirect.Close()
	bigHost := strings.TrimPrefix(big.URL, "http://")
	s := xmppStack(t, map[string]string{
		"FIELDGATE_XMPP_UPLOAD_HOSTS":         "http://" + testsvc.XMPP(t).HTTP + ",http://" + bigHost + "," + redirect.URL,
		"FIELDGATE_XMPP_MAX_ATTACHMENT_BYTES": "100000",
	})
	_ = s
	reporter := testsvc.Login(t, testsvc.User(t))

	// Unknown address: an error that names the valid ones.
	id := reporter.SendReport(s.address("gibtsnicht"), "", "Hallo", "")
	e := reporter.WaitMessage(20*time.Second, "the error for an unknown address", func(m testsvc.Message) bool {
		return m.Type == "error" && m.ID == id
	})
	if e.Error == nil || !strings.Contains(e.Error.Text, s.address("tiefbau")) {
		t.Errorf("error does not name the valid addresses: %+v", e.Error)
	}

	// Metadata URL, redirect to it, oversized attachment: text kept, nothing fetched.
	reporter.SendReport(s.address("tiefbau"), "", "Bild: http://169.254.169.254/latest/meta-data/", "")
	reporter.SendReport(s.address("tiefbau"), "", redirect.URL+"/x.jpg", redirect.URL+"/x.jpg")
	reporter.SendReport(s.address("tiefbau"), "", big.URL+"/huge.jpg", big.URL+"/huge.jpg")
	reporter.WaitMessage(30*time.Second, "the attachment refusal", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "Anhang konnte nicht übernommen werden") && strings.Contains(m.Body, "zu groß")
	})
	// Resent message: same id twice.
	dup := "dup-" + s.suffix
	reporter.SendReport(s.address("tiefbau"), dup, "Laterne defekt", "")
	reporter.SendReport(s.address("tiefbau"), dup, "Laterne defekt", "")
	deadline := time.Now().Add(20 * time.Second)
	var body string
	var reports, media int
	for time.Now().Before(deadline) {
		// The messages are parts of one case (one report row each).
		if err := s.query(`SELECT count(DISTINCT incident_id), coalesce(string_agg(body, E'\n' ORDER BY received_at),'') FROM reports`).Scan(&reports, &body); err != nil {
			t.Fatal(err)
		}
		if strings.Count(body, "Laterne defekt") >= 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.query(`SELECT count(*) FROM media_objects`).Scan(&media); err != nil {
		t.Fatal(err)
	}
	if reports != 1 || media != 0 {
		t.Fatalf("%d cases with %d media; want 1 case and no fetched media", reports, media)
	}
	for _, want := range []string{"169.254.169.254", redirect.URL, big.URL} {
		if !strings.Contains(body, want) {
			t.Errorf("refused URL %s not kept as text: %q", want, body)
		}
	}
	if strings.Count(body, "Laterne defekt") != 1 {
		t.Errorf("resent message added twice: %q", body)
	}
	if objs := s.objects(); len(objs) != 0 {
		t.Errorf("objects stored for refused attachments: %v", objs)
	}
}

// TestXMPPUnauthorizedSender: an address that only allows carla refuses
// others politely and stores nothing.
func TestXMPPUnauthorizedSender(t *testing.T) {
	rules, suffix := testsvc.DemoRulesWith(t, map[string]string{
		"    allow: [stadt.localhost]\n    urgent: true": "    allow: [carla@stadt.localhost]\n    urgent: true",
	})
	s := xmppStack(t, map[string]string{"FIELDGATE_RULES_FILE": rules})
	s.suffix = suffix
	reporter := testsvc.Login(t, testsvc.User(t))
	reporter.SendReport(s.address("jugendamt-bereitschaft"), "", "Kind allein auf Spielplatz", "")
	reporter.WaitMessage(20*time.Second, "the refusal", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "dürfen an") && strings.Contains(m.Body, "keine Meldungen senden")
	})
	if n := s.count("reports"); n != 0 {
		t.Fatalf("%d reports stored from an unauthorized sender", n)
	}
}

// TestGoSendxmpp uses an independent client: a text with a geo: URI, and
// a file through HTTP upload (-h).
func TestGoSendxmpp(t *testing.T) {
	bin, err := exec.LookPath("go-sendxmpp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go-sendxmpp not installed (apt-get install go-sendxmpp)")
		}
		t.Skip("go-sendxmpp not installed")
	}
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1s"})
	x := testsvc.XMPP(t)
	acct := testsvc.User(t)
	send := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// -n: the test server's certificate is self-signed; this is the
		// test client, the product never skips verification.
		base := []string{"-u", acct.JID, "-p", acct.Password, "-j", x.C2S, "--timeout", "10", "-n"}
		out, err := exec.CommandContext(ctx, bin, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go-sendxmpp %v: %v\n%s", args, err, out)
		}
	}
	msg := t.TempDir() + "/msg.txt"
	if err := os.WriteFile(msg, []byte("Baum auf Fahrbahn geo:51.0251,7.5921"), 0o644); err != nil {
		t.Fatal(err)
	}
	send("-m", msg, s.address("tiefbau"))
	waitReports := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for s.count("reports WHERE processed_at IS NOT NULL") < n {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d processed reports after 30s", n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitReports(1)
	var lat, lon float64
	var src, district string
	if err := s.query(`SELECT r.lat, r.lon, r.position_source, i.district FROM reports r JOIN incidents i ON i.id = r.incident_id`).Scan(&lat, &lon, &src, &district); err != nil {
		t.Fatal(err)
	}
	if lat != 51.0251 || lon != 7.5921 || src != "geo_uri" || district == "" {
		t.Fatalf("geo: report stored as %v,%v (%s) district %q", lat, lon, src, district)
	}
	time.Sleep(1500 * time.Millisecond) // let the assembly window close so the file is a follow-up or new report
	se := testsvc.PhotoExpected(t, "gps_se.jpg")
	send("-h", se.Path, s.address("info"))
	waitReports(2)
	var media int
	var mlat float64
	if err := s.query(`SELECT count(m.*), max(r.lat) FROM reports r JOIN media_objects m ON m.report_id = r.id WHERE r.address = 'info'`).Scan(&media, &mlat); err != nil {
		t.Fatal(err)
	}
	if media != 1 || math.Abs(mlat-*se.Lat) > 1e-6 {
		t.Fatalf("file sent with go-sendxmpp -h: %d media, lat %v; want 1 photo with %s's position", media, mlat, se.File)
	}
}

// TestProsodyRestart: a report accepted while the XMPP server is down is
// posted exactly once after the gateway has reconnected and rejoined.
func TestProsodyRestart(t *testing.T) {
	testsvc.ExclusiveXMPP(t)
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	file := func(text string) string {
		t.Helper()
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": text}, nil)
		resp, rec := s.post(s.token, body, ct)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %s %v", resp.Status, rec)
		}
		return rec["case_number"].(string)
	}
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	before := file("vor dem Neustart")
	anna.WaitMessage(30*time.Second, "the first post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, before)
	})

	var during string
	testsvc.RestartXMPP(t, func() {
		during = file("während Prosody nicht läuft")
		time.Sleep(2 * time.Second) // the post job runs and fails at least once
	})
	anna2 := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna2.JoinRoomHistory(room, "anna2-"+s.suffix, 50)
	anna2.WaitMessage(60*time.Second, "the post queued during the outage", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, during)
	})
	time.Sleep(3 * time.Second) // a duplicate would arrive now
	n := 0
	for _, m := range anna2.Messages() {
		if s.fromGateway(m) && strings.Contains(m.Body, "🆕") && strings.Contains(m.Body, during) {
			n++
		}
	}
	var posted int
	if err := s.query(`SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id
		WHERE i.case_number = $1 AND e.kind = 'posted'`, during).Scan(&posted); err != nil {
		t.Fatal(err)
	}
	if n != 1 || posted != 1 {
		t.Fatalf("post of %s seen %d times in the room, %d posted events; want exactly 1", during, n, posted)
	}
}

// TestXMPPReplyGeolocDisco: the component answers disco#info with the
// address's name; an XEP-0080 location geotags a report; an XEP-0461
// reply "ok" to a post takes it; a 1:1 "ok N" from a non-member is refused.
func TestXMPPReplyGeolocDisco(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1s"})
	room := testsvc.Room("tiefbau", s.suffix)
	reporter := testsvc.Login(t, testsvc.User(t))
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)

	info := reporter.DiscoInfo(s.address("tiefbau"))
	if len(info.Identity) == 0 || info.Identity[0].Name != "Tiefbau" {
		t.Errorf("disco#info identity = %+v, want the display name Tiefbau", info.Identity)
	}
	hasReceipts := false
	for _, f := range info.Features {
		hasReceipts = hasReceipts || f.Var == "urn:xmpp:receipts"
	}
	if !hasReceipts {
		t.Errorf("disco#info does not announce receipts: %+v", info.Features)
	}

	reporter.SendGeoloc(s.address("tiefbau"), "Bordstein lose", 51.0251, 7.5921)
	post := anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, "Bordstein lose")
	})
	if !strings.Contains(post.Body, "geo:51.025100,7.592100") {
		t.Errorf("XEP-0080 position not in the post:\n%s", post.Body)
	}
	var caseNo, src string
	if err := s.query(`SELECT case_number, position_source FROM reports`).Scan(&caseNo, &src); err != nil || src != "xep0080" {
		t.Fatalf("position source %q (%v), want xep0080", src, err)
	}

	// A 1:1 "ok N …" from someone who was neither alerted nor a member is
	// no take: it is a report that happens to start like a command.
	reporter.Chat(s.address("tiefbau"), "neu: OK "+shortRef(caseNo)+" Schlaglöcher in der Hauptstraße")
	reporter.Chat(s.address("tiefbau"), "OK "+shortRef(caseNo)+" Schlaglöcher am Markt")
	waitFor := time.Now().Add(20 * time.Second)
	for s.count("reports WHERE body LIKE '%Schlaglöcher am Markt%'") == 0 {
		if time.Now().After(waitFor) {
			t.Fatal("a report starting like a command was not taken as a report")
		}
		time.Sleep(200 * time.Millisecond)
	}

	target := post.ID
	if post.StanzaID != nil && post.StanzaID.ID != "" {
		target = post.StanzaID.ID
	}
	anna.Reply(room, s.nick, target, "🆕 Meldung "+caseNo, "ok")
	anna.WaitMessage(20*time.Second, "the take by reply", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo+" übernommen von anna@stadt.localhost")
	})
	var owner string
	if err := s.query(`SELECT owner FROM incidents WHERE case_number = $1`, caseNo).Scan(&owner); err != nil || owner != "anna@stadt.localhost" {
		t.Errorf("owner %q (%v): the reporter's 'OK N …' must not have taken the incident", owner, err)
	}
}

// TestXMPPReplyAndReassign: a member answers the reporter from the room
// (the reporter sees the team, not the member's JID); the dispatcher moves
// the incident from the Leitstelle room to another team, which gets a
// fresh post, and the reporter is told.
func TestXMPPReplyAndReassign(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1s"})
	tiefbau, leit, gruen := testsvc.Room("tiefbau", s.suffix), testsvc.Room("leitstelle", s.suffix), testsvc.Room("gruenflaechen", s.suffix)
	reporter := testsvc.Login(t, testsvc.User(t))
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	dora := testsvc.Login(t, testsvc.DemoUser("dora"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	anna.JoinRoom(tiefbau, "anna-"+s.suffix)
	dora.JoinRoom(leit, "dora-"+s.suffix)
	ben.JoinRoom(gruen, "ben-"+s.suffix)

	reporter.SendReport(s.address("tiefbau"), "", "Ast auf Gehweg geo:51.0251,7.5921", "")
	post := anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, "Ast auf Gehweg")
	})
	var caseNo string
	if err := s.query(`SELECT case_number FROM reports`).Scan(&caseNo); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(post.Body, caseNo) {
		t.Fatalf("post does not name %s", caseNo)
	}
	ref := shortRef(caseNo)
	anna.Groupchat(tiefbau, "antwort "+ref+" Wir schauen uns das heute an.")
	got := reporter.WaitMessage(20*time.Second, "the team's answer", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "Wir schauen uns das heute an.")
	})
	if strings.Contains(got.Body, "anna@") {
		t.Errorf("the reporter sees the member's JID: %q", got.Body)
	}

	// Only dispatchers reassign.
	anna.Groupchat(tiefbau, "weiter "+ref+" gruenflaechen")
	anna.WaitMessage(20*time.Second, "the refusal", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.HasPrefix(m.Body, "anna-"+s.suffix+":")
	})
	dora.Groupchat(leit, "weiter "+ref+" Grünflächen Baumschnitt")
	ben.WaitMessage(30*time.Second, "the fresh post in the new team's room", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	reporter.WaitMessage(20*time.Second, "the reassignment notice", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, caseNo) && strings.Contains(m.Body, "Grünflächen")
	})
	var team string
	if err := s.query(`SELECT team FROM incidents WHERE case_number = $1`, caseNo).Scan(&team); err != nil || team != "gruenflaechen" {
		t.Fatalf("team after reassignment = %q (%v)", team, err)
	}
}

// TestXMPPCraftedStanzas: stanzas that are well-formed XML but nonsense
// (a geoloc that is not a number, deep unknown extensions, an oversized
// text) are dropped or answered (the text beside a bad geoloc is kept),
// and the gateway keeps serving.
func TestXMPPCraftedStanzas(t *testing.T) {
	s := xmppStack(t, map[string]string{"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "1s"})
	reporter := testsvc.Login(t, testsvc.User(t))
	to := s.address("tiefbau")
	reporter.SendRaw(`<message to='` + to + `' type='chat' id='bad-geo'><body>Schild</body>` +
		`<geoloc xmlns='http://jabber.org/protocol/geoloc'><lat>NaN-ish</lat><lon>7</lon></geoloc></message>`)
	deep := strings.Repeat("<a>", 500) + strings.Repeat("</a>", 500)
	reporter.SendRaw(`<message to='` + to + `' type='chat' id='deep'><body>Deep</body><x xmlns='urn:example:evil'>` + deep + `</x></message>`)
	// The text is kept; the sender is told the location was not taken.
	reporter.WaitMessage(20*time.Second, "the hint for the malformed geoloc", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "NaN-ish") && strings.Contains(m.Body, "XEP-0080")
	})
	reporter.SendReport(to, "", strings.Repeat("Ü", 5000), "")
	reporter.WaitMessage(20*time.Second, "the refusal of an oversized text", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "Meldung nicht angenommen") && strings.Contains(m.Body, "Text zu lang")
	})
	reporter.SendReport(to, "", "Laterne flackert", "")
	// Wait for this report itself: ejabberd passes the deeply nested
	// stanza on (Prosody refuses it), and its answer looks the same.
	for deadline := time.Now().Add(20 * time.Second); s.count(`reports WHERE body = 'Laterne flackert'`) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the report after the crafted stanzas was not stored within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var bodies string
	if err := s.query(`SELECT string_agg(body, '|' ORDER BY received_at) FROM reports`).Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bodies, "Schild") || strings.Contains(bodies, "ÜÜÜ") || !strings.Contains(bodies, "Laterne flackert") {
		t.Fatalf("stored bodies %q: the text beside the malformed geoloc and the good one must be stored, the oversized text not", bodies)
	}
}

// TestResentTextMessageAnsweredOnce: a messenger resends a text report
// (the same XEP-0359 origin-id) after it was answered, as after a lost
// stream-management acknowledgement (XEP-0198). The resend is looked up
// by the intake (the gateway asks first only for messages with something
// to download): it gets its delivery receipt (XEP-0184) again, and
// nothing else: no second report, no second "angenommen", no second hint
// about its comma-decimal geo: URI.
func TestResentTextMessageAnsweredOnce(t *testing.T) {
	s := xmppStack(t, nil)
	reporter := testsvc.Login(t, testsvc.User(t))
	to := s.address("tiefbau")
	id := "resend-" + s.suffix
	body := "Gully-Deckel lose " + s.suffix + " geo:51,02510,7,59190;u=9"
	reporter.SendReport(to, id, body, "")
	reporter.WaitMessage(20*time.Second, "the hint", func(m testsvc.Message) bool { return strings.Contains(m.Body, "Meinten Sie geo:51.0251,7.5919?") })
	ack := reporter.WaitMessage(20*time.Second, "the case number", func(m testsvc.Message) bool { return strings.Contains(m.Body, "angenommen") })
	caseNo := caseFromReply(t, ack.Body)
	reporter.SendReport(to, id, body, "")
	// One sender's stanzas are handled in order: once the next message's
	// receipt is here, whatever the resend caused has been sent.
	marker := reporter.SendReport(to, "", "neu Laterne flackert "+s.suffix, "")
	reporter.WaitMessage(20*time.Second, "the next message's receipt", func(m testsvc.Message) bool { return m.Received != nil && m.Received.ID == marker })
	receipts, hints, acks := 0, 0, 0
	for _, m := range reporter.Messages() {
		switch {
		case m.Received != nil && m.Received.ID == id:
			receipts++
		case strings.Contains(m.Body, "Meinten Sie geo:"):
			hints++
		case strings.Contains(m.Body, "Meldung "+caseNo+" angenommen"):
			acks++
		}
	}
	if receipts != 2 || hints != 1 || acks != 1 {
		t.Errorf("the message and its resend: %d receipts, %d geo hints, %d acceptances; want 2, 1, 1", receipts, hints, acks)
	}
	var reports int
	if err := s.query(`SELECT count(*) FROM reports WHERE body LIKE '%' || $1 || '%'`, "Gully-Deckel lose "+s.suffix).Scan(&reports); err != nil {
		t.Fatal(err)
	}
	if reports != 1 {
		t.Errorf("%d reports of the message and its resend, want 1", reports)
	}
}
