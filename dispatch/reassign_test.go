package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

const (
	roomOrdnung = "ordnung@conference.stadt.localhost"
	roomGruen   = "gruen@conference.stadt.localhost"
)

// xmppReport files a report over XMPP (assembly disabled in these tests)
// and waits until it is posted.
func xmppReport(t *testing.T, svc *dispatch.Service, rec *recorder, sender, text string, pos *dispatch.Position) dispatch.Receipt {
	t.Helper()
	in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: sender, Text: text, Position: pos}
	if pos != nil {
		in.PositionSource = dispatch.SourceGeoURI
	}
	r, err := svc.Intake(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "processing of "+r.CaseNumber, func() bool {
		inc, evs := events(t, svc, r)
		return inc.State == dispatch.StateMerged || countEvents(evs, "posted") > 0
	})
	return r
}

func TestReassign(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	r := xmppReport(t, svc, rec, "max@stadt.localhost", "Schlagloch, eigentlich ein umgestürzter Baum", &dispatch.Position{Lat: 51.03, Lon: 7.6})
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}); err != nil {
		t.Fatal(err)
	}

	cmd := dispatch.ReassignCommand{Ref: r.CaseNumber, Team: "GRÜNFLÄCHEN", Actor: "otto@stadt.localhost", Via: "room", Reason: "Baum, nicht Straße"}
	if _, err := svc.Reassign(ctx, cmd); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("reassign by a non-dispatcher: err = %v, want forbidden", err)
	}
	cmd.Actor, cmd.Dispatcher = "dora@stadt.localhost", true
	for _, bad := range []struct {
		team string
		kind error
	}{{"Feuerwehr", dispatch.ErrNotFound}, {"Ordnungsamt", dispatch.ErrConflict}} {
		c := cmd
		c.Team = bad.team
		if _, err := svc.Reassign(ctx, c); !errors.Is(err, bad.kind) || strings.Contains(err.Error(), "Fall") {
			t.Errorf("reassign to %q: err = %v, want %v", bad.team, err, bad.kind)
		}
	}
	res, err := svc.Reassign(ctx, cmd)
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("reassign: %v %v", res.Outcome, err)
	}
	if res.Incident.Team != "gruen" || res.Incident.State != dispatch.StateRouted || res.Incident.Owner != "" {
		t.Errorf("result incident = %+v", res.Incident)
	}
	waitFor(t, "the posts and the reporter message", func() bool {
		p, c := rec.snapshot()
		return postsTo(p, roomGruen, "Verlauf") == 1 && postsTo(p, roomGruen, "Meldung "+r.CaseNumber+" · Grünflächen") == 1 &&
			postsTo(p, roomOrdnung, "an Grünflächen weitergegeben") == 1 &&
			chatsTo(c, "max@stadt.localhost", "an Grünflächen weitergeleitet") == 1
	})
	posts, _ := rec.snapshot()
	for _, p := range posts {
		if strings.Contains(p.Body, "max@stadt.localhost") {
			t.Errorf("the reporter's JID was shown in a room: %q", p.Body)
		}
		if p.Room == roomGruen && strings.Contains(p.Body, "Verlauf") && !strings.Contains(p.Body, "Grund: Baum, nicht Straße") {
			t.Errorf("hand-over without the reason: %q", p.Body)
		}
	}
	inc, evs := events(t, svc, r)
	if inc.Team != "gruen" || inc.Policy != "ackt" || inc.Owner != "" || countEvents(evs, "reassigned") != 1 {
		t.Errorf("after reassignment: %+v, %d reassigned events", inc, countEvents(evs, "reassigned"))
	}
	var round2 int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate' AND (args->>'round')::int = 2`).Scan(&round2); err != nil || round2 != 1 {
		t.Errorf("%d escalation jobs of round 2, want 1 (escalation restarts for the new team): %v", round2, err)
	}
	// The new team takes it in its room; the old room no longer may.
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}); !errors.Is(err, dispatch.ErrForbidden) {
		t.Errorf("take from the old room: %v, want forbidden", err)
	}
	if res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "gina@stadt.localhost", Via: "room", Room: roomGruen}); err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Errorf("take in the new room: %v %v", res.Outcome, err)
	}
}

func TestReject(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	r := xmppReport(t, svc, rec, "max@stadt.localhost", "Schlagloch auf dem Supermarktparkplatz", nil)
	cmd := dispatch.RejectCommand{Ref: r.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}
	if _, err := svc.Reject(ctx, cmd); !errors.Is(err, dispatch.ErrInvalid) {
		t.Fatalf("reject without a reason: %v, want invalid", err)
	}
	cmd.Reason = "Privatgelände, bitte an den Eigentümer wenden"
	bad := cmd
	bad.Room = roomGruen
	if _, err := svc.Reject(ctx, bad); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("reject from another room: %v, want forbidden", err)
	}
	res, err := svc.Reject(ctx, cmd)
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.State != dispatch.StateRejected {
		t.Fatalf("reject: %+v %v", res, err)
	}
	waitFor(t, "room and reporter told", func() bool {
		p, c := rec.snapshot()
		return postsTo(p, roomOrdnung, "abgelehnt von otto@stadt.localhost: Privatgelände") == 1 &&
			chatsTo(c, "max@stadt.localhost", "nicht in unserer Zuständigkeit: Privatgelände") == 1
	})
	if res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung}); err != nil || res.Outcome != dispatch.OutcomeClosed {
		t.Errorf("take after reject: %v %v, want closed", res.Outcome, err)
	}
	_, evs := events(t, svc, r)
	for _, e := range evs {
		if e.Kind == "rejected" && (e.Detail["reason"] != cmd.Reason || e.Actor != "otto@stadt.localhost" || e.Via != "room") {
			t.Errorf("rejected event = %+v", e)
		}
	}
	if countEvents(evs, "rejected") != 1 {
		t.Errorf("no rejected event")
	}
}
