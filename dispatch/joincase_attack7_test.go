package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestJoinCaseFindsTheLatestMessagesCase: the case a messenger message is
// grouped against is the one of the sender's latest message within the
// window (joinCase, one step back along reports_sender_idx), whatever
// order the cases were opened in: a part added to the sender's older case
// after the newer one was opened (a follow-up) makes the older case the
// one to join; a follow-up on someone else's case makes that one; a
// merged latest case is closed (not joined, named); a case whose
// messages were deleted (retention) is not considered.
func TestJoinCaseFindsTheLatestMessagesCase(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}})
	start(t, svc)
	ctx := context.Background()
	// Each sub-test's places lie 70 m east of the previous one's (no
	// report is a duplicate of another sub-test's): p1, p2 1 km north of
	// it, p3 700 m east of it.
	var p1, p2, p3 *dispatch.Position
	places := func(k int) {
		lon := 7.59194 + float64(k)*0.001
		p1 = &dispatch.Position{Lat: 51.0251, Lon: lon}
		p2 = &dispatch.Position{Lat: 51.0341, Lon: lon}
		p3 = &dispatch.Position{Lat: 51.0251, Lon: lon + 0.01}
	}
	// followUp adds a processed follow-up of sender to inc, received now:
	// the sender's latest message.
	followUp := func(inc dispatch.Receipt, sender string, pos *dispatch.Position) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO reports (id, incident_id, case_number, kind, channel, address, sender, body, lat, lon, received_at, processed_at)
			VALUES (gen_random_uuid(), $1, $2, 'followup', 'xmpp', 'tiefbau', $3, 'Nachtrag', $4, $5, now(), now())`,
			inc.IncidentID, inc.CaseNumber, sender, pos.Lat, pos.Lon); err != nil {
			t.Fatal(err)
		}
	}
	notJoined := func(r dispatch.Receipt) (reason, prev string) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT detail->>'grouping', coalesce(detail->>'not_joined','') FROM incident_events
			WHERE incident_id = $1 AND kind = 'received'`, r.IncidentID).Scan(&reason, &prev); err != nil {
			t.Fatal(err)
		}
		return reason, prev
	}

	t.Run("a part of the older case last", func(t *testing.T) {
		places(0)
		w := sender{t, svc, "jc1@stadt.localhost", "tiefbau"}
		a := w.send("jc1a", "Schlagloch", p1)
		b := w.send("jc1b", "Gullydeckel fehlt", p2)
		if b.Mode != dispatch.ModeNew {
			t.Fatalf("set-up: the far report joined: %+v", b)
		}
		followUp(a, w.from, p1)
		c := w.send("jc1c", "noch tiefer als gedacht", p1)
		if c.Mode == dispatch.ModeNew || c.CaseNumber != a.CaseNumber {
			t.Errorf("a message at the older case's place after its latest part: %+v, want it joined to %s (not %s)", c, a.CaseNumber, b.CaseNumber)
		}
	})
	t.Run("a follow-up on someone else's case last", func(t *testing.T) {
		places(1)
		w := sender{t, svc, "jc2@stadt.localhost", "tiefbau"}
		other := sender{t, svc, "jc2-other@stadt.localhost", "tiefbau"}.send("jc2o", "Baustelle ohne Absperrung", p3)
		w.send("jc2a", "Schlagloch", p1)
		followUp(other, w.from, p3)
		c := w.send("jc2c", "Absperrung fehlt immer noch", p3)
		if c.Mode == dispatch.ModeNew || c.CaseNumber != other.CaseNumber {
			t.Errorf("a message at the place of the case last added to: %+v, want it joined to %s", c, other.CaseNumber)
		}
	})
	t.Run("a merged case last", func(t *testing.T) {
		places(2)
		w := sender{t, svc, "jc3@stadt.localhost", "tiefbau"}
		w.send("jc3a", "Schlagloch", p1)
		b := w.send("jc3b", "Gullydeckel fehlt", p2)
		if _, err := pool.Exec(ctx, `UPDATE incidents SET state = 'merged' WHERE id = $1`, b.IncidentID); err != nil {
			t.Fatal(err)
		}
		c := w.send("jc3c", "Gullydeckel immer noch weg", p2)
		if reason, prev := notJoined(c); c.Mode != dispatch.ModeNew || reason != "case_closed" || prev != b.CaseNumber {
			t.Errorf("a message after the latest case was merged: %+v, grouping %q, not joined %q; want a new case, %s closed", c, reason, prev, b.CaseNumber)
		}
	})
	t.Run("the latest case's messages deleted", func(t *testing.T) {
		places(3)
		w := sender{t, svc, "jc4@stadt.localhost", "tiefbau"}
		a := w.send("jc4a", "Schlagloch", p1)
		b := w.send("jc4b", "Gullydeckel fehlt", p2)
		time.Sleep(300 * time.Millisecond) // its post and reply are out
		if _, err := pool.Exec(ctx, `DELETE FROM reports WHERE incident_id = $1`, b.IncidentID); err != nil {
			t.Fatal(err)
		}
		c := w.send("jc4c", "Gullydeckel immer noch weg", p2)
		if reason, prev := notJoined(c); c.Mode != dispatch.ModeNew || reason != "far_position" || prev != a.CaseNumber {
			t.Errorf("a message after the latest case's messages were deleted: %+v, grouping %q, not joined %q; want a new case, far from %s", c, reason, prev, a.CaseNumber)
		}
	})
}
