package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestXMPPPresenceFloodLimited floods a function address over real
// Prosody as an attacker would, with xmpp.sender_burst 3: a hundred
// subscriptions get at most three device-list pushes (presence is under
// the per-sender limit of messages), a hundred presences with ever new
// entity capabilities (XEP-0115) make the gateway ask at most three
// disco#info questions, and a sender who is no subscriber is asked
// none; a report sent afterwards by another sender is still taken.
func TestXMPPPresenceFloodLimited(t *testing.T) {
	s := startStack(t, map[string]string{
		"FIELDGATE_OMEMO_KEY":         randomHex(32),
		"FIELDGATE_XMPP_SENDER_BURST": "3", "FIELDGATE_XMPP_SENDER_RATE_PER_MINUTE": "1",
	})
	addr := s.address("tiefbau")
	flood := testsvc.Login(t, testsvc.User(t))
	for i := range 100 {
		t0 := time.Now()
		if err := flood.TrySendRaw(`<presence type="subscribe" to="` + addr + `"/>`); err != nil {
			t.Fatalf("subscription %d after %v: %v", i, time.Since(t0), err)
		}
	}
	flood.WaitMessage(30*time.Second, "a device-list push", func(m testsvc.Message) bool { return deviceListOf(m, addr) != 0 })

	prober := testsvc.Login(t, testsvc.User(t))
	prober.AdvertiseFeatures("http://jabber.org/protocol/disco#info", "eu.siacs.conversations.axolotl.devicelist+notify")
	prober.SendRaw(`<presence type="subscribe" to="` + addr + `"/>`)
	prober.WaitMessage(30*time.Second, "the device list on subscription", func(m testsvc.Message) bool { return deviceListOf(m, addr) != 0 })
	sacct := testsvc.User(t)
	stranger := testsvc.Login(t, sacct)
	stranger.AdvertiseFeatures("http://jabber.org/protocol/disco#info")
	// Test accounts are reused: end a subscription an earlier test left in
	// the roster (its server probed the address at login).
	stranger.SendRaw(`<presence type="unsubscribe" to="` + addr + `"/>`)
	for i := range 100 {
		for _, c := range []*testsvc.Client{prober, stranger} {
			c.SendRaw(fmt.Sprintf(`<presence to="%s"><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://evil.example/c" ver="v%d-%s"/></presence>`, addr, i, randomHex(4)))
		}
	}
	prober.WaitStanza(20*time.Second, "the gateway's question for the client's features", func(st testsvc.Stanza) bool {
		return st.Name == "iq" && st.Type == "get" && st.From == addr
	})

	// Everything sent has arrived and been handled once a report of
	// another sender has its case (the flood must not hold it up either).
	w := testsvc.User(t)
	wc := testsvc.Login(t, w)
	wc.SendReport(addr, "", "Schlagloch nach der Flut geo:51.0251,7.5919", "")
	waitCases(t, s.db, w.JID, 1, nil)
	time.Sleep(2 * time.Second)

	pushes := 0
	for _, m := range flood.Messages() {
		if deviceListOf(m, addr) != 0 {
			pushes++
		}
	}
	if pushes < 1 || pushes > 3 {
		t.Errorf("100 subscriptions got %d device-list pushes, want 1 to 3 (the burst)", pushes)
	}
	questions := func(c *testsvc.Client) int {
		n := 0
		for _, st := range c.Stanzas() {
			if st.Name == "iq" && st.Type == "get" && st.From == addr {
				n++
			}
		}
		return n
	}
	if n := questions(prober); n > 3 {
		t.Errorf("100 presences with new caps got %d disco#info questions, want at most 3 (the burst)", n)
	}
	if n := questions(stranger); n != 0 {
		t.Errorf("a sender who is no subscriber was asked %d disco#info questions", n)
	}
	if n := s.count("omemo_subscribers WHERE address = 'tiefbau' AND jid = '" + sacct.JID + "'"); n != 0 {
		t.Errorf("a sender who unsubscribed has a subscriber row")
	}
	for _, m := range flood.Messages() {
		if m.Type == "chat" && strings.Contains(m.Body, "Zu viele") {
			t.Errorf("presence refusals are answered (that doubles the flood): %q", m.Body)
		}
	}
}
