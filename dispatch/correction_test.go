package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// An XEP-0308 correction belongs to the case of the message it corrects,
// found by that message's id: after the part window has passed, and after
// somebody took the case (the room gets it as an addition), it neither
// opens a case of its own (which would have asked the reporter for a
// location, or been posted as a second case) nor is lost.
func TestCorrectionJoinsTheCorrectedCase(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{AssemblyWindow: 200 * time.Millisecond}})
	start(t, svc)
	ctx := context.Background()
	send := func(key, corrects, text string) dispatch.Receipt {
		t.Helper()
		in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "max@stadt.localhost", Text: text,
			IdempotencyKey: "origin:" + key, Position: &dispatch.Position{Lat: 51.0250, Lon: 7.5900}, PositionSource: dispatch.SourceGeoURI}
		if corrects != "" {
			in.Position, in.PositionSource = nil, ""
			in.Attributes = map[string]string{"xmpp_corrects": corrects}
		}
		r, err := svc.Intake(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := send("m1", "", "Schlagloch vor Nr. 14")
	waitFor(t, "the first post", func() bool {
		_, evs := events(t, svc, first)
		return countEvents(evs, "posted") > 0
	})
	time.Sleep(300 * time.Millisecond) // the part window has passed

	fix := send("m2", "m1", "✏️ Korrektur: Schlagloch vor Nr. 41")
	if fix.CaseNumber != first.CaseNumber {
		t.Errorf("a correction after the part window opened case %s, want it in %s", fix.CaseNumber, first.CaseNumber)
	}
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: first.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}); err != nil {
		t.Fatal(err)
	}
	again := send("m3", "m1", "✏️ Korrektur: Schlagloch vor Nr. 43")
	if again.CaseNumber != first.CaseNumber {
		t.Errorf("a correction of a taken case opened case %s, want it in %s", again.CaseNumber, first.CaseNumber)
	}
	waitFor(t, "the correction as an addition in the room", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, roomOrdnung, "Nr. 43") >= 1
	})
	inc, evs := events(t, svc, first)
	if inc.State != dispatch.StateAcknowledged || countEvents(evs, "part_split") != 0 {
		t.Errorf("after the corrections: state %s, events %v", inc.State, evs)
	}
	var cases int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT incident_id) FROM reports WHERE sender = 'max@stadt.localhost'`).Scan(&cases); err != nil || cases != 1 {
		t.Errorf("max's reports are in %d cases, want 1 (%v)", cases, err)
	}
	// A correction of a message fieldgate never had (or another sender's)
	// is a message like any other.
	other := send("m4", "unknown-id", "✏️ Korrektur: Baum umgestürzt")
	if other.CaseNumber == first.CaseNumber {
		t.Errorf("a correction of an unknown message joined the taken case %s", first.CaseNumber)
	}
}
