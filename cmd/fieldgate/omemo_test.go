package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// profanity drives the profanity XMPP client (OMEMO built in, through
// libsignal-protocol-c; not written by this project) in a tmux session,
// as a person would: typed commands, and the screen read back.
type profanity struct {
	t       *testing.T
	session string
}

func startProfanity(t *testing.T, acct testsvc.Account, c2s string) *profanity {
	t.Helper()
	for _, bin := range []string{"profanity", "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			testsvc.Required(t, bin+" (make test installs it)")
		}
	}
	home := t.TempDir()
	p := &profanity{t: t, session: "fg-omemo-" + randomHex(4)}
	cmd := fmt.Sprintf("env HOME=%[1]s XDG_CONFIG_HOME=%[1]s/.config XDG_DATA_HOME=%[1]s/.local/share TERM=xterm profanity", home)
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", p.session, "-x", "320", "-y", "60", cmd).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(p.quit)
	p.waitScreen(20*time.Second, "Profanity")
	host, port, _ := strings.Cut(c2s, ":")
	// The test server has a self-signed certificate; "tls trust" accepts it.
	p.cmd(fmt.Sprintf("/connect %s server %s port %s tls trust", acct.JID, host, port))
	p.waitScreen(10*time.Second, "Enter password")
	p.keys(acct.Password)
	p.waitScreen(20*time.Second, "logged in successfully")
	p.cmd("/omemo gen")
	p.waitScreen(60*time.Second, "Your Device ID is")
	p.cmd("/omemo trustmode blind") // blind trust before verification, as most deployments
	p.waitScreen(10*time.Second, "trusted automatically")
	return p
}

// quit ends profanity as its user does (/quit: the stream closed), and
// then its tmux session. Killed instead, profanity leaves its session with
// stream management (XEP-0198) on the server, which holds it for resumption
// (Prosody's smacks_hibernation_time, ten minutes by default): messages to
// the account's bare JID go into that session's queue instead of the next
// test's login or offline storage.
func (p *profanity) quit() {
	_ = exec.Command("tmux", "send-keys", "-t", p.session, "-l", "/quit").Run()
	_ = exec.Command("tmux", "send-keys", "-t", p.session, "Enter").Run()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exec.Command("tmux", "has-session", "-t", p.session).Run() != nil {
			return // profanity has ended, and its window with it
		}
	}
	p.t.Logf("profanity did not end within 10 s of /quit; its session is killed")
	_ = exec.Command("tmux", "kill-session", "-t", p.session).Run()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (p *profanity) keys(s string) {
	p.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", p.session, "-l", s).CombinedOutput(); err != nil {
		p.t.Fatalf("tmux send-keys: %v %s", err, out)
	}
	if out, err := exec.Command("tmux", "send-keys", "-t", p.session, "Enter").CombinedOutput(); err != nil {
		p.t.Fatalf("tmux send-keys: %v %s", err, out)
	}
}

func (p *profanity) cmd(s string) { p.t.Helper(); p.keys(s) }

func (p *profanity) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", p.session).Output()
	return string(out)
}

// waitScreen waits until the window shows want.
func (p *profanity) waitScreen(timeout time.Duration, want string) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := p.screen()
		if strings.Contains(sc, want) {
			return sc
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("profanity did not show %q within %v; screen:\n%s", want, timeout, sc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLine waits until one line of the window contains all of parts.
func (p *profanity) waitLine(timeout time.Duration, parts ...string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := p.screen()
		for _, line := range strings.Split(sc, "\n") {
			all := true
			for _, part := range parts {
				all = all && strings.Contains(line, part)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("profanity showed no line with %q within %v; screen:\n%s", parts, timeout, sc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitReport waits for the newest report whose text contains body and
// returns its case number and number of attachments.
func (s *stack) waitReport(body string) (string, int) {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var caseNo string
		var media int
		err := conn.QueryRow(context.Background(), `SELECT r.case_number, (SELECT count(*) FROM media_objects m WHERE m.report_id = r.id)
			FROM reports r WHERE strpos(r.body, $1) > 0 ORDER BY r.received_at DESC LIMIT 1`, body).Scan(&caseNo, &media)
		if err == nil {
			return caseNo, media
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no report with text %q within 30s (%v)", body, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestOMEMOWithProfanity: an independent OMEMO client (profanity) fetches
// the address's device list and bundle from the component, sends an
// encrypted report and an encrypted photo (XEP-0454), and reads the
// gateway's encrypted answers; a restart of fieldgate between two
// messages keeps the session.
func TestOMEMOWithProfanity(t *testing.T) {
	xenv := testsvc.XMPP(t)
	s := startStack(t, map[string]string{
		"FIELDGATE_OMEMO_KEY":         randomHex(32),
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + xenv.HTTP,
	})
	addr := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	p := startProfanity(t, testsvc.User(t), xenv.C2S)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("profanity's window at the end:\n%s", p.screen())
		}
	})

	p.cmd("/msg " + addr)
	p.cmd("/omemo start")
	p.waitScreen(20*time.Second, "[OMEMO]") // the chat window is encrypted
	// Profanity fetches the address's device list and bundle from the
	// component, then says so in its console window.
	p.cmd("/win 1")
	p.waitScreen(30*time.Second, "Blind trust for "+addr)
	p.cmd("/msg " + addr) // back to the chat window
	p.waitScreen(10*time.Second, "[OMEMO]")
	first := "Schlagloch verschluesselt " + s.suffix
	p.cmd(first)
	caseNo, _ := s.waitReport(first)
	p.waitLine(60*time.Second, "~ "+addr+":", caseNo)

	// Restart the gateway: the session is in PostgreSQL, sealed.
	s.stop()
	s.serve()
	s.waitReady()
	second := "Zweite Meldung nach Neustart " + s.suffix
	p.cmd("neu " + second)
	caseNo2, _ := s.waitReport(second)
	p.waitLine(60*time.Second, "~ "+addr+":", caseNo2)

	// An encrypted photo: profanity uploads the ciphertext (XEP-0363) and
	// sends an aesgcm:// link in the OMEMO message (XEP-0454).
	photo := filepath.Join(t.TempDir(), "foto.jpg")
	photoBytes := testJPEG(t)
	if err := os.WriteFile(photo, photoBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd("/sendfile " + photo)
	p.waitScreen(30*time.Second, "aesgcm://")
	deadline := time.Now().Add(30 * time.Second)
	for s.count("media_objects") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the encrypted photo was not stored")
		}
		time.Sleep(200 * time.Millisecond)
	}
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var sum, ctype string
	if err := conn.QueryRow(context.Background(), `SELECT sha256, content_type FROM media_objects`).Scan(&sum, &ctype); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(photoBytes)
	want := hex.EncodeToString(digest[:])
	if sum != want || ctype != "image/jpeg" {
		t.Errorf("stored photo sha256 %s (%s), want the plaintext's %s", sum, ctype, want)
	}
	if n := s.count("reports WHERE body LIKE '%aesgcm://%'"); n != 0 {
		t.Errorf("%d reports keep the aesgcm link (and its key) as text", n)
	}
	var sealed []byte
	if err := conn.QueryRow(context.Background(), `SELECT identity_private FROM omemo_devices WHERE address = 'tiefbau'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) < 60 {
		t.Errorf("the private identity key is stored in %d bytes: not sealed", len(sealed))
	}
}

// TestOMEMOBadInput: messages that cannot be opened are answered, store
// nothing, and the gateway keeps serving.
func TestOMEMOBadInput(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addr := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	c := testsvc.Login(t, testsvc.User(t))
	cases := []struct{ name, key, want string }{
		{"for another device", `<key rid="1">AAAA</key>`, "nicht für das aktuelle Gerät"},
		{"garbage key", `<key rid="%d" prekey="true">` + "Z2FyYmFnZQ==" + `</key>`, "konnte nicht gelesen werden"},
		{"not base64", `<key rid="%d">!!!</key>`, "konnte nicht gelesen werden"},
	}
	dev := s.omemoDevice("tiefbau")
	for _, tc := range cases {
		key := tc.key
		if strings.Contains(key, "%d") {
			key = fmt.Sprintf(key, dev)
		}
		id := randomHex(6)
		c.SendRaw(fmt.Sprintf(`<message to="%s" id="%s" type="chat"><body>fallback</body>`+
			`<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="4711">%s<iv>AAAAAAAAAAAAAAAA</iv></header>`+
			`<payload>AAAA</payload></encrypted></message>`, addr, id, key))
		c.WaitMessage(30*time.Second, tc.name+" answer", func(m testsvc.Message) bool {
			return strings.Contains(m.Body, tc.want)
		})
	}
	// Other encryptions: their body is the client's fallback sentence.
	for _, payload := range []string{
		`<encrypted xmlns="urn:xmpp:omemo:2"><header sid="1"/></encrypted>`,
		`<openpgp xmlns="urn:xmpp:openpgp:0">AAAA</openpgp>`,
		`<x xmlns="jabber:x:encrypted">AAAA</x>`,
		`<encryption xmlns="urn:xmpp:eme:0" namespace="urn:example:secret"/>`,
	} {
		c.SendRaw(fmt.Sprintf(`<message to="%s" id="%s" type="chat"><body>I sent you an encrypted message.</body>%s</message>`,
			addr, randomHex(6), payload))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, m := range c.Messages() {
			if strings.Contains(m.Body, "Diese Verschlüsselung kann fieldgate nicht lesen") {
				n++
			}
		}
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 messages in other encryptions were answered", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports stored from messages that could not be opened", n)
	}
	// Still serving: a plaintext report is accepted.
	c.Chat(addr, "Unverschlüsselt "+s.suffix)
	s.waitReport("Unverschlüsselt " + s.suffix)
}

func (s *stack) omemoDevice(address string) int64 {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	for {
		var id int64
		if err := conn.QueryRow(context.Background(), `SELECT device_id FROM omemo_devices WHERE address = $1`, address).Scan(&id); err == nil {
			return id
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no OMEMO device for %s", address)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOMEMOPolicy: encryption: required refuses plaintext, off publishes
// no keys and refuses encrypted messages, and disco#info shows the
// fingerprint that `fieldgate omemo fingerprints` prints.
func TestOMEMOPolicy(t *testing.T) {
	rules, _ := testsvc.DemoRulesWith(t, map[string]string{
		"    default_team: tiefbau          # no position, or outside the districts": "    default_team: tiefbau\n    encryption: required",
		"    allow: [public]\n": "    allow: [public]\n    encryption: off\n",
	})
	key := randomHex(32)
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": key, "FIELDGATE_RULES_FILE": rules})
	domain := s.env["FIELDGATE_XMPP_DOMAIN"]
	c := testsvc.Login(t, testsvc.User(t))

	c.Chat("tiefbau@"+domain, "Klartext "+s.suffix)
	c.WaitMessage(30*time.Second, "the refusal of plaintext", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "nur verschlüsselte Meldungen")
	})
	c.SendRaw(fmt.Sprintf(`<message to="info@%s" id="%s" type="chat"><body>fallback</body>`+
		`<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="4711"><key rid="1">AAAA</key><iv>AAAAAAAAAAAAAAAA</iv></header>`+
		`<payload>AAAA</payload></encrypted></message>`, domain, randomHex(6)))
	c.WaitMessage(30*time.Second, "the refusal of encryption", func(m testsvc.Message) bool {
		return strings.Contains(m.Body, "kann verschlüsselte Nachrichten nicht lesen")
	})
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports stored against the policy", n)
	}

	info := c.DiscoInfo("tiefbau@" + domain)
	var fp string
	for _, f := range info.Form {
		if v, ok := f.GetString("fingerprint"); ok {
			fp = v
		}
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"omemo", "fingerprints"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("omemo fingerprints: %v", err)
	}
	if fp == "" || !strings.Contains(out.String(), "tiefbau@"+domain) || !strings.Contains(out.String(), fp) {
		t.Errorf("disco fingerprint %q not in `fieldgate omemo fingerprints`:\n%s", fp, out.String())
	}
	if strings.Contains(out.String(), "info@") {
		t.Errorf("an address with encryption: off has keys listed:\n%s", out.String())
	}
	for _, f := range c.DiscoInfo("info@" + domain).Form {
		if _, ok := f.GetString("fingerprint"); ok {
			t.Error("an address with encryption: off shows a fingerprint")
		}
	}
}

// TestOMEMOTeamRoom: in a members-only team room the gateway is an OMEMO
// participant. profanity, as the team's member, encrypts "ok N" in the
// room; the gateway decrypts it and takes the case, and its confirmation
// and later posts reach the member encrypted.
func TestOMEMOTeamRoom(t *testing.T) {
	member := testsvc.User(t)
	rules, suffix := testsvc.DemoRulesWith(t, map[string]string{
		"    members: [anna@stadt.localhost, ben@stadt.localhost]": "    members: [" + member.JID + "]",
		"dispatchers: [dora@stadt.localhost]":                      "dispatchers: []",
	})
	xenv := testsvc.XMPP(t)
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32), "FIELDGATE_RULES_FILE": rules,
		"FIELDGATE_XMPP_UPLOAD_HOSTS": "http://" + xenv.HTTP})
	room := testsvc.Room("tiefbau", suffix)
	p := startProfanity(t, member, xenv.C2S)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("profanity's window at the end:\n%s", p.screen())
		}
	})
	p.cmd("/join " + room)
	p.waitScreen(20*time.Second, "You have joined the room")
	p.cmd("/omemo start")
	p.waitScreen(20*time.Second, "[OMEMO]")

	file := func(text, lat, lon string) string {
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": text, "lat": lat, "lon": lon}, nil)
		resp, rec := s.post(s.token, body, ct)
		if resp.StatusCode != 202 {
			t.Fatalf("POST: %s %v", resp.Status, rec)
		}
		return rec["case_number"].(string)
	}
	first := file("Loch vor Nr. 3 "+suffix, "51.0251", "7.5919")
	p.waitLine(60*time.Second, "fieldgate", first) // plaintext: the member has no session with the gateway yet
	seq := strings.TrimLeft(strings.SplitN(first, "-", 2)[1], "0")
	p.cmd("ok " + seq)
	p.waitLine(60*time.Second, "~ fieldgate", first, "übernommen von "+member.JID)
	var state, owner string
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), `SELECT state, owner FROM incidents WHERE case_number = $1`, first).Scan(&state, &owner); err != nil {
		t.Fatal(err)
	}
	if state != "acknowledged" || owner != member.JID {
		t.Fatalf("after the encrypted ok: %s by %q", state, owner)
	}
	// The next case's post is encrypted to the member's device.
	start := time.Now()
	second := file("Gullydeckel fehlt "+suffix, "51.0350", "7.5800")
	p.waitLine(60*time.Second, "~ fieldgate", "Meldung "+second)
	textOnly := time.Since(start)

	// A photo into the encrypted room: its team copy arrives as an
	// OMEMO-encrypted aesgcm:// file (XEP-0454) in a message of its own,
	// and no plain link to the team copy reaches the room.
	since := time.Now().Add(-time.Minute)
	start = time.Now()
	photo := testsvc.Photo(t, "orientation_6.jpg") // upright: red top edge
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Schild verdreht " + suffix, "lat": "51.0420", "lon": "7.5850"},
		map[string]string{"photo": photo})
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != 202 {
		t.Fatalf("POST: %s %v", resp.Status, rec)
	}
	third := rec["case_number"].(string)
	p.waitLine(60*time.Second, "~ fieldgate", "Meldung "+third)
	p.waitScreen(10*time.Second, "📷 🔒 Bild 1: verschlüsselt als eigene Nachricht gesendet")
	// Measured, not asserted: report accepted → encrypted post on the
	// member's screen (profanity polled every 200 ms), text only (the
	// floor) and with an encrypted photo (team copy, upload, file message).
	t.Logf("encrypted room post on screen after: text %v, with encrypted photo %v (ratio %.2f)",
		textOnly.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), float64(time.Since(start))/float64(textOnly))
	screen := p.screen()
	link := aesgcmOnScreen.FindString(screen)
	if link == "" {
		t.Fatalf("no aesgcm:// link on profanity's screen")
	}
	if strings.Contains(screen, s.env["FIELDGATE_S3_ENDPOINT"]) {
		t.Errorf("the decrypted post still links the team copy in the object store:\n%s", screen)
	}
	teamCopy := s.teamCopy(third)
	got := downloadFile(t, link)
	if !bytes.Equal(got, teamCopy) {
		t.Fatalf("the encrypted file (%d bytes) is not the case's team copy (%d bytes)", len(got), len(teamCopy))
	}
	checkUprightNoMetadata(t, photo, got)

	// What the room itself holds (its archive, XEP-0313): one file message,
	// and no link to the team copy in any body or XEP-0066 element.
	archive := testsvc.Login(t, member).RoomArchive(room, since)
	files := 0
	for _, m := range archive {
		msg := m.Forwarded.Message
		if msg.OriginID != nil && strings.HasPrefix(msg.OriginID.ID, "fgf-") {
			files++
		}
		for _, text := range append([]string{msg.Body}, msg.OOB...) {
			if strings.Contains(text, s.env["FIELDGATE_S3_ENDPOINT"]) || strings.Contains(text, "/team/") || strings.Contains(text, "X-Amz-") {
				t.Errorf("the room got a plain link to a photo: %q", text)
			}
		}
	}
	if files != 1 {
		t.Errorf("%d encrypted file messages in the room, want 1", files)
	}

	// Exactly once: a part that joins a case shows the case again (an
	// XEP-0308 correction of its post). After a restart nothing is in
	// memory: the photo's message is found in the room's archive by its
	// origin-id and not sent again.
	reporter := testsvc.Login(t, testsvc.User(t))
	addr := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	url := reporter.Upload(testsvc.Photo(t, "orientation_3.jpg"), "image/jpeg")
	reporter.SendReport(addr, "", url, url)
	receipt := reporter.WaitMessage(30*time.Second, "the receipt", func(m testsvc.Message) bool {
		return caseNumberRe.MatchString(m.Body)
	})
	fourth := caseNumberRe.FindString(receipt.Body)
	p.waitScreen(60*time.Second, "Meldung "+fourth)
	s.stop()
	s.serve()
	s.waitReady()
	reporter.Chat(addr, "Nachtrag Ampel "+suffix)
	p.waitScreen(60*time.Second, "Nachtrag Ampel "+suffix)
	files = 0
	for _, m := range testsvc.Login(t, member).RoomArchive(room, since) {
		if o := m.Forwarded.Message.OriginID; o != nil && strings.HasPrefix(o.ID, "fgf-") {
			files++
		}
	}
	if files != 2 {
		t.Errorf("%d encrypted file messages in the room after the correction, want 2 (one per photo)", files)
	}
}

var caseNumberRe = regexp.MustCompile(`\d{4}-\d{6}`)

var aesgcmOnScreen = regexp.MustCompile(`aesgcm://[^\s]+#[0-9a-f]{88}`)

// teamCopy returns the team copy of a case's first photo from the bucket.
func (s *stack) teamCopy(caseNo string) []byte {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var key string
	if err := conn.QueryRow(context.Background(), `SELECT m.derivative_key FROM media_objects m JOIN reports r ON r.id = m.report_id
		WHERE r.case_number = $1 AND m.derivative_key IS NOT NULL`, caseNo).Scan(&key); err != nil {
		s.t.Fatalf("team copy of %s: %v", caseNo, err)
	}
	obj, err := s.s3.GetObject(context.Background(), s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		s.t.Fatalf("read team copy %s: %v", key, err)
	}
	return b
}

// downloadFile fetches an aesgcm:// file (the test's upload service
// speaks plain http on loopback) and decrypts it with the key from the
// link's fragment, checking its GCM tag.
func downloadFile(t *testing.T, link string) []byte {
	t.Helper()
	l, err := omemo.ParseFileLink(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	resp, err := http.Get("http://" + strings.TrimPrefix(l.HTTPS, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download of the encrypted file: %s", resp.Status)
	}
	plain, err := l.Open(resp.Body)
	if err != nil {
		t.Fatalf("decrypt the file with the link's key: %v", err)
	}
	return plain
}

// checkUprightNoMetadata checks that team is a JPEG of the photo at path
// (EXIF orientation 6: stored on its side) turned upright, red along its
// top edge, with no metadata left.
func checkUprightNoMetadata(t *testing.T, path string, team []byte) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := jpeg.DecodeConfig(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(team))
	if err != nil {
		t.Fatalf("the team copy is not a JPEG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != stored.Height || b.Dy() != stored.Width {
		t.Errorf("team copy %dx%d, want the stored %dx%d turned upright", b.Dx(), b.Dy(), stored.Width, stored.Height)
	}
	r, g, bl, _ := img.At(b.Dx()/2, 1).RGBA()
	if r < 2*g || r < 2*bl {
		t.Errorf("top edge is not red (r=%d g=%d b=%d): not upright", r>>8, g>>8, bl>>8)
	}
	for _, meta := range []string{"Exif\x00", "Fieldgate", "Testkamera", "http://ns.adobe.com/xap"} {
		if bytes.Contains(team, []byte(meta)) {
			t.Errorf("team copy still carries %q", meta)
		}
	}
	if !bytes.Contains(orig, []byte("Exif\x00")) {
		t.Error("the test photo has no EXIF to remove")
	}
}

// TestOMEMODeviceListPush: the component pushes an address's device list
// the way PEP does for an account (XEP-0163 §4.3): to a client that
// subscribes to the address's presence, to a subscriber whose server
// probes the address when another of its clients comes online, and, when
// the address's device changes (its keys lost and recreated at start-up),
// to the subscribers whose entity capabilities (XEP-0115) asked for
// devicelist+notify, not to the others.
func TestOMEMODeviceListPush(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addr := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	dev := uint32(s.omemoDevice("tiefbau"))
	pushed := func(c *testsvc.Client, what string, want uint32) {
		t.Helper()
		c.WaitMessage(30*time.Second, what, func(m testsvc.Message) bool { return deviceListOf(m, addr) == want })
	}
	acct := testsvc.User(t)
	c := testsvc.Login(t, acct)
	c.SendRaw(`<presence type="subscribe" to="` + addr + `"/>`)
	pushed(c, "the device list on subscription", dev)
	c2 := testsvc.Login(t, acct) // its server probes the subscribed address
	pushed(c2, "the device list after the probe", dev)

	other := testsvc.Login(t, testsvc.User(t)) // subscribed, no +notify
	other.SendRaw(`<presence type="subscribe" to="` + addr + `"/>`)
	pushed(other, "the device list on subscription", dev)

	node := "https://fieldgate.example/test-client"
	ver := randomHex(10)
	c.AdvertiseFeatures("http://jabber.org/protocol/disco#info", "eu.siacs.conversations.axolotl.devicelist+notify")
	c.SendRaw(`<presence to="` + addr + `"><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="` + node + `" ver="` + ver + `"/></presence>`)
	c.WaitStanza(20*time.Second, "the gateway's question for the client's features", func(st testsvc.Stanza) bool {
		return st.Name == "iq" && st.Type == "get" && st.From == addr
	})
	deadline := time.Now().Add(20 * time.Second)
	for s.count(fmt.Sprintf("omemo_subscribers WHERE address = 'tiefbau' AND jid = '%s' AND notify", acct.JID)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber's +notify was not recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The address and the gateway's room device lose their keys; the
	// restarted gateway creates new devices and announces them: the
	// address's to the subscriber that asked, the room device's to every
	// team member (anna is one in the demo rules).
	roomDev := uint32(s.omemoDevice("@rooms"))
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	deadline = time.Now().Add(20 * time.Second)
	for s.count("omemo_announced WHERE address = '@rooms'") != 1 { // the room device is pushed on a change only
		if time.Now().After(deadline) {
			t.Fatal("the first start did not record its announced devices")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `DELETE FROM omemo_devices WHERE address IN ('tiefbau', '@rooms')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	s.serve()
	s.waitReady()
	newDev := uint32(s.omemoDevice("tiefbau"))
	if newDev == dev {
		t.Fatalf("the recreated device has the old id %d", dev)
	}
	pushed(c, "the new device list", newDev)
	newRoomDev := uint32(s.omemoDevice("@rooms"))
	anna.WaitMessage(30*time.Second, "the room device's new list", func(m testsvc.Message) bool {
		return newRoomDev != roomDev && deviceListOf(m, s.env["FIELDGATE_XMPP_DOMAIN"]) == newRoomDev
	})
	time.Sleep(time.Second) // pushes go out in one pass; give the other one a chance to arrive wrongly
	for _, m := range other.Messages() {
		if deviceListOf(m, addr) == newDev {
			t.Error("a subscriber without devicelist+notify got the change")
		}
	}
}

// deviceListOf returns the device of an address's device-list push (0 if
// m is none).
func deviceListOf(m testsvc.Message, addr string) uint32 {
	if m.From != addr || m.Event == nil || m.Event.Items.Node != "eu.siacs.conversations.axolotl.devicelist" ||
		len(m.Event.Items.Item) != 1 || len(m.Event.Items.Item[0].Devices) != 1 {
		return 0
	}
	return m.Event.Items.Item[0].Devices[0].ID
}
