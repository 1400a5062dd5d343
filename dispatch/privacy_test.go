package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// unreachableMessenger records like recorder, but a 1:1 message to
// unreachable fails (that person's server is down).
type unreachableMessenger struct {
	recorder
	unreachable string
}

func (m *unreachableMessenger) SendChat(ctx context.Context, c dispatch.ChatMessage) error {
	if c.To == m.unreachable {
		return errors.New("remote server not found")
	}
	return m.recorder.SendChat(ctx, c)
}

// TestStoredAboutListsMessagesToTheSubject: a messenger reporter whose
// server is unreachable has their "Meldung … angenommen" waiting in
// chat_outbox with their JID and the text, and the on-call person's
// escalation alerts (with the report's summary) stay in the job queue's
// arguments for a day after they were sent. `privacy show` (StoredAbout)
// listed neither. Now both are in its messages.
func TestStoredAboutListsMessagesToTheSubject(t *testing.T) {
	pool := testsvc.Pool(t)
	const reporter = "auskunft@stadt.localhost"
	m := &unreachableMessenger{unreachable: reporter}
	// An hour behind: the escalation steps are due at once (TestEscalationLevels).
	behind := func() time.Time { return time.Now().Add(-time.Hour) }
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{Now: behind}})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: reporter,
		IdempotencyKey: "origin:auskunft-1", Text: "Ampel ausgefallen", Position: &dispatch.Position{Lat: 51.02, Lon: 7.59},
		PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the alert to eve", func() bool {
		_, c := m.snapshot()
		return chatsTo(c, "eve@stadt.localhost", "Eskalation Stufe 3") == 1
	})
	waitFor(t, "the reporter's reply handed to the queue", func() bool {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM chat_outbox WHERE to_jid = $1 AND handover_at IS NULL`, reporter).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})

	shown := func(subject string) (dispatch.PersonalData, string) {
		t.Helper()
		d, err := dispatch.StoredAbout(ctx, pool, subject)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return d, string(out)
	}
	d, out := shown("Auskunft@stadt.localhost/phone")
	if !strings.Contains(out, "Meldung "+r.CaseNumber+" angenommen") {
		t.Fatalf("privacy show of the reporter does not list the reply waiting for them:\n%s", out)
	}
	if len(d.Messages) != 1 || d.Messages[0].State != "unsent" || d.Messages[0].From != "tiefbau" {
		t.Errorf("reporter's messages %+v, want the one unsent reply from tiefbau", d.Messages)
	}
	d, out = shown("eve@stadt.localhost")
	if !strings.Contains(out, "Eskalation Stufe 3") {
		t.Fatalf("privacy show of the alerted team member does not list the alerts the queue keeps:\n%s", out)
	}
	for _, msg := range d.Messages {
		if msg.From != "tiefbau" || msg.State == "unsent" || !strings.Contains(msg.Text, r.CaseNumber) {
			t.Errorf("eve's message %+v, want an alert about %s from tiefbau, from the queue", msg, r.CaseNumber)
		}
	}
}

// TestRetentionDropsUnsentRepliesAfterADay: a reply whose queue job river
// gave up without running it (its process died during the last attempt:
// river's rescuer discards such a job, and only a run of it deletes the
// row) stayed in chat_outbox for good, with the reporter's JID and the
// text. Now retention deletes a message still unsent a day after it was
// written; a fresh one stays; the dry run counts.
func TestRetentionDropsUnsentRepliesAfterADay(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for _, c := range []struct {
		to string
		at time.Time
	}{{"old@stadt.localhost", now.Add(-25 * time.Hour)}, {"new@stadt.localhost", now.Add(-time.Hour)}} {
		if _, err := pool.Exec(ctx, `INSERT INTO chat_outbox (origin_id, from_addr, to_jid, body, created_at)
			VALUES ('fg-'||gen_random_uuid(), 'jugendamt', $1, 'Meldung 2026-000001 angenommen', $2)`, c.to, c.at); err != nil {
			t.Fatal(err)
		}
	}
	rt := dispatch.NewRetention(pool, nil, dispatch.RetentionConfig{}, func() time.Time { return now }, discard())
	dry, res := dryRunAndRun(t, rt)
	var left []string
	rows, err := pool.Query(ctx, `SELECT to_jid FROM chat_outbox ORDER BY to_jid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var to string
		if err := rows.Scan(&to); err != nil {
			t.Fatal(err)
		}
		left = append(left, to)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "new@stadt.localhost" {
		t.Errorf("after retention chat_outbox holds messages to %v, want only the fresh one to new@", left)
	}
	if dry.UnsentMessages != 1 || res.UnsentMessages != 1 {
		t.Errorf("dry run counted %d unsent messages, the run deleted %d; want 1 and 1", dry.UnsentMessages, res.UnsentMessages)
	}
}

// dryRunAndRun runs rt as a dry run, then for real, and returns both
// results.
func dryRunAndRun(t *testing.T, rt *dispatch.Retention) (dry, res dispatch.RetentionResult) {
	t.Helper()
	var err error
	if dry, err = rt.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if res, err = rt.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	return dry, res
}
