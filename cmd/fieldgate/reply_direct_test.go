package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestMessengerRepliesWithoutTheQueue: a field worker on a real c2s
// session files a report and then a part of it. Both replies come from
// the function address the worker wrote to, "angenommen" before "hinzugefügt",
// each with an XEP-0359 origin-id equal to its message id (the id a
// re-send after a crash would carry again) and an XEP-0184 receipt request;
// the worker's own messages get their receipts. Neither reply went
// through the job queue (no chat job), and nothing is left in chat_outbox.
func TestMessengerRepliesWithoutTheQueue(t *testing.T) {
	s := xmppStack(t, nil)
	acct := testsvc.User(t)
	since := time.Now()
	caseNo, reporter := s.fileCaseAs(t, acct, "Ampel dunkel geo:51.0251,7.5921")
	reporter.SendReport(s.address("tiefbau"), "part-1", "an der Kreuzung Nordstraße", "")
	reporter.WaitMessage(30*time.Second, "the part's reply", func(m testsvc.Message) bool {
		return strings.HasPrefix(m.From, s.address("tiefbau")) && strings.Contains(m.Body, "Zu Meldung "+caseNo+" hinzugefügt")
	})
	var replies []testsvc.Message
	receipts := 0
	for _, m := range reporter.Messages() {
		if !strings.HasPrefix(m.From, s.address("tiefbau")) {
			continue
		}
		if m.Received != nil {
			receipts++
		}
		if strings.Contains(m.Body, caseNo) {
			replies = append(replies, m)
		}
	}
	if len(replies) != 2 || !strings.Contains(replies[0].Body, "angenommen") || !strings.Contains(replies[1].Body, "hinzugefügt") {
		t.Fatalf("the worker read %+v, want \"angenommen\" and then \"hinzugefügt\"", replies)
	}
	for _, m := range replies {
		if m.OriginID == nil || m.OriginID.ID != m.ID || !strings.HasPrefix(m.ID, "fg-") {
			t.Errorf("reply %q: id %q, origin-id %+v; want an origin-id equal to the id", m.Body, m.ID, m.OriginID)
		}
	}
	if receipts < 2 {
		t.Errorf("%d receipts for the worker's two messages", receipts)
	}
	var jobs, left int
	if err := s.query(`SELECT count(*) FROM river_job WHERE kind IN ('chat_message', 'chat_outbox') AND created_at >= $1`, since).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		var list string
		_ = s.query(`SELECT string_agg(kind || ' ' || state || ' ' || left(args::text, 120), E'\n') FROM river_job
			WHERE kind IN ('chat_message', 'chat_outbox') AND created_at >= $1`, since).Scan(&list)
		t.Errorf("%d chat jobs, want none: the replies go out right after their commits:\n%s", jobs, list)
	}
	if err := s.query(`SELECT count(*) FROM chat_outbox`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d messages left in chat_outbox", left)
	}
}
