package dispatch_test

import (
	"context"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestReleaseGivesATakeBack: anna took a case by mistake (a 👍 meant as
// "seen"). Before, nothing but the ack timeout could undo it, and the
// escalation had stopped for good. Now only she (or a dispatcher) gives
// it back with "zurück 42": it is open again, the room is told, the
// escalation starts over, and ben can take it. A release of a case that
// is not the actor's changes nothing.
func TestReleaseGivesATakeBack(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel aus",
		Position: &dispatch.Position{Lat: 51.02, Lon: 7.59}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { _, evs := events(t, svc, r); return countEvents(evs, "posted") > 0 })
	cmd := func(a dispatch.Action, actor string, disp bool) dispatch.CommandResult {
		t.Helper()
		res, err := svc.Execute(ctx, dispatch.Command{Action: a, Ref: r.CaseNumber, Actor: actor, Via: "room", Room: "tiefbau@conference.stadt.localhost", Dispatcher: disp})
		if err != nil {
			t.Fatalf("%s by %s: %v", a, actor, err)
		}
		return res
	}
	if res := cmd(dispatch.ActionRelease, "anna@stadt.localhost", false); res.Outcome != dispatch.OutcomeNotYours {
		t.Errorf("release of a case nobody took: %s, want not_yours", res.Outcome)
	}
	if res := cmd(dispatch.ActionTake, "anna@stadt.localhost", false); res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("anna's take: %s", res.Outcome)
	}
	var round1 int
	if err := pool.QueryRow(ctx, `SELECT escalation_round FROM incidents WHERE id = $1`, r.IncidentID).Scan(&round1); err != nil {
		t.Fatal(err)
	}
	res := cmd(dispatch.ActionRelease, "ben@stadt.localhost", false)
	if res.Outcome != dispatch.OutcomeNotYours || res.Reply == nil || res.Reply.In("de") != r.CaseNumber+" ist nicht von Ihnen übernommen; zurückgeben kann nur, wer den Fall übernommen hat (oder die Leitstelle)." {
		t.Errorf("ben releasing anna's case: %s", res.Outcome)
	}
	if inc, _ := events(t, svc, r); inc.State != dispatch.StateAcknowledged || inc.Owner != "anna@stadt.localhost" {
		t.Fatalf("after ben's release: %s owner %q, want anna's still", inc.State, inc.Owner)
	}
	if res := cmd(dispatch.ActionRelease, "ANNA@stadt.localhost", false); res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("anna's release: %s", res.Outcome)
	}
	inc, evs := events(t, svc, r)
	if inc.State != dispatch.StateRouted || inc.Owner != "" || inc.AcknowledgedAt != nil || countEvents(evs, "release") != 1 {
		t.Errorf("after anna's release: %s owner %q, %d release events; want routed, nobody, one", inc.State, inc.Owner, countEvents(evs, "release"))
	}
	var round2 int
	if err := pool.QueryRow(ctx, `SELECT escalation_round FROM incidents WHERE id = $1`, r.IncidentID).Scan(&round2); err != nil || round2 != round1+1 {
		t.Errorf("escalation round %d after the release, want %d (it starts over): %v", round2, round1+1, err)
	}
	waitFor(t, "the room told", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, "tiefbau@conference.stadt.localhost", "🔁 "+r.CaseNumber+" von ANNA@stadt.localhost zurückgegeben") == 1
	})
	if res := cmd(dispatch.ActionTake, "ben@stadt.localhost", false); res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("ben's take after the release: %s", res.Outcome)
	}
	if res := cmd(dispatch.ActionRelease, "dora@stadt.localhost", true); res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("the dispatcher's release: %s", res.Outcome)
	}
	if res := cmd(dispatch.ActionResolve, "ben@stadt.localhost", false); res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("resolve: %s", res.Outcome)
	}
	if res := cmd(dispatch.ActionRelease, "ben@stadt.localhost", false); res.Outcome != dispatch.OutcomeClosed {
		t.Errorf("release of a resolved case: %s, want closed", res.Outcome)
	}
}
