package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestDuplicateMergeAndUnmerge: a second report 10 m from an open incident
// of the same team and category is merged (room sees "+1", reporter gets
// the covering case number, no post of its own); one 100 m away and one of
// another category at the same place are not. A take on the duplicate
// points to the original. A dispatcher unmerges it: it is posted and
// escalates on its own.
func TestDuplicateMergeAndUnmerge(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	here := &dispatch.Position{Lat: 51.0250, Lon: 7.5900}
	near := &dispatch.Position{Lat: 51.02509, Lon: 7.5900} // 10 m north
	far := &dispatch.Position{Lat: 51.0259, Lon: 7.5900}   // 100 m north

	first := xmppReport(t, svc, rec, "max@stadt.localhost", "Schlagloch vor Hausnummer 3", here)
	dup := xmppReport(t, svc, rec, "eva@stadt.localhost", "Riesiges Schlagloch!", near)
	other := xmppReport(t, svc, rec, "eva@stadt.localhost", "neu: Schlagloch an der Ecke", far)
	otherCat := xmppReport(t, svc, rec, "ida@stadt.localhost", "Sperrmüll an der Straße", near) // default rule, Leitstelle

	inc, evs := events(t, svc, dup)
	if inc.State != dispatch.StateMerged || countEvents(evs, "merged") != 1 || countEvents(evs, "posted") != 0 {
		t.Fatalf("duplicate: state %s, events %v", inc.State, evs)
	}
	for _, r := range []dispatch.Receipt{first, other, otherCat} {
		if inc, _ := events(t, svc, r); inc.State == dispatch.StateMerged {
			t.Errorf("%s merged, want its own incident", r.CaseNumber)
		}
	}
	waitFor(t, "+1 post and the reporter message", func() bool {
		p, c := rec.snapshot()
		return postsTo(p, roomOrdnung, "+1 Meldung zu "+first.CaseNumber+" ("+dup.CaseNumber+", 10 m") == 1 &&
			chatsTo(c, "eva@stadt.localhost", "denselben Fall wie "+first.CaseNumber) == 1
	})
	posts, _ := rec.snapshot()
	if n := postsTo(posts, roomOrdnung, "Meldung "+dup.CaseNumber+" ·"); n != 0 {
		t.Errorf("the duplicate was posted on its own %d times", n)
	}
	_, origEvs := events(t, svc, first)
	if countEvents(origEvs, "duplicate_added") != 1 {
		t.Errorf("original has no duplicate_added event: %v", origEvs)
	}
	var escalations int
	if err := pool.QueryRow(ctx, escalationTimersSQL, dup.IncidentID.String()).Scan(&escalations); err != nil || escalations != 0 {
		t.Errorf("%d escalation timers for the duplicate, want 0", escalations)
	}

	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: dup.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung})
	if err != nil || res.Outcome != dispatch.OutcomeClosed || !strings.Contains(res.Reply.In("de"), "Duplikat von "+first.CaseNumber) {
		t.Fatalf("take on the duplicate: %+v %v", res, err)
	}

	if _, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: dup.CaseNumber, Actor: "otto@stadt.localhost", Via: "room"}); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("unmerge by a non-dispatcher: %v", err)
	}
	if _, err := svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: first.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true}); !errors.Is(err, dispatch.ErrConflict) {
		t.Fatalf("unmerge of an incident that is no duplicate: %v", err)
	}
	res, err = svc.Unmerge(ctx, dispatch.UnmergeCommand{Ref: dup.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("unmerge: %+v %v", res, err)
	}
	waitFor(t, "the duplicate's own post", func() bool {
		p, c := rec.snapshot()
		return postsTo(p, roomOrdnung, "Meldung "+dup.CaseNumber+" ·") == 1 && postsTo(p, roomOrdnung, "kein Duplikat von "+first.CaseNumber) == 1 &&
			chatsTo(c, "eva@stadt.localhost", dup.CaseNumber+" wird nun eigenständig") == 1
	})
	waitFor(t, "state routed", func() bool { inc, _ := events(t, svc, dup); return inc.State == dispatch.StateRouted })
	if err := pool.QueryRow(ctx, escalationTimersSQL, dup.IncidentID.String()).Scan(&escalations); err != nil || escalations != 1 {
		t.Errorf("%d escalation timers after unmerge, want 1", escalations)
	}
	res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: dup.CaseNumber, Actor: "otto@stadt.localhost", Via: "room", Room: roomOrdnung})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("take after unmerge: %+v %v", res, err)
	}
}
