package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/oncall"
)

// TestReassignEndsTheOldTeamsAlerts attacks a reassignment after
// escalation (real PostgreSQL): Tiefbau's case escalated to its on-call
// person and to eve 1:1; then the dispatcher gives it to Grünflächen.
// Those alerted for Tiefbau learn where it went, may no longer take or
// resolve it by answering their old alert (it is another team's case now),
// and hear nothing of what Grünflächen does with it.
func TestReassignEndsTheOldTeamsAlerts(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	behind := func() time.Time { return time.Now().Add(-time.Hour) } // every step due at once (TestEscalationLevels)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{Now: behind}})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel ausgefallen",
		Position: &dispatch.Position{Lat: 51.02, Lon: 7.59}})
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := lifecycleEngine(t, lifecycleRulesFile(t)).Current().Schedule("bereitschaft")
	ans, ok := oncall.At(sched, nil, behind())
	if !ok {
		t.Fatal("nobody on call in the test schedule")
	}
	onCall, eve := ans.Person, "eve@stadt.localhost"
	waitFor(t, "the 1:1 alerts of level 3", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, onCall, "Eskalation Stufe 3") == 1 && chatsTo(c, eve, "Eskalation Stufe 3") == 1
	})
	if _, err := svc.Reassign(ctx, dispatch.ReassignCommand{Ref: r.CaseNumber, Team: "gruen", Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{eve, onCall} {
		for _, a := range []dispatch.Action{dispatch.ActionTake, dispatch.ActionResolve} {
			if res, err := svc.Execute(ctx, dispatch.Command{Action: a, Ref: r.CaseNumber, Actor: who, Via: "chat"}); !errors.Is(err, dispatch.ErrForbidden) {
				t.Errorf("%s by %s answering Tiefbau's alert after the hand-over to Grünflächen: %v %v, want forbidden", a, who, res.Outcome, err)
			}
		}
	}
	waitFor(t, "the alerted told of the hand-over", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, onCall, "an Grünflächen weitergegeben") == 1 && chatsTo(c, eve, "an Grünflächen weitergegeben") == 1
	})
	if res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "gina@stadt.localhost", Via: "room", Room: roomGruen}); err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("take by Grünflächen: %v %v", res.Outcome, err)
	}
	waitFor(t, "Grünflächen's room told of gina's take", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, roomGruen, "übernommen von gina@stadt.localhost") == 1
	})
	time.Sleep(300 * time.Millisecond)
	_, chats := rec.snapshot()
	for _, who := range []string{eve, onCall} {
		if n := chatsTo(chats, who, "gina@stadt.localhost"); n != 0 {
			t.Errorf("%s, alerted for Tiefbau, was told %d times about Grünflächen's take", who, n)
		}
	}
}
