package dispatch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestEscalationRacesTake races takes against escalation steps (real
// PostgreSQL): 20 Tiefbau incidents whose every escalation step is due at
// once (the clock runs an hour behind, as in TestEscalationLevels) are
// taken by anna while their steps run. Each ends acknowledged by anna with
// one take; no step fires after the take in the trail; everyone alerted
// before the take hears that anna has it.
func TestEscalationRacesTake(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	behind := func() time.Time { return time.Now().Add(-time.Hour) }
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{Now: behind, AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	receipts := make([]dispatch.Receipt, n)
	for i := range n {
		r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel aus",
			Position: &dispatch.Position{Lat: 51.02 + float64(i)/100, Lon: 7.59}})
		if err != nil {
			t.Fatal(err)
		}
		receipts[i] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Take while its steps run: each incident a little later.
			time.Sleep(time.Duration(i%10) * 30 * time.Millisecond)
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "anna@stadt.localhost",
					Via: "room", Room: "tiefbau@conference.stadt.localhost"})
				if err == nil && res.Outcome == dispatch.OutcomeApplied {
					return
				}
			}
			t.Errorf("%s: anna's take never applied", r.CaseNumber)
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // steps still queued find the incidents taken
	escalatedFirst := 0
	for _, r := range receipts {
		inc, evs := events(t, svc, r)
		if inc.State != dispatch.StateAcknowledged || inc.Owner != "anna@stadt.localhost" || countEvents(evs, "take") != 1 {
			t.Errorf("%s: %s owner %q, %d takes; want acknowledged by anna once", r.CaseNumber, inc.State, inc.Owner, countEvents(evs, "take"))
		}
		taken := false
		for _, e := range evs {
			if !taken && e.Kind == "escalated" {
				escalatedFirst++
			}
			taken = taken || e.Kind == "take"
			if taken && e.Kind == "escalated" {
				t.Errorf("%s: escalation step after the take: %+v", r.CaseNumber, e)
			}
		}
		rows, err := pool.Query(ctx, `SELECT target FROM incident_alerts WHERE incident_id = $1 AND kind = 'person'`, r.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		var alerted []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			alerted = append(alerted, s)
		}
		rows.Close()
		for _, who := range alerted {
			waitFor(t, who+" told that anna has "+r.CaseNumber, func() bool {
				_, c := rec.snapshot()
				return chatsTo(c, who, r.CaseNumber+" übernommen von anna@stadt.localhost") == 1
			})
		}
	}
	t.Logf("%d escalation steps fired before the takes of %d incidents", escalatedFirst, n)
}
