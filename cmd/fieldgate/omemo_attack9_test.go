package main

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/gateway/omemo"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// omemoPeer is an OMEMO device driven by the test: a field worker's phone
// or tablet, or an attacker's crafted client. Its Signal side is
// go.mau.fi/libsignal (through gateway/omemo's Manager, on the test's
// PostgreSQL under a key of its own); it reaches the gateway only through
// XMPP stanzas on the real Prosody, and so can send what a client would
// resend or an attacker would craft, byte for byte.
type omemoPeer struct {
	t   *testing.T
	m   *omemo.Manager
	key string // the Manager's own-device key
	jid string // the account's bare JID
	dev uint32
}

func (s *stack) omemoManager() *omemo.Manager {
	s.t.Helper()
	pool, err := pgxpool.New(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(pool.Close)
	sealer, err := omemo.NewSealer(s.env["FIELDGATE_OMEMO_KEY"])
	if err != nil {
		s.t.Fatal(err)
	}
	return omemo.New(omemo.NewPG(pool), sealer, nil)
}

func newOMEMOPeer(s *stack, m *omemo.Manager, jid, key string) *omemoPeer {
	s.t.Helper()
	dev, err := m.Device(context.Background(), key)
	if err != nil {
		s.t.Fatal(err)
	}
	return &omemoPeer{t: s.t, m: m, key: key, jid: jid, dev: dev}
}

// encrypt seals text for the address's device; gw reads the bundle the
// gateway serves (the same rows), for the first message.
func (p *omemoPeer) encrypt(gw *omemo.Manager, local, addrJID, text string) *omemo.Encrypted {
	p.t.Helper()
	ctx := context.Background()
	dev, err := gw.Device(ctx, local)
	if err != nil {
		p.t.Fatal(err)
	}
	r := omemo.Recipient{JID: addrJID, Device: dev}
	if need, err := p.m.NeedsBundle(ctx, p.key, addrJID, dev); err != nil {
		p.t.Fatal(err)
	} else if need {
		if r.Bundle, err = gw.Bundle(ctx, local); err != nil {
			p.t.Fatal(err)
		}
	}
	enc, err := p.m.Encrypt(ctx, p.key, []omemo.Recipient{r}, []byte(text))
	if err != nil {
		p.t.Fatal(err)
	}
	return enc
}

// open decrypts a message the gateway sent; false if it carries no key
// for this device.
func (p *omemoPeer) open(from string, m testsvc.Message) (string, bool) {
	if m.OMEMO == nil {
		return "", false
	}
	enc := &omemo.Encrypted{Header: omemo.Header{SID: m.OMEMO.Header.SID, IV: m.OMEMO.Header.IV}, Payload: m.OMEMO.Payload}
	for _, k := range m.OMEMO.Header.Keys {
		enc.Header.Keys = append(enc.Header.Keys, omemo.Key{RID: k.RID, PreKey: k.PreKey, Value: k.Value})
	}
	d, err := p.m.Decrypt(context.Background(), p.key, from, enc)
	if err != nil {
		return "", false
	}
	return string(d.Plaintext), true
}

// omemoStanza is a message as Conversations sends one: fallback body,
// <encrypted/>, origin-id, receipt request, XEP-0380 hint, store hint.
func omemoStanza(t *testing.T, to, id string, enc *omemo.Encrypted, extra ...string) string {
	t.Helper()
	raw, err := xml.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`<message to="%s" id="%s" type="chat">`+
		`<body>I sent you an OMEMO encrypted message but your client doesn’t seem to support that. Find more information on https://conversations.im/omemo</body>`+
		`%s<origin-id xmlns="urn:xmpp:sid:0" id="%s"/><request xmlns="urn:xmpp:receipts"/>`+
		`<encryption xmlns="urn:xmpp:eme:0" name="OMEMO" namespace="eu.siacs.conversations.axolotl"/>`+
		`<store xmlns="urn:xmpp:hints"/>%s</message>`, to, id, raw, id, strings.Join(extra, ""))
}

// publishDeviceList publishes the account's OMEMO device list on its own
// PEP service, readable by anyone (publish-options access_model open, as
// Conversations publishes it), and deletes the node when the test ends.
func publishDeviceList(t *testing.T, c *testsvc.Client, devs ...uint32) {
	t.Helper()
	var list strings.Builder
	for _, d := range devs {
		fmt.Fprintf(&list, `<device id="%d"/>`, d)
	}
	id := "pub-" + randomHex(6)
	c.SendRaw(fmt.Sprintf(`<iq type="set" id="%s"><pubsub xmlns="http://jabber.org/protocol/pubsub">`+
		`<publish node="%s"><item id="current"><list xmlns="%s">%s</list></item></publish>`+
		`<publish-options><x xmlns="jabber:x:data" type="submit">`+
		`<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>`+
		`<field var="pubsub#access_model"><value>open</value></field></x></publish-options></pubsub></iq>`,
		id, omemo.NodeDeviceList, omemo.NS, list.String()))
	if st := c.WaitStanza(15*time.Second, "the device list's publish result", func(st testsvc.Stanza) bool {
		return st.Name == "iq" && st.ID == id
	}); st.Type != "result" {
		t.Fatalf("publishing the device list: %s %s", st.Type, st.Error)
	}
}

// publishBundle publishes the peer's bundle (XEP-0384 v0.3 §4.3) on the
// account's PEP service, readable by anyone, and deletes it at the end.
func publishBundle(t *testing.T, c *testsvc.Client, p *omemoPeer) {
	t.Helper()
	b, err := p.m.Bundle(context.Background(), p.key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := xml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	node := fmt.Sprintf("%s%d", omemo.NodeBundlesPrefix, p.dev)
	id := "pub-" + randomHex(6)
	c.SendRaw(fmt.Sprintf(`<iq type="set" id="%s"><pubsub xmlns="http://jabber.org/protocol/pubsub">`+
		`<publish node="%s"><item id="current">%s</item></publish>`+
		`<publish-options><x xmlns="jabber:x:data" type="submit">`+
		`<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>`+
		`<field var="pubsub#access_model"><value>open</value></field></x></publish-options></pubsub></iq>`, id, node, raw))
	if st := c.WaitStanza(15*time.Second, "the bundle's publish result", func(st testsvc.Stanza) bool {
		return st.Name == "iq" && st.ID == id
	}); st.Type != "result" {
		t.Fatalf("publishing the bundle: %s %s", st.Type, st.Error)
	}
	t.Cleanup(func() {
		c.SendRaw(fmt.Sprintf(`<iq type="set" id="del-%s"><pubsub xmlns="http://jabber.org/protocol/pubsub#owner"><delete node="%s"/></pubsub></iq>`,
			randomHex(6), node))
	})
}

func deleteDeviceList(c *testsvc.Client) {
	c.SendRaw(fmt.Sprintf(`<iq type="set" id="del-%s"><pubsub xmlns="http://jabber.org/protocol/pubsub#owner"><delete node="%s"/></pubsub></iq>`,
		randomHex(6), omemo.NodeDeviceList))
}

// waitOMEMOReply waits for an encrypted message from addrJID that peer
// can open and that contains want; it returns the message.
func waitOMEMOReply(c *testsvc.Client, peer *omemoPeer, addrJID, want string) testsvc.Message {
	peer.t.Helper()
	return c.WaitMessage(30*time.Second, fmt.Sprintf("an answer with %q that device %d can open", want, peer.dev), func(m testsvc.Message) bool {
		if !strings.HasPrefix(m.From, addrJID) {
			return false
		}
		text, ok := peer.open(addrJID, m)
		return ok && strings.Contains(text, want)
	})
}

// TestOMEMOResentAndSecondDevice: a field worker's client resends an
// encrypted report whose acknowledgement it missed (XEP-0198 resends the
// stanza as it was, with the same ciphertext), and a second device of the
// same account (a tablet next to the phone) writes after the first
// report was answered.
//
// Before: the resent message was refused by the Signal session as a
// duplicate and the worker was told „konnte nicht gelesen werden und
// wurde NICHT als Meldung angenommen“ about a report that was filed; and
// the tablet's report was answered encrypted only to the phone (the
// device list read for the first answer was cached for 5 minutes), so
// the device that wrote could not read its case number.
func TestOMEMOResentAndSecondDevice(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	user := testsvc.User(t)
	c := testsvc.Login(t, user)
	deleteDeviceList(c)
	t.Cleanup(func() { deleteDeviceList(c) })
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, user.JID, user.JID)
	publishDeviceList(t, c, phone.dev)

	text := "Ampel ausgefallen verschluesselt " + s.suffix
	id := "msg-" + randomHex(8)
	stanza := omemoStanza(t, addrJID, id, phone.encrypt(m, "tiefbau", addrJID, text))
	c.SendRaw(stanza)
	caseNo, _ := s.waitReport(text)
	reply := waitOMEMOReply(c, phone, addrJID, caseNo)
	if strings.Contains(reply.Body, caseNo) {
		t.Errorf("the answer to an encrypted report carries the case number in the clear: %q", reply.Body)
	}
	if n := s.count("reports WHERE body LIKE '%OMEMO encrypted message%' OR body LIKE '%conversations.im%'"); n != 0 {
		t.Errorf("%d reports hold the client's fallback sentence", n)
	}

	// The same stanza again, as a client resends it.
	c.SendRaw(stanza)
	deadline := time.Now().Add(30 * time.Second)
	for {
		receipts := 0
		for _, msg := range c.Messages() {
			if msg.Received != nil && msg.Received.ID == id {
				receipts++
			}
			if strings.Contains(msg.Body, "NICHT") {
				t.Fatalf("a resent, already filed report was answered %q", msg.Body)
			}
		}
		if receipts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resent report got %d receipts, want 2 (it is filed)", receipts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := s.count("reports WHERE body LIKE '%Ampel ausgefallen verschluesselt%'"); n != 1 {
		t.Errorf("%d reports from one message sent twice, want 1", n)
	}

	// A tablet of the same account appears: its client publishes the new
	// list, then writes. Its answer must be readable on the tablet (and
	// the phone, as every listed device).
	tablet := newOMEMOPeer(s, m, user.JID, user.JID+"#tablet")
	publishDeviceList(t, c, phone.dev, tablet.dev)
	text2 := "Zweite Meldung vom Tablet " + s.suffix
	c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), tablet.encrypt(m, "tiefbau", addrJID, text2)))
	caseNo2, _ := s.waitReport(text2)
	answer := waitOMEMOReply(c, tablet, addrJID, caseNo2)
	if _, ok := phone.open(addrJID, answer); !ok {
		t.Error("the answer to the tablet's report is not readable on the phone, which the device list also names")
	}

	// The phone is lost: the worker removes it from the device list. The
	// next answer is not encrypted to it (before: the list read for the
	// previous answer was used for five minutes).
	publishDeviceList(t, c, tablet.dev)
	time.Sleep(2500 * time.Millisecond)
	text3 := "Dritte Meldung nach Verlust des Telefons " + s.suffix
	c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), tablet.encrypt(m, "tiefbau", addrJID, text3)))
	caseNo3, _ := s.waitReport(text3)
	third := waitOMEMOReply(c, tablet, addrJID, caseNo3)
	for _, k := range third.OMEMO.Header.Keys {
		if k.RID == phone.dev {
			t.Errorf("the answer after the phone left the device list is still encrypted to it")
		}
	}
}

// TestOMEMOFileLinksBounded: aesgcm:// links (XEP-0454) in an encrypted
// report cost downloads only within the limits of every attachment.
//
// Before: a link repeated twenty times was downloaded and stored twenty
// times (one report with twenty copies of the photo); a message with 21
// links was downloaded completely before intake refused it for too many
// attachments; and files were downloaded (and stored, never referenced)
// before the sender's rate limit refused the message.
func TestOMEMOFileLinksBounded(t *testing.T) {
	photo := testJPEG(t)
	sealed, err := omemo.SealFile(rand.Reader, photo)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(sealed.Ciphertext)
	}))
	t.Cleanup(srv.Close)
	s := startStack(t, map[string]string{
		"FIELDGATE_OMEMO_KEY":                   randomHex(32),
		"FIELDGATE_XMPP_UPLOAD_HOSTS":           srv.URL,
		"FIELDGATE_XMPP_SENDER_BURST":           "2",
		"FIELDGATE_XMPP_SENDER_RATE_PER_MINUTE": "1",
	})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	host := strings.TrimPrefix(srv.URL, "http://")
	link := func(n int) string {
		l, err := sealed.Link(fmt.Sprintf("http://%s/up/%d/foto.jpg", host, n))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	user := testsvc.User(t)
	c := testsvc.Login(t, user)
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, user.JID, user.JID)
	send := func(text string) {
		c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), phone.encrypt(m, "tiefbau", addrJID, text)))
	}

	// 21 files: more than a report may have; refused before downloading.
	var many []string
	for i := range 21 {
		many = append(many, link(i))
	}
	send("Viele Fotos " + s.suffix + "\n" + strings.Join(many, "\n"))
	// The refusal goes encrypted, as every answer to an encrypted message.
	waitOMEMOReply(c, phone, addrJID, "Zu viele Anhänge: 21, höchstens 20")
	if n := hits.Load(); n != 0 {
		t.Errorf("%d downloads for a message refused for its 21 files, want 0", n)
	}

	// One photo, its link repeated twenty times: one download, one file.
	text := "Ein Foto zwanzigmal " + s.suffix
	send(text + "\n" + strings.Repeat(link(100)+"\n", 20))
	caseNo, media := s.waitReport(text)
	waitOMEMOReply(c, phone, addrJID, caseNo) // the client reads the answer: its session is established
	if media != 1 || hits.Load() != 1 {
		t.Errorf("one link repeated: %d files stored, %d downloads; want 1 and 1", media, hits.Load())
	}

	// Burst 2, one used: of three more messages with a photo each, one is
	// taken; the two the rate limit refuses download nothing.
	before := hits.Load()
	for i := range 3 {
		send(fmt.Sprintf("Flut %d %s\n%s", i, s.suffix, link(200+i)))
	}
	s.waitReport("Flut 0 " + s.suffix)
	c.WaitMessage(30*time.Second, "the rate limit's refusal", func(m testsvc.Message) bool {
		return m.Error != nil && m.Error.Type == "wait"
	})
	time.Sleep(2 * time.Second) // the third message's fate
	if n := hits.Load() - before; n != 1 {
		t.Errorf("%d downloads for three messages of which the rate limit let one through, want 1", n)
	}
	if n := s.count("media_objects"); n != 2 {
		t.Errorf("%d media objects, want 2", n)
	}
}

// TestOMEMOEncryptionFallbackMarkup: a client that marks its fallback
// body as such (XEP-0428 <fallback for="eu.siacs.conversations.axolotl"/>,
// without a range: the whole body) has its report filed with the
// decrypted text, which the markup does not refer to.
//
// Before: the markup was applied to the plaintext, which left the report
// empty; the message was dropped silently like a chat state.
func TestOMEMOEncryptionFallbackMarkup(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	user := testsvc.User(t)
	c := testsvc.Login(t, user)
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, user.JID, user.JID)
	text := "Baum auf Fahrbahn " + s.suffix
	c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), phone.encrypt(m, "tiefbau", addrJID, text),
		`<fallback xmlns="urn:xmpp:fallback:0" for="eu.siacs.conversations.axolotl"/>`))
	caseNo, _ := s.waitReport(text)
	waitOMEMOReply(c, phone, addrJID, caseNo)
}

// TestOMEMOAnswerAfterSessionLost: a field worker wrote encrypted; then
// the gateway's session with their device is gone (an admin pinned a
// verified new key with `fieldgate omemo trust`, which drops the session
// on the old one; or it was lost). A team member's answer to the case,
// which may concern a child, must reach the worker encrypted, from a new
// session built on the bundle the worker's client publishes.
//
// Before: without a session the answer went in the clear, with the
// team's text in the body.
func TestOMEMOAnswerAfterSessionLost(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	user := testsvc.User(t)
	c := testsvc.Login(t, user)
	deleteDeviceList(c)
	t.Cleanup(func() { deleteDeviceList(c) })
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, user.JID, user.JID)
	publishDeviceList(t, c, phone.dev)
	publishBundle(t, c, phone)

	text := "Schaden am Spielplatz " + s.suffix
	c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), phone.encrypt(m, "tiefbau", addrJID, text)))
	caseNo, _ := s.waitReport(text)
	waitOMEMOReply(c, phone, addrJID, caseNo)

	if n := s.count(fmt.Sprintf("omemo_sessions WHERE address = 'tiefbau' AND jid = '%s'", user.JID)); n != 1 {
		t.Fatalf("%d sessions with the worker, want 1", n)
	}
	pool, err := pgxpool.New(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `DELETE FROM omemo_sessions WHERE address = 'tiefbau' AND jid = $1`, user.JID); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	if err := run(context.Background(), []string{"token", "create", "--name", "omemo9-dispatcher", "--role", "dispatcher"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatalf("token create: %v", err)
	}
	answer := "Rueckfrage zum Spielplatz " + s.suffix
	r := s.do("POST", "/api/v1/incidents/"+caseNo+"/reply", strings.TrimSpace(out.String()), "application/json",
		strings.NewReader(`{"text":"`+answer+`"}`), nil)
	if r.Status/100 != 2 {
		t.Fatalf("reply: %d %s", r.Status, r.Body)
	}
	got := waitOMEMOReply(c, phone, addrJID, answer)
	for _, msg := range c.Messages() {
		if strings.Contains(msg.Body, "Rueckfrage") {
			t.Fatalf("the team's answer went in the clear: %q", msg.Body)
		}
	}
	if got.OMEMO == nil || len(got.OMEMO.Header.Keys) == 0 || !got.OMEMO.Header.Keys[0].PreKey {
		t.Error("the answer should start a new session (a pre-key message)")
	}
}

// TestOMEMOReceiptLatency measures, never asserts: the time from sending
// a report to reading its receipt, encrypted (the test's OMEMO device
// encrypts, the gateway decrypts, files, and encrypts the receipt, which
// the device decrypts) against plaintext from another account in the
// same run (the floor), median of seven each, logged as a ratio.
func TestOMEMOReceiptLatency(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	worker, plain := testsvc.User(t), testsvc.User(t)
	c, cp := testsvc.Login(t, worker), testsvc.Login(t, plain)
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, worker.JID, worker.JID)
	const n = 7
	var enc, clear []time.Duration
	for i := range n {
		text := fmt.Sprintf("Messung verschluesselt %d %s", i, s.suffix)
		start := time.Now()
		c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), phone.encrypt(m, "tiefbau", addrJID, text)))
		c.WaitMessage(30*time.Second, "the encrypted receipt", func(msg testsvc.Message) bool {
			got, ok := phone.open(addrJID, msg) // an answer opens once: older ones fail now
			return ok && strings.Contains(got, "Meldung 20")
		})
		enc = append(enc, time.Since(start))
		seen := len(cp.Messages())
		start = time.Now()
		cp.Chat(addrJID, fmt.Sprintf("Messung Klartext %d %s", i, s.suffix))
		deadline := time.Now().Add(30 * time.Second)
		for {
			all := cp.Messages()
			if slices.ContainsFunc(all[seen:], func(msg testsvc.Message) bool { return strings.Contains(msg.Body, "Meldung 20") }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no plaintext receipt")
			}
			time.Sleep(2 * time.Millisecond)
		}
		clear = append(clear, time.Since(start))
	}
	slices.Sort(enc)
	slices.Sort(clear)
	t.Logf("report to receipt, median of %d: encrypted %v, plaintext %v (ratio %.2f)", n, enc[n/2], clear[n/2],
		float64(enc[n/2])/float64(clear[n/2]))
}

// TestOMEMOTrustAsTyped: an admin pins a verified key typing the address
// and the JID as people write them ("Tiefbau", "Anna@Stadt.localhost");
// the pin lands where the gateway reads it. A JID with a resource is
// refused with a clear error instead of a pin nobody reads.
//
// Before: "Tiefbau" got an OMEMO device (keys, 100 pre-keys) of its own
// and the pin was stored under it; the gateway, which keys the address
// "tiefbau", kept trusting the first key it had seen. "anna@…/phone" was
// pinned under the full JID, also never read.
func TestOMEMOTrustAsTyped(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	s.omemoDevice("tiefbau")
	fp := strings.Repeat("ab", 32)
	trust := func(args ...string) error {
		var out strings.Builder
		return run(context.Background(), append([]string{"omemo", "trust"}, args...), s.getenv, &out, testWriter{t})
	}
	if err := trust("Tiefbau", "Anna@Stadt.localhost", "4711", fp); err != nil {
		t.Fatalf("omemo trust: %v", err)
	}
	if n := s.count("omemo_devices WHERE address <> lower(address)"); n != 0 {
		t.Errorf("%d OMEMO devices created for an address as typed", n)
	}
	if n := s.count("omemo_identities WHERE address = 'tiefbau' AND jid = 'anna@stadt.localhost' AND device_id = 4711 AND pinned"); n != 1 {
		t.Errorf("the pin is not where the gateway reads it (%d rows)", n)
	}
	if err := trust("tiefbau", "anna@stadt.localhost/phone", "4711", fp); err == nil || !strings.Contains(err.Error(), "bare JID") {
		t.Errorf("a JID with a resource: %v, want a refusal naming the bare JID", err)
	}
	if n := s.count("omemo_identities WHERE jid LIKE '%/%'"); n != 0 {
		t.Errorf("%d pins under a full JID", n)
	}
}
