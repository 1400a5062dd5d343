package dispatch_test

import (
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
