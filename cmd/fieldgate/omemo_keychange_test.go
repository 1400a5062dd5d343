package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestOMEMOKeyChangedAnswer: a worker's device shows an identity key other
// than the one the gateway trusts for it (here an admin pinned another
// fingerprint for that device id; in the field, a reinstalled messenger
// that kept its device id). Nothing is filed, and the worker is told what
// happened and which fingerprint to show the town's IT, instead of the
// generic "renegotiate" text that could not help: the gateway keeps
// refusing that key until it is pinned.
func TestOMEMOKeyChangedAnswer(t *testing.T) {
	s := startStack(t, map[string]string{"FIELDGATE_OMEMO_KEY": randomHex(32)})
	addrJID := "tiefbau@" + s.env["FIELDGATE_XMPP_DOMAIN"]
	user := testsvc.User(t)
	c := testsvc.Login(t, user)
	s.omemoDevice("tiefbau")
	m := s.omemoManager()
	phone := newOMEMOPeer(s, m, user.JID, user.JID)
	fp, err := m.Fingerprint(context.Background(), phone.key)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"omemo", "trust", "tiefbau", user.JID, strconv.FormatUint(uint64(phone.dev), 10), strings.Repeat("ab", 32)},
		s.getenv, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	text := "Kind allein am Bahnhof " + s.suffix
	c.SendRaw(omemoStanza(t, addrJID, "msg-"+randomHex(8), phone.encrypt(m, "tiefbau", addrJID, text)))
	got := c.WaitMessage(20*time.Second, "the key-changed answer", func(msg testsvc.Message) bool {
		return strings.Contains(msg.Body, "Der Schlüssel Ihres Geräts "+strconv.FormatUint(uint64(phone.dev), 10)+" hat sich geändert")
	})
	if !strings.Contains(got.Body, fp) || !strings.Contains(got.Body, "NICHT angenommen") {
		t.Errorf("answer %q does not name the device's fingerprint %s or say that nothing was accepted", got.Body, fp)
	}
	if strings.Contains(got.Body, "Kind allein") {
		t.Errorf("the answer repeats the report: %q", got.Body)
	}
	time.Sleep(500 * time.Millisecond)
	if n := s.count("reports"); n != 0 {
		t.Errorf("%d reports filed from a message whose key is not trusted", n)
	}
}
