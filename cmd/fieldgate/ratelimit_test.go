package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestXMPPRateLimitTellsOnce: with xmpp.sender_burst 3, a field worker's
// burst of 6 messages over real Prosody gets 3 cases; each of the other 3
// messages gets an error stanza (type wait, resource-constraint, so the
// messenger marks it as not delivered), and the sender one chat reply in German that
// names the span not taken, not one per message.
func TestXMPPRateLimitTellsOnce(t *testing.T) {
	s := startStack(t, map[string]string{
		"FIELDGATE_XMPP_SENDER_BURST": "3", "FIELDGATE_XMPP_SENDER_RATE_PER_MINUTE": "1",
		"FIELDGATE_REPORTS_DUPLICATE_DISTANCE_M": "-1",
	})
	acct := testsvc.User(t)
	w := testsvc.Login(t, acct)
	to := s.address("tiefbau")
	var ids []string
	for i := range 6 {
		// "neu" keeps each message a case of its own.
		ids = append(ids, w.SendReport(to, "", "neu Schaden Nummer "+string(rune('A'+i))+" geo:51.0251,7.5919", ""))
	}
	refused := map[string]bool{}
	waitMsg(t, w, "the span reply", func(m testsvc.Message) bool {
		return m.Type == "chat" && strings.Contains(m.Body, "Zu viele Nachrichten in kurzer Zeit") && strings.Contains(m.Body, "erneut")
	})
	deadline := time.Now().Add(30 * time.Second)
	for len(refused) < 3 && time.Now().Before(deadline) {
		for _, m := range w.Messages() {
			if m.Type == "error" && m.Error != nil && m.Error.Type == "wait" && strings.Contains(m.Error.Text, "Zu viele Nachrichten") {
				refused[m.ID] = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range ids[:3] {
		if refused[id] {
			t.Errorf("message %s within the burst was refused", id)
		}
	}
	for _, id := range ids[3:] {
		if !refused[id] {
			t.Errorf("message %s over the burst got no error stanza (refused: %v)", id, refused)
		}
	}
	cs := waitCases(t, s.db, acct.JID, 3, nil)
	if len(cs) != 3 {
		t.Errorf("cases %+v, want the 3 messages of the burst", cs)
	}
	time.Sleep(time.Second) // a second explanation would have arrived by now
	n := 0
	for _, m := range w.Messages() {
		if m.Type == "chat" && strings.Contains(m.Body, "Zu viele Nachrichten") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d explanations for one hold, want 1", n)
	}
}
