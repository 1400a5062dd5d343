package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestXMPPRateLimitManyResources: one account floods an address from
// three resources at once (xmpp.sender_burst 3, real Prosody). The limit
// is the account's, not each resource's: three cases in all, every other
// message refused with an error stanza, and one explanation for the
// hold, not one per resource or per message.
func TestXMPPRateLimitManyResources(t *testing.T) {
	s := startStack(t, map[string]string{
		"FIELDGATE_XMPP_SENDER_BURST": "3", "FIELDGATE_XMPP_SENDER_RATE_PER_MINUTE": "1",
		"FIELDGATE_REPORTS_DUPLICATE_DISTANCE_M": "-1",
	})
	acct := testsvc.User(t)
	clients := []*testsvc.Client{testsvc.Login(t, acct), testsvc.Login(t, acct), testsvc.Login(t, acct)}
	to := s.address("tiefbau")
	for i := range 4 {
		for j, c := range clients {
			c.SendReport(to, "", fmt.Sprintf("neu Schaden %d-%d geo:51.0251,7.5919", i, j), "")
		}
	}
	cs := waitCases(t, s.db, acct.JID, 3, nil)
	refused := func() (errs, explanations int) {
		for _, c := range clients {
			for _, m := range c.Messages() {
				switch {
				case m.Type == "error" && m.Error != nil && m.Error.Type == "wait":
					errs++
				case m.Type == "chat" && strings.Contains(m.Body, "Zu viele Nachrichten"):
					explanations++
				}
			}
		}
		return errs, explanations
	}
	deadline := time.Now().Add(30 * time.Second)
	for e, _ := refused(); e < 9 && time.Now().Before(deadline); e, _ = refused() {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a second explanation would have arrived by now
	errs, explanations := refused()
	if len(cs) != 3 || errs != 9 {
		t.Errorf("%d cases and %d refusals for 12 messages, want 3 and 9", len(cs), errs)
	}
	if explanations != 1 {
		t.Errorf("%d explanations for one hold over three resources, want 1", explanations)
	}
}
