package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// Attacks on the group commit of new reports (groupcommit.go) with real
// PostgreSQL.

// lostAnswerSender sends every batch to the real pool; a group (a batch
// of more than one intake) is committed there, and then its answer is
// lost, as when the connection breaks after the server's commit.
type lostAnswerSender struct {
	q         batchSender
	perIntake int // statements of one intake's batch
}

func (l lostAnswerSender) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if len(b.QueuedQueries) <= l.perIntake {
		return l.q.SendBatch(ctx, b)
	}
	if err := l.q.SendBatch(ctx, b).Close(); err != nil {
		return fakeResults{err: err}
	}
	return fakeResults{err: io.ErrUnexpectedEOF}
}

// newAttackService is a Service on the real test database with the demo
// town's rules.
func newAttackService(t *testing.T) *Service {
	t.Helper()
	pool := testsvc.Pool(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rules, err := routing.NewEngine(filepath.Join("..", "deploy", "demo", "rules.yaml"), log)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Pool: pool, Rules: rules, Logger: log}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// attackBatch is a new report's batch as insertNew queues it alone (key
// lock, incident with its case number, report, idempotency key).
func (s *Service) attackBatch(key string, caseNumber *string) *pgx.Batch {
	in := &NewReport{Channel: ChannelAPI, Address: "tiefbau", Sender: "token:attack", IdempotencyKey: key, Text: "Schlagloch", Language: "de"}
	var b pgx.Batch
	now := time.Now()
	incident, report := uuid.New(), uuid.New()
	queueKeyLock(&b, in)
	s.queueIncident(&b, openIncident{ID: incident, State: StateReceived, Address: in.Address, Priority: "normal"}, now, true, caseNumber)
	queueReport(&b, in, report, incident, "report", now, false, 0)
	_ = queueAttach(&b, in, now, report)
	return &b
}

// TestGroupCommittedAnswerLostReplayIsNotRolledBack: a group commits on
// the server and its answer is lost (the connection broke). Each batch,
// sent again alone, fails on its own idempotency key: its report IS
// stored, by the group. The caller answers from the stored report
// (errReplay), but must not take the batch for rolled back: insertRouted
// deletes the escalation jobs it queued before a rolled-back batch
// (dropJobs), which here belong to a stored report.
func TestGroupCommittedAnswerLostReplayIsNotRolledBack(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	var probe string
	per := len(s.attackBatch("probe", &probe).QueuedQueries)
	g := &batchGroup{q: lostAnswerSender{q: s.pool, perIntake: per}, timeout: 30 * time.Second}

	// A slow first batch keeps the group busy while the others gather.
	var hold pgx.Batch
	hold.Queue(`SELECT pg_sleep(0.3)`)
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.send(ctx, &hold) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	for i := range n {
		var cn string
		b := s.attackBatch(fmt.Sprintf("lost-%d", i), &cn)
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.send(ctx, b) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == n })
	wg.Wait()

	var reports, last int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM reports WHERE sender = 'token:attack'`).Scan(&reports); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT last FROM case_counters`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if reports != n || last != n {
		t.Fatalf("%d reports stored, counter at %d; want %d and %d (the group committed once)", reports, last, n, n)
	}
	for i, err := range errs {
		if !errors.Is(err, errReplay) {
			t.Errorf("intake %d: %v; want errReplay (answered from its stored report)", i, err)
		}
		if batchRolledBack(err) {
			t.Errorf("intake %d: %v counts as rolled back, but the group stored its report: its queued jobs would be deleted", i, err)
		}
	}
}

// TestGroupKeyLockDoesNotDeadlockWithTransactionIntake: a report retried
// with one Idempotency-Key is stored on both paths at once: in a
// transaction (which takes the key's lock, writes the key, and draws the
// case number last) and by a pool batch grouped after another report.
// Alone, the pool batch takes the key's lock before it draws the case
// number (queueKeyLock), so the two never wait for each other. In a group,
// the batch before it already holds the counter row when it asks for the
// key: a deadlock, which PostgreSQL breaks after deadlock_timeout (1 s),
// the group failing and being sent again. The group must take its keys'
// locks first: no deadlock, no stall, every caller answered.
func TestGroupKeyLockDoesNotDeadlockWithTransactionIntake(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	const key = "retried"
	var timeout time.Duration
	var dl string
	if err := s.pool.QueryRow(ctx, `SHOW deadlock_timeout`).Scan(&dl); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT $1::interval`, dl).Scan(&timeout); err != nil {
		t.Fatal(err)
	}

	// The transaction path takes the key's lock and writes the key.
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	in := &NewReport{Channel: ChannelAPI, Address: "tiefbau", Sender: "token:attack", IdempotencyKey: key, Text: "Schlagloch", Language: "de"}
	now := time.Now()
	incident, report := uuid.New(), uuid.New()
	var first pgx.Batch
	queueKeyLock(&first, in)
	var txCase string
	s.queueIncident(&first, openIncident{ID: incident, State: StateReceived, Address: in.Address, Priority: "normal"}, now, false, &txCase)
	queueReport(&first, in, report, incident, "report", now, false, 0)
	_ = queueAttach(&first, in, now, report)
	if err := sendBatch(ctx, tx, &first); err != nil {
		t.Fatal(err)
	}

	// The pool path: a fresh report and the retry, grouped.
	g := &batchGroup{q: s.pool, timeout: 30 * time.Second}
	var wg sync.WaitGroup
	occupyGroup(ctx, t, g, &wg)
	var freshCase, retryCase string
	fresh, retry := s.attackBatch("fresh", &freshCase), s.attackBatch(key, &retryCase)
	var freshErr, retryErr error
	start := time.Now()
	wg.Add(1)
	go func() { defer wg.Done(); freshErr = g.send(ctx, fresh) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 1 })
	wg.Add(1)
	go func() { defer wg.Done(); retryErr = g.send(ctx, retry) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 2 })

	// The group waits for the key's lock; then the transaction draws the
	// case number and commits.
	waitUntil(t, func() bool {
		var waiting bool
		_ = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting)
		return waiting
	})
	var last pgx.Batch
	s.queueCaseNumber(&last, incident, report, now, &txCase)
	txErr := sendBatch(ctx, tx, &last)
	if txErr == nil {
		txErr = tx.Commit(ctx)
	}
	wg.Wait()
	took := time.Since(start)

	if txErr != nil {
		t.Errorf("transaction intake: %v", txErr)
	}
	if freshErr != nil {
		t.Errorf("fresh report: %v", freshErr)
	}
	if !errors.Is(retryErr, errReplay) {
		t.Errorf("retry: %v; want errReplay (answered from the transaction's report)", retryErr)
	}
	if took >= timeout {
		t.Errorf("the intakes took %v, at least deadlock_timeout %v: the group deadlocked with the transaction", took, timeout)
	}
	var reports, counter int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), (SELECT last FROM case_counters) FROM reports WHERE sender = 'token:attack'`).Scan(&reports, &counter); err != nil {
		t.Fatal(err)
	}
	if reports != 2 || counter != 2 {
		t.Errorf("%d reports, counter at %d; want 2 and 2", reports, counter)
	}
	t.Logf("transaction intake and the group answered in %v (case numbers %s, %s)", took, txCase, freshCase)
}

// occupyGroup makes g busy sending a batch that takes 0.2 s (wg counts
// it), so that the batches sent next gather into one group.
func occupyGroup(ctx context.Context, t *testing.T, g *batchGroup, wg *sync.WaitGroup) {
	t.Helper()
	var hold pgx.Batch
	hold.Queue(`SELECT pg_sleep(0.2)`)
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.send(ctx, &hold) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
}

// holdCaseCounter makes every intake's case-number draw wait until the
// returned release is called, as a concurrent intake that drew it and has
// not committed yet does: it holds the counter rows of this year and its
// neighbours (whatever the configured time zone).
func holdCaseCounter(t *testing.T, pool *pgxpool.Pool) (release func()) {
	t.Helper()
	return holdInTx(t, pool, `INSERT INTO case_counters (year, last) SELECT y, 0 FROM generate_series($1::int - 1, $1::int + 1) y
		ON CONFLICT (year) DO UPDATE SET last = case_counters.last`, time.Now().Year())
}

// TestGroupKilledInFlightAnswersEveryIntake: the connection of a group
// waiting for the case counter is killed (pg_terminate_backend): nothing
// of it committed. Each batch is sent again alone and stored once, with
// the case number its caller is told, also those without a client
// Idempotency-Key (a generated key, no key lock).
func TestGroupKilledInFlightAnswersEveryIntake(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	g := &batchGroup{q: s.pool, timeout: 30 * time.Second}
	release := holdCaseCounter(t, s.pool)

	var wg sync.WaitGroup
	occupyGroup(ctx, t, g, &wg)
	const n = 6
	nums := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		key := fmt.Sprintf("killed-%d", i)
		if i%2 == 1 {
			key = "generated:" + uuid.NewString()
		}
		b := s.attackBatch(key, &nums[i])
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.send(ctx, b) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == n })
	// The group waits for the counter: kill its connection.
	var killed bool
	waitUntil(t, func() bool {
		_ = s.pool.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%case_counters%'`).Scan(&killed)
		return killed
	})
	release()
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("intake %d: %v", i, err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT case_number FROM reports WHERE sender = 'token:attack' ORDER BY case_number`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != n {
		t.Fatalf("%d reports stored, want %d: %v", len(stored), n, stored)
	}
	told := map[string]bool{}
	for _, c := range nums {
		told[c] = true
	}
	year := time.Now().In(s.cfg.TimeZone).Year()
	for i, c := range stored {
		if want := fmt.Sprintf("%d-%06d", year, i+1); c != want {
			t.Errorf("stored case number %d is %s, want %s (no gaps)", i, c, want)
		}
		if !told[c] {
			t.Errorf("case number %s stored but told to no caller (told %v)", c, nums)
		}
	}
}

// TestGroupFollowerWithCancelledContextGetsTheOutcome: callers whose
// context has ended, as follower and as the one who sends the group,
// still get the group's outcome: their reports are stored and they are
// told so, not an error for an accepted report.
func TestGroupFollowerWithCancelledContextGetsTheOutcome(t *testing.T) {
	s := newAttackService(t)
	g := &batchGroup{q: s.pool, timeout: 30 * time.Second}
	release := holdCaseCounter(t, s.pool)
	gone, cancel := context.WithCancel(context.Background())
	var first, second, third string
	var errFirst, errSecond, errThird error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); errFirst = g.send(gone, s.attackBatch("c1", &first)) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	wg.Add(2)
	go func() { defer wg.Done(); errSecond = g.send(gone, s.attackBatch("c2", &second)) }()
	go func() { defer wg.Done(); errThird = g.send(gone, s.attackBatch("c3", &third)) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 2 })
	cancel() // the clients hung up while waiting
	time.Sleep(50 * time.Millisecond)
	release()
	wg.Wait()
	for i, err := range []error{errFirst, errSecond, errThird} {
		if err != nil {
			t.Errorf("intake %d: %v; want its report stored and told", i, err)
		}
	}
	var stored int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM reports WHERE sender = 'token:attack' AND case_number IN ($1, $2, $3)`,
		first, second, third).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 3 {
		t.Errorf("%d of the 3 told case numbers (%s, %s, %s) stored", stored, first, second, third)
	}
}

// TestPostRecordGroupWithRetainedIncident: the direct posts of three
// incidents are recorded in one group; one incident was deleted by
// retention meanwhile (its room post with it). Its record finds nothing
// to mark and fails nothing: the others are recorded (posted, routed, a
// "posted" event) in the same group.
func TestPostRecordGroupWithRetainedIncident(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for i, id := range ids {
		if _, err := s.pool.Exec(ctx, `
			INSERT INTO incidents (id, case_number, state, address, priority, escalation_round, created_at, updated_at)
			VALUES ($1, $2, 'received', 'tiefbau', 'normal', 0, now(), now())`, id, fmt.Sprintf("post-%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO room_posts (origin_id, incident_id, room) VALUES ($1, $2, 'tiefbau@rooms')`,
			fmt.Sprintf("origin-%d", i), id); err != nil {
			t.Fatal(err)
		}
	}
	// Retention removes the first incident (retention.go's order).
	for _, q := range []string{`DELETE FROM room_posts WHERE incident_id = $1`, `DELETE FROM incidents WHERE id = $1`} {
		if _, err := s.pool.Exec(ctx, q, ids[0]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	occupyGroup(ctx, t, s.postRecords, &wg)
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.recordDirectPost(ctx, roomPostArgs{IncidentID: id, Room: "tiefbau@rooms", OriginID: fmt.Sprintf("origin-%d", i)}, fmt.Sprintf("stanza-%d", i))
		}()
	}
	waitUntil(t, func() bool {
		s.postRecords.mu.Lock()
		defer s.postRecords.mu.Unlock()
		return len(s.postRecords.pending) == len(ids)
	})
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	var posted, routed, events int
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM room_posts WHERE posted_at IS NOT NULL),
		(SELECT count(*) FROM incidents WHERE state = 'routed'), (SELECT count(*) FROM incident_events WHERE kind = 'posted')`).Scan(&posted, &routed, &events); err != nil {
		t.Fatal(err)
	}
	if posted != 2 || routed != 2 || events != 2 {
		t.Errorf("%d posts recorded, %d incidents routed, %d posted events; want 2 each", posted, routed, events)
	}
}

// TestGroupWithReplayTellsStoredCaseNumbers: a replay (a used
// Idempotency-Key) among fresh reports fails the group; the group had
// already drawn case numbers into the fresh reports' receipts before it
// failed. Sent again alone, each fresh report is stored once with the
// case number its caller is told, without gaps; the replay is errReplay.
func TestGroupWithReplayTellsStoredCaseNumbers(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	var used string
	if err := s.intakes.send(ctx, s.attackBatch("used", &used)); err != nil {
		t.Fatal(err)
	}
	g := &batchGroup{q: s.pool, timeout: 30 * time.Second}
	release := holdCaseCounter(t, s.pool)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.send(ctx, s.attackBatch("first", new(string))) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	const n = 5
	nums := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		key := fmt.Sprintf("fresh-%d", i)
		if i == n-1 {
			key = "used" // last: the fresh ones drew their numbers first
		}
		b := s.attackBatch(key, &nums[i])
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.send(ctx, b) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == n })
	release()
	wg.Wait()
	if !errors.Is(errs[n-1], errReplay) || batchRolledBack(errs[n-1]) != true {
		t.Errorf("replay: %v; want errReplay, rolled back", errs[n-1])
	}
	for i := range n - 1 {
		if errs[i] != nil {
			t.Errorf("fresh %d: %v", i, errs[i])
			continue
		}
		var stored int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM reports r JOIN idempotency_keys k ON k.report_id = r.id
			WHERE k.key = $1 AND r.case_number = $2`, fmt.Sprintf("fresh-%d", i), nums[i]).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != 1 {
			t.Errorf("fresh %d told %s, stored with it %d times", i, nums[i], stored)
		}
	}
	var reports, counter int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), (SELECT max(last) FROM case_counters) FROM reports`).Scan(&reports, &counter); err != nil {
		t.Fatal(err)
	}
	if reports != n+1 || counter != n+1 { // "used", "first" and the n-1 fresh
		t.Errorf("%d reports, counter at %d; want %d each", reports, counter, n+1)
	}
}

// TestGroupTimeoutBoundsEveryCaller: the case counter is held by a
// transaction that does not end (a stuck intake). A group times out
// (batchGroup.timeout) and is sent again batch by batch; each re-send
// must not get a timeout of its own one after the other, or the last of
// a group of 64 would wait 65 timeouts (half an hour with
// poolBatchTimeout), and every intake arriving meanwhile behind it. Each
// caller is answered within a few timeouts: the group's, the re-sends'
// together, and the group before it.
func TestGroupTimeoutBoundsEveryCaller(t *testing.T) {
	s := newAttackService(t)
	ctx := context.Background()
	const timeout = 500 * time.Millisecond
	g := &batchGroup{q: s.pool, timeout: timeout}
	release := holdCaseCounter(t, s.pool)
	defer release()

	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.send(ctx, s.attackBatch("stuck-0", new(string))) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	const n = 4
	took := make([]time.Duration, n)
	errs := make([]error, n)
	for i := range n {
		b := s.attackBatch(fmt.Sprintf("stuck-%d", i+1), new(string))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = g.send(ctx, b)
			took[i] = time.Since(start)
		}()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == n })
	wg.Wait()
	for i := range n {
		if errs[i] == nil {
			t.Errorf("intake %d stored while the counter is held", i)
		}
		// The batch before (1 timeout), the group (1), its re-sends (1),
		// and some slack for a loaded machine.
		if took[i] > 4*timeout+timeout/2 {
			t.Errorf("intake %d answered after %v, more than 4.5 timeouts of %v (each re-send timed out on its own)", i, took[i], timeout)
		}
	}
	t.Logf("answered after %v (timeout %v)", took, timeout)
}
