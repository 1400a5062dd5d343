package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// A reporter's "neu" says: this is not what I reported before. It opens a
// case of its own and is not merged as a duplicate into an incident that
// holds one of the same reporter's reports, however close (two problems at
// one spot: a car parked in a gateway, then broken glass on the
// pavement). Another reporter's "neu" at that spot still is a duplicate.
func TestReporterNewIsNoDuplicateOfTheirOwnCase(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t)})
	start(t, svc)
	here := &dispatch.Position{Lat: 51.0250, Lon: 7.5900}

	first := xmppReport(t, svc, rec, "max@stadt.localhost", "Falschparker vor der Einfahrt", here)
	second := xmppReport(t, svc, rec, "max@stadt.localhost", "neu: Glasscherben auf dem Gehweg", here)
	if second.CaseNumber == first.CaseNumber {
		t.Fatalf("\"neu\" joined case %s", first.CaseNumber)
	}
	if inc, evs := events(t, svc, second); inc.State == dispatch.StateMerged || countEvents(evs, "posted") != 1 {
		t.Errorf("max's \"neu\" at the same spot: state %s, events %v; want a case of its own, posted", inc.State, evs)
	}
	other := xmppReport(t, svc, rec, "eva@stadt.localhost", "neu: Auto parkt in der Einfahrt", here)
	if inc, _ := events(t, svc, other); inc.State != dispatch.StateMerged {
		t.Errorf("eva's report at the same spot: state %s, want merged as a duplicate", inc.State)
	}
}

// The reporter told "same case as …" who answers a bare "neu" within the
// undo window separates their report: it is posted to its team as a case
// of its own, and they are told. A merge made by a dispatcher is not
// theirs to undo.
func TestReporterNewUndoesDuplicateMerge(t *testing.T) {
	svc, rec, first, dup := mergedDuplicate(t)
	ctx := context.Background()
	waitFor(t, "the duplicate notice with the hint", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, "eva@stadt.localhost", "denselben Fall wie "+first.CaseNumber) == 1 && chatsTo(c, "eva@stadt.localhost", "„neu“") == 1
	})
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "eva@stadt.localhost", Text: "neu", IdempotencyKey: "origin:neu-1"})
	if err != nil || r.CaseNumber != dup.CaseNumber || r.Mode != dispatch.ModeSplit {
		t.Fatalf("bare neu after the merge: %+v %v; want the duplicate %s split off", r, err, dup.CaseNumber)
	}
	waitFor(t, "the unmerged case's own post and the reporter's notice", func() bool {
		p, c := rec.snapshot()
		return postsTo(p, roomOrdnung, "Meldung "+dup.CaseNumber+" ·") == 1 && chatsTo(c, "eva@stadt.localhost", dup.CaseNumber+" wird nun eigenständig") == 1
	})
	if inc, evs := events(t, svc, dup); inc.State == dispatch.StateMerged || countEvents(evs, "unmerged") != 1 {
		t.Errorf("after neu: state %s, events %v", inc.State, evs)
	}
	// Resent, the same "neu" gets the same answer and changes nothing.
	if again, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "eva@stadt.localhost", Text: "neu", IdempotencyKey: "origin:neu-1"}); err != nil || again.CaseNumber != dup.CaseNumber {
		t.Errorf("resent neu: %+v %v", again, err)
	}

	// ida's report merged by a dispatcher stays merged.
	ida := xmppReport(t, svc, rec, "ida@stadt.localhost", "Schlagloch an der Ecke", &dispatch.Position{Lat: 51.0300, Lon: 7.5900})
	if _, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: ida.CaseNumber, Into: first.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "ida@stadt.localhost", Text: "neu"}); !errors.Is(err, dispatch.ErrInvalid) {
		t.Errorf("bare neu after a dispatcher's merge: %v, want the hint that neu needs content", err)
	}
	if inc, _ := events(t, svc, ida); inc.State != dispatch.StateMerged {
		t.Errorf("a dispatcher's merge was undone by the reporter: state %s", inc.State)
	}
}

// The case history that a reassignment posts into the new team's room
// names no reporter, also one whose report left the case: eva's
// duplicate, merged into max's case and separated again by her "neu",
// left events with her JID in that case's trail, and the room was shown
// it, and the team's timeline in the API too (found by the privacy
// helper). Before, only actors who still had a report in the case were
// hidden in the room, and only reporters' kinds of event in the API.
func TestReassignHistoryNamesNoFormerReporter(t *testing.T) {
	svc, rec, first, dup := mergedDuplicate(t)
	ctx := context.Background()
	if r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "eva@stadt.localhost", Text: "neu", IdempotencyKey: "origin:neu-hist"}); err != nil || r.CaseNumber != dup.CaseNumber {
		t.Fatalf("bare neu after the merge: %+v %v", r, err)
	}
	_, evs := events(t, svc, first)
	evaActs := 0
	for _, e := range evs {
		if e.Actor == "eva@stadt.localhost" {
			evaActs++
		}
	}
	if evaActs == 0 {
		t.Fatalf("max's case keeps no event by eva (%v): the test tests nothing", evs)
	}
	// The API shows team members "reporter" for every event FromReporter
	// says; the detail is what it loads.
	d, err := svc.IncidentDetail(ctx, first.CaseNumber)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Events {
		if e.Actor == "eva@stadt.localhost" && !e.FromReporter() {
			t.Errorf("event %s by eva is not marked as the reporter's: the team's timeline would name her", e.Kind)
		}
		if e.Actor == "dora@stadt.localhost" && e.FromReporter() {
			t.Errorf("event %s by the dispatcher is marked as a reporter's", e.Kind)
		}
	}
	if _, err := svc.Reassign(ctx, dispatch.ReassignCommand{Ref: first.CaseNumber, Team: "gruen", Actor: "dora@stadt.localhost", Via: "room", Reason: "Grünfläche", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	var history string
	waitFor(t, "the reassigned case in Grün's room", func() bool {
		p, _ := rec.snapshot()
		for _, post := range p {
			if post.Room == roomGruen && strings.Contains(post.Body, first.CaseNumber) {
				history = post.Body
				return true
			}
		}
		return false
	})
	for _, jid := range []string{"eva@stadt.localhost", "max@stadt.localhost"} {
		if strings.Contains(history, jid) {
			t.Errorf("the history posted to the new room names reporter %s:\n%s", jid, history)
		}
	}
	if !strings.Contains(history, "dora@stadt.localhost") {
		t.Errorf("the history should still name the dispatcher:\n%s", history)
	}
}

// mergedDuplicate starts a service with the lifecycle rules in which
// eva's report was merged as a duplicate into max's case at the same
// spot.
func mergedDuplicate(t *testing.T) (svc *dispatch.Service, rec *recorder, first, dup dispatch.Receipt) {
	t.Helper()
	rec = &recorder{}
	svc = newTestService(t, testServiceOptions{Pool: testsvc.Pool(t), Messenger: rec, RulesFile: lifecycleRulesFile(t)})
	start(t, svc)
	here := &dispatch.Position{Lat: 51.0250, Lon: 7.5900}
	first = xmppReport(t, svc, rec, "max@stadt.localhost", "Schlagloch vor Nr. 3", here)
	dup = xmppReport(t, svc, rec, "eva@stadt.localhost", "Schlagloch, tief und gefährlich", here)
	if inc, _ := events(t, svc, dup); inc.State != dispatch.StateMerged {
		t.Fatalf("eva's report: state %s, want merged", inc.State)
	}
	return svc, rec, first, dup
}
