package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestArmedEscalationStepHandedOverOnce: a new incident's first
// escalation step, due in over a minute, is armed on the incident (no
// queue job at intake); two replicas' hand-overs race for the armed steps,
// and each step is queued once, for its due time, and escalates once.
func TestArmedEscalationStepHandedOverOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	intake := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, intake) // routes at intake (a started service posts itself)
	const n = 12
	for i := range n {
		r, err := intake.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "bau", Sender: "token:app",
			Text: fmt.Sprintf("Bauzaun umgefallen %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		var at *time.Time
		var jobs int
		if err := pool.QueryRow(ctx, `SELECT escalation_due_at, (SELECT count(*) FROM river_job WHERE kind = 'escalate')
			FROM incidents WHERE id = $1`, r.IncidentID).Scan(&at, &jobs); err != nil {
			t.Fatal(err)
		}
		if at == nil || jobs != 0 {
			t.Fatalf("incident %s: armed %v, %d escalate jobs; want armed and no job", r.CaseNumber, at, jobs)
		}
	}

	// The steps come due 5 s from now (a minute less of waiting); the
	// intake and two more replicas race to hand them over.
	due := bringDue(t, pool, 5*time.Second)
	if len(due) != n {
		t.Fatalf("%d armed steps, want %d", len(due), n)
	}
	for range 2 {
		start(t, newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules}))
	}
	waitFor(t, "every incident escalated", func() bool {
		var got int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE kind = 'escalated'`).Scan(&got)
		return got >= n
	})
	time.Sleep(time.Second) // time for a second hand-over or escalation to show

	rows, err := pool.Query(ctx, `
		SELECT j.args->>'incident_id', j.scheduled_at,
		       (SELECT count(*) FROM incident_events e WHERE e.incident_id::text = j.args->>'incident_id' AND e.kind = 'escalated'),
		       (SELECT escalation_due_at IS NULL FROM incidents i WHERE i.id::text = j.args->>'incident_id')
		FROM river_job j WHERE j.kind = 'escalate'`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var id string
		var scheduled time.Time
		var escalated int
		var disarmed bool
		if err := rows.Scan(&id, &scheduled, &escalated, &disarmed); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Errorf("incident %s: a second escalate job", id)
		}
		seen[id] = true
		want, ok := due[id]
		if !ok {
			t.Errorf("escalate job for an unknown incident %s", id)
			continue
		}
		if d := scheduled.Sub(want); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("incident %s: job scheduled for %v, armed for %v", id, scheduled, want)
		}
		if escalated != 1 || !disarmed {
			t.Errorf("incident %s: escalated %d times, disarmed %v; want once, disarmed", id, escalated, disarmed)
		}
	}
	rows.Close()
	if len(seen) != n {
		t.Errorf("%d incidents have an escalate job, want %d", len(seen), n)
	}
}

// TestArmedEscalationStepPastDueIsLate: an armed step whose due time has
// passed without a hand-over (no replica ran) counts as a late
// escalation in fieldgate_queue_oldest_due_seconds, which the alert
// "escalation late" watches.
func TestArmedEscalationStepPastDueIsLate(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, svc) // routes at intake
	if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "bau", Sender: "token:app", Text: "Ampel aus"}); err != nil {
		t.Fatal(err)
	}
	// No replica runs any more, and the step was due an hour ago plus
	// 65 s.
	stopNow(t, svc)
	if _, err := pool.Exec(ctx, `UPDATE incidents SET escalation_due_at = now() - interval '1 hour' + interval '65 s'`); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc.Collectors()...)
	late := value(t, reg, "fieldgate_queue_oldest_due_seconds", map[string]string{"queue": "escalation"})
	// Due 65 s after a report an hour ago: about 59 minutes late.
	if late < 58*60 || late > 60*60 {
		t.Errorf("escalation queue oldest due %.0f s, want about %d", late, 3600-65)
	}
}
