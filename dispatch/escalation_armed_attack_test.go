package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// Attacks on the armed first escalation step (escalation_handover.go):
// a step armed on its incident must be neither lost nor queued twice, must
// fire on time and never for a round that is over, whatever crashes, locks,
// clocks, commands, migrations and rule reloads do around it.

// armedAttackRules: two teams whose policy's first step is 10 minutes
// after the report (past the exact-timer horizon: armed on the incident;
// the tests bring armed steps due with bringDue).
const armedAttackRules = `
version: 1
timezone: Europe/Berlin
dispatchers: [dora@stadt.localhost]
policies:
  spaet:
    levels:
      - after: 10m
        notify: room
teams:
  bau:
    name: Bau
    room: bau@conference.stadt.localhost
    policy: spaet
    members: [anna@stadt.localhost]
  gruen:
    name: Gruen
    room: gruen@conference.stadt.localhost
    policy: spaet
    members: [ben@stadt.localhost]
addresses:
  bau:
    allow: [public]
    default_team: bau
default:
  team: bau
`

// armedAttackRulesNoPolicy is armedAttackRules after a reload that took
// team bau's policy away.
const armedAttackRulesNoPolicy = `
version: 1
timezone: Europe/Berlin
dispatchers: [dora@stadt.localhost]
teams:
  bau:
    name: Bau
    room: bau@conference.stadt.localhost
    members: [anna@stadt.localhost]
addresses:
  bau:
    allow: [public]
    default_team: bau
default:
  team: bau
`

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// armedIntake files n text reports through svc, which must be started
// (a started service routes at intake), and checks that each first step
// is armed on its incident and not queued.
func armedIntake(t *testing.T, svc *dispatch.Service, pool *pgxpool.Pool, n int, in dispatch.NewReport) []dispatch.Receipt {
	t.Helper()
	ctx := context.Background()
	var out []dispatch.Receipt
	for i := range n {
		r := in
		r.Text = fmt.Sprintf("%s %d", in.Text, i)
		rec, err := svc.Intake(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		var armed bool
		var jobs int
		if err := pool.QueryRow(ctx, `SELECT escalation_due_at IS NOT NULL,
			(SELECT count(*) FROM river_job WHERE kind = 'escalate' AND args->>'incident_id' = $2)
			FROM incidents WHERE id = $1`, rec.IncidentID, rec.IncidentID.String()).Scan(&armed, &jobs); err != nil {
			t.Fatal(err)
		}
		if !armed || jobs != 0 {
			t.Fatalf("incident %s: armed %v, %d escalate jobs; want armed, no job", rec.CaseNumber, armed, jobs)
		}
		out = append(out, rec)
	}
	return out
}

// armByGoneReplica arms n steps through a replica that then stops: no
// replica runs afterwards until the test starts one.
func armByGoneReplica(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, svc)
	armedIntake(t, svc, pool, n, apiReport())
	stopNow(t, svc)
}

func apiReport() dispatch.NewReport {
	return dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "bau", Sender: "token:app", Text: "Bauzaun umgefallen"}
}

// bringDue moves every armed step to d from now by the database's clock
// (the clock river fires jobs by) and returns the due times by incident.
func bringDue(t *testing.T, pool *pgxpool.Pool, d time.Duration) map[string]time.Time {
	t.Helper()
	rows, err := pool.Query(context.Background(), `UPDATE incidents SET escalation_due_at = now() + make_interval(secs => $1)
		WHERE escalation_due_at IS NOT NULL RETURNING id::text, escalation_due_at`, d.Seconds())
	if err != nil {
		t.Fatal(err)
	}
	due := map[string]time.Time{}
	var id string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { due[id] = at; return nil }); err != nil {
		t.Fatal(err)
	}
	return due
}

// escalations lists the rounds of every incident's escalated events.
func escalations(t *testing.T, pool *pgxpool.Pool) map[string][]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT incident_id::text, (detail->>'round')::int FROM incident_events
		WHERE kind = 'escalated' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	var id string
	var round int
	if _, err := pgx.ForEachRow(rows, []any{&id, &round}, func() error { out[id] = append(out[id], round); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// escalateJobs counts the escalate jobs per (incident, round, level,
// repeat) key.
func escalateJobs(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT args->>'incident_id', args->>'round', args->>'level', args->>'repeat'
		FROM river_job WHERE kind = 'escalate'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	var id, round, level, repeat string
	if _, err := pgx.ForEachRow(rows, []any{&id, &round, &level, &repeat}, func() error {
		out[id+"/"+round+"/"+level+"/"+repeat]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertEscalatedOnce: every incident in due escalated exactly once, in
// round 1, and no step has two jobs.
func assertEscalatedOnce(t *testing.T, pool *pgxpool.Pool, due map[string]time.Time) {
	t.Helper()
	time.Sleep(time.Second) // time for a second hand-over or escalation to show
	esc := escalations(t, pool)
	for id := range due {
		if got := esc[id]; len(got) != 1 || got[0] != 1 {
			t.Errorf("incident %s escalated in rounds %v, want once in round 1", id, got)
		}
	}
	for key, n := range escalateJobs(t, pool) {
		if n != 1 {
			t.Errorf("escalation step %s queued %d times", key, n)
		}
	}
}

func stopNow(t *testing.T, svc *dispatch.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestArmedStepHandedOverWhileLeaseRenewalFails: a replica whose worker
// lease cannot be renewed (here the lease table is locked, as by an
// administrator's ALTER TABLE; equally a lease connection that cannot be
// opened) still hands armed steps to the queue: the hand-over needs only
// the pool, and a town's only replica must not stop escalating because of
// its lease.
func TestArmedStepHandedOverWhileLeaseRenewalFails(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	pool, admin := newPool(t, url), newPool(t, url)
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, svc)
	armedIntake(t, svc, pool, 2, apiReport())

	renewalBlocked := blockLeaseRenewals(t, admin)
	due := bringDue(t, pool, 2*time.Second)
	waitFor(t, "both armed steps to escalate while the lease cannot be renewed", func() bool {
		return len(escalations(t, pool)) == len(due)
	})
	if !renewalBlocked() {
		t.Fatal("the lease renewals no longer wait for the lock: the test proves nothing")
	}
	assertEscalatedOnce(t, pool, due)
}

// TestArmedStepHandedOverByLaggingReplica: the replica that armed the
// steps is gone and the one left runs three minutes behind. The step's job
// fires by the database's clock; the hand-over must not wait for the
// lagging replica's clock to reach the due time (two minutes late).
func TestArmedStepHandedOverByLaggingReplica(t *testing.T) {
	pool := testsvc.Pool(t)
	armByGoneReplica(t, pool, 2)

	lagging := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules,
		Config: dispatch.Config{Now: func() time.Time { return time.Now().Add(-3 * time.Minute) }}})
	start(t, lagging)
	due := bringDue(t, pool, 2*time.Second)
	waitFor(t, "both armed steps to escalate under a lagging replica", func() bool {
		return len(escalations(t, pool)) == len(due)
	})
	assertEscalatedOnce(t, pool, due)
}

// TestArmedStepHandedOverByHurryingReplica: a replica whose clock runs
// five minutes ahead hands steps due in 70 s over at once (a replica with
// a true clock would wait 10 s); the job carries the due time and is not
// started before it.
func TestArmedStepHandedOverByHurryingReplica(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	armByGoneReplica(t, pool, 2)

	hurrying := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules,
		Config: dispatch.Config{Now: func() time.Time { return time.Now().Add(5 * time.Minute) }}})
	start(t, hurrying)
	due := bringDue(t, pool, 70*time.Second)
	waitFor(t, "the hurrying replica to hand both steps over", func() bool { return len(escalateJobs(t, pool)) == len(due) })
	time.Sleep(2 * time.Second) // time for a job to start early
	rows, err := pool.Query(ctx, `SELECT args->>'incident_id', scheduled_at, attempted_at FROM river_job WHERE kind = 'escalate'`)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	var scheduled time.Time
	var attempted *time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &scheduled, &attempted}, func() error {
		if !scheduled.Equal(due[id]) || attempted != nil {
			t.Errorf("incident %s: job scheduled for %v (armed for %v), started %v; want not started before then", id, scheduled, due[id], attempted)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if esc := escalations(t, pool); len(esc) != 0 {
		t.Errorf("escalated before the due time: %v", esc)
	}
}

// TestArmedStepSurvivesKilledHandOver: the hand-over's connection dies
// inside its transaction (after it disarmed the steps, while its queue
// insert waits), as when its process is killed. Nothing was lost: the
// steps are still armed, handed over by the next attempt, and each
// escalates once.
func TestArmedStepSurvivesKilledHandOver(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	// While river_job is locked, each queue's fetch holds one of the
	// pool's connections waiting (three queues, and river's listener):
	// enough connections that the hand-overs still get theirs.
	pool, admin := newPool(t, withPoolMaxConns(t, url, 12)), newPool(t, url)
	ctx := context.Background()
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, svc)
	armedIntake(t, svc, pool, 3, apiReport())
	time.Sleep(300 * time.Millisecond) // the intake's room posts settle

	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Queue inserts (and fetches) wait; reads do not.
	if _, err := tx.Exec(ctx, `LOCK TABLE river_job IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	due := bringDue(t, admin, 3*time.Second)
	handOver := func() int {
		var pid int
		_ = admin.QueryRow(ctx, `SELECT a.pid FROM pg_stat_activity a
			WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND a.query ILIKE '%INSERT INTO%river_job%'
			AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted
				AND l.relation = 'incidents'::regclass AND l.mode = 'RowExclusiveLock')`).Scan(&pid)
		return pid
	}
	waitFor(t, "a hand-over to disarm the steps and wait in its queue insert", func() bool { return handOver() != 0 })
	pid := handOver()
	var killed bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the hand-over's connection: %v %v", killed, err)
	}
	var armed, jobs int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents WHERE escalation_due_at IS NOT NULL),
		(SELECT count(*) FROM river_job WHERE kind = 'escalate')`).Scan(&armed, &jobs); err != nil {
		t.Fatal(err)
	}
	if armed != len(due) || jobs != 0 {
		t.Fatalf("after the killed hand-over: %d armed, %d escalate jobs; want %d armed, none queued", armed, jobs, len(due))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the steps to escalate after the killed hand-over", func() bool {
		return len(escalations(t, pool)) == len(due)
	})
	assertEscalatedOnce(t, pool, due)
}

// TestArmedStepQueuedAsExactTimer: a handed-over step is queued
// available with its due time (an exact timer, not river's scheduled
// state that its scheduler promotes up to 5 s late), and fires no earlier
// than due.
func TestArmedStepQueuedAsExactTimer(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules})
	start(t, svc)
	armedIntake(t, svc, pool, 1, apiReport())
	due := bringDue(t, pool, 4*time.Second)
	var state string
	var scheduled time.Time
	waitFor(t, "the step's job", func() bool {
		return pool.QueryRow(ctx, `SELECT state::text, scheduled_at FROM river_job WHERE kind = 'escalate'`).Scan(&state, &scheduled) == nil
	})
	for id, at := range due {
		if state != "available" || !scheduled.Equal(at) {
			t.Errorf("incident %s: job %s for %v, want available for %v", id, state, scheduled, at)
		}
	}
	waitFor(t, "the escalation", func() bool { return len(escalations(t, pool)) == 1 })
	var late int64
	if err := pool.QueryRow(ctx, `SELECT (detail->>'late_ms')::bigint FROM incident_events WHERE kind = 'escalated'`).Scan(&late); err != nil {
		t.Fatal(err)
	}
	if late < 0 {
		t.Errorf("escalated %d ms before it was due", -late)
	}
	t.Logf("escalated %d ms after it was due", late)
	assertEscalatedOnce(t, pool, due)
}

// TestArmedStepRacesWithCommands: while two replicas hand armed steps
// over, dispatchers take, resolve, reject, reassign, merge and merge and
// unmerge the same incidents. No incident escalates for a round that is
// over or after it was closed or taken; untouched incidents escalate once;
// a reassigned or unmerged one has its new round's step armed, once; no
// step is queued twice.
func TestArmedStepRacesWithCommands(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	pools := []*pgxpool.Pool{newPool(t, url), newPool(t, url)}
	ctx := context.Background()
	svcs := make([]*dispatch.Service, 2)
	for i := range svcs {
		svcs[i] = newTestService(t, testServiceOptions{Pool: pools[i], Rules: armedAttackRules})
		start(t, svcs[i])
	}
	const groups = 7 // take, resolve, reject, reassign, merge, merge and unmerge, untouched
	const n = 4 * groups
	recs := armedIntake(t, svcs[0], pools[0], n, apiReport())
	untouched := func(i int) bool { return i%groups == 6 }
	newRound := func(i int) bool { return i%groups == 3 || i%groups == 5 }

	var wg sync.WaitGroup
	errs := make(chan error, n)
	startGun := make(chan struct{})
	for i, r := range recs {
		if untouched(i) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			time.Sleep(time.Duration(i%7) * 150 * time.Millisecond) // spread over a hand-over tick
			svc := svcs[i%2]
			var res dispatch.CommandResult
			var err error
			switch i % groups {
			case 0:
				res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
			case 1:
				res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
			case 2:
				res, err = svc.Reject(ctx, dispatch.RejectCommand{Ref: r.CaseNumber, Reason: "kein Fall", Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
			case 3:
				res, err = svc.Reassign(ctx, dispatch.ReassignCommand{Ref: r.CaseNumber, Team: "gruen", Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
			case 4, 5:
				// Into the untouched incident of its group.
				res, err = svc.Merge(ctx, dispatch.MergeCommand{Ref: r.CaseNumber, Into: recs[i-i%groups+6].CaseNumber, Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
				if err == nil && i%groups == 5 {
					res, err = svcs[(i+1)%2].Unmerge(ctx, dispatch.UnmergeCommand{Ref: r.CaseNumber, Actor: "dora@stadt.localhost", Via: "api", Dispatcher: true})
				}
			}
			if err == nil && res.Outcome != dispatch.OutcomeApplied {
				err = fmt.Errorf("outcome %s", res.Outcome)
			}
			if err != nil {
				errs <- fmt.Errorf("command on %s (group %d): %w", r.CaseNumber, i%groups, err)
			}
		}()
	}
	bringDue(t, pools[0], 3*time.Second)
	close(startGun)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "the untouched incidents to escalate", func() bool {
		esc := escalations(t, pools[0])
		for i, r := range recs {
			if untouched(i) && len(esc[r.IncidentID.String()]) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // past every handed-over step's due time
	esc := escalations(t, pools[0])
	for i, r := range recs {
		id := r.IncidentID.String()
		if untouched(i) {
			if got := esc[id]; len(got) != 1 || got[0] != 1 {
				t.Errorf("untouched %s escalated in rounds %v, want once in round 1", r.CaseNumber, got)
			}
			continue
		}
		if got := esc[id]; len(got) != 0 {
			t.Errorf("%s (group %d) escalated in rounds %v after the command, want never", r.CaseNumber, i%groups, got)
		}
		// The current round's timers (armed, or queued by a hand-over)
		// and the older rounds' jobs not yet finished.
		var round, current, stale int
		if err := pools[0].QueryRow(ctx, `SELECT escalation_round,
			(escalation_due_at IS NOT NULL)::int + (SELECT count(*) FROM river_job WHERE kind = 'escalate' AND args->>'incident_id' = $2
				AND (args->>'round')::int = escalation_round),
			(SELECT count(*) FROM river_job WHERE kind = 'escalate' AND args->>'incident_id' = $2
				AND (args->>'round')::int <> escalation_round AND state NOT IN ('completed', 'cancelled', 'discarded'))
			FROM incidents WHERE id = $1`, r.IncidentID, r.IncidentID.String()).Scan(&round, &current, &stale); err != nil {
			t.Fatal(err)
		}
		if newRound(i) && (round != 2 || current != 1) {
			t.Errorf("%s (group %d, a new round): round %d with %d timers, want round 2 with one", r.CaseNumber, i%groups, round, current)
		}
		if stale != 0 {
			t.Errorf("%s (group %d): %d unfinished escalate jobs of an older round", r.CaseNumber, i%groups, stale)
		}
	}
	for key, c := range escalateJobs(t, pools[0]) {
		if c != 1 {
			t.Errorf("escalation step %s queued %d times", key, c)
		}
	}
}

// TestArmedStepOnMessengerIntake: a messenger report (the intake inside
// its grouping transaction, tx != nil in insertRouted) arms the step with
// the incident, its reply is queued, and the step escalates once.
func TestArmedStepOnMessengerIntake(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Rules: armedAttackRules, Messenger: rec})
	start(t, svc)
	r := armedIntake(t, svc, pool, 1, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "bau", Sender: "streife1@stadt.localhost",
		Text: "Ampel aus", Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceGeoURI})[0]
	waitFor(t, "the reply naming the case", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, "streife1@stadt.localhost", r.CaseNumber) == 1
	})
	due := bringDue(t, pool, 2*time.Second)
	if len(due) != 1 {
		t.Fatalf("%d armed steps, want 1", len(due))
	}
	waitFor(t, "the escalation", func() bool { return len(escalations(t, pool)) == 1 })
	assertEscalatedOnce(t, pool, due)
	var armed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE escalation_due_at IS NOT NULL`).Scan(&armed); err != nil || armed != 0 {
		t.Errorf("%d steps still armed (%v)", armed, err)
	}
}

// TestArmedStepAfterPolicyRemoved: a rules reload takes the policy away
// between arming and hand-over; the step is handed over, its worker reads
// the current rules and ends the chain without escalating.
func TestArmedStepAfterPolicyRemoved(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(armedAttackRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := routing.NewEngine(path, discard())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Messenger: &recorder{}, Logger: testLogger()},
		dispatch.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	armedIntake(t, svc, pool, 1, apiReport())
	if err := os.WriteFile(path, []byte(armedAttackRulesNoPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rules.Reload(); err != nil {
		t.Fatal(err)
	}
	bringDue(t, pool, time.Second)
	waitFor(t, "the step's job to end", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate' AND state = 'completed'`).Scan(&n)
		return n == 1
	})
	if esc := escalations(t, pool); len(esc) != 0 {
		t.Errorf("escalated under a policy that no longer exists: %v", esc)
	}
}

// TestArmedStepQueuedByDownMigration: migrating down past 00017 with
// steps still armed queues them with an SQL insert into river_job; a real
// queue worker accepts such a job and the escalation fires, once.
func TestArmedStepQueuedByDownMigration(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	pool := newPool(t, url)
	ctx := context.Background()
	armByGoneReplica(t, pool, 2)
	due := bringDue(t, pool, 2*time.Second)

	db := stdlib.OpenDBFromPool(newPool(t, url))
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join("..", "migrations", "sql")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	var column int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'incidents' AND column_name = 'escalation_due_at'`).Scan(&column); err != nil || column != 0 {
		t.Fatalf("escalation_due_at still there after the down migration (%v)", err)
	}
	if jobs := escalateJobs(t, pool); len(jobs) != len(due) {
		t.Fatalf("the down migration queued %v, want one job per armed step (%d)", jobs, len(due))
	}

	// A fresh pool: the old one's connections cached the dropped column's plans.
	after := newPool(t, url)
	start(t, newTestService(t, testServiceOptions{Pool: after, Rules: armedAttackRules}))
	deadline := time.Now().Add(30 * time.Second) // river's scheduler promotes scheduled jobs every 5 s
	for len(escalations(t, after)) < len(due) {
		if time.Now().After(deadline) {
			var state string
			_ = after.QueryRow(ctx, `SELECT string_agg(state::text || coalesce(' ' || errors::text, ''), '; ') FROM river_job WHERE kind = 'escalate'`).Scan(&state)
			t.Fatalf("the down migration's jobs did not escalate: %s", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	assertEscalatedOnce(t, after, due)
}

// TestArmedStepSurvivesKilledReplica: a replica processes a report (the
// intake's service is not started, so the report is routed by the
// replica's processing job, routeTx, which arms the step) and is SIGKILLed
// before any hand-over; a fresh replica hands the step over and it
// escalates once.
func TestArmedStepSurvivesKilledReplica(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(armedAttackRules), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "child.log")
	killChild := startReplicaChild(t, url, rulesPath, out)
	ctx := context.Background()
	pool := newPool(t, url)
	intake := newTestService(t, testServiceOptions{Pool: pool, RulesFile: rulesPath})
	r, err := intake.Intake(ctx, apiReport())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to route the report and arm its step", func() bool {
		var armed bool
		_ = pool.QueryRow(ctx, `SELECT escalation_due_at IS NOT NULL FROM incidents WHERE id = $1`, r.IncidentID).Scan(&armed)
		return armed
	})
	if err := killChild(); err != nil {
		t.Fatal(err)
	}
	if jobs := escalateJobs(t, pool); len(jobs) != 0 {
		t.Fatalf("escalate jobs %v before any hand-over; want the step armed only", jobs)
	}
	due := bringDue(t, pool, 2*time.Second)
	start(t, newTestService(t, testServiceOptions{Pool: newPool(t, url), RulesFile: rulesPath}))
	waitFor(t, "the escalation after the kill", func() bool { return len(escalations(t, pool)) == 1 })
	assertEscalatedOnce(t, pool, due)
	if b, _ := os.ReadFile(out); bytes.Contains(b, []byte("Eskalation")) {
		t.Errorf("the killed child escalated:\n%s", b)
	}
}

// withPoolMaxConns sets pgxpool's pool_max_conns on a database URL.
func withPoolMaxConns(t *testing.T, url string, n int) string {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}
