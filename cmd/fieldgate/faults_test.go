package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// The fault suite: `fieldgate serve` runs as child processes (this test
// binary re-executed, see TestMain) against the real services, and is
// killed, restarted and cut off from its services while it works. Every
// scenario then checks that each accepted report was stored, routed and
// posted exactly once, counted in the room's archive (XEP-0313).
//
// The short form runs under `make test`; `make faults` runs the full form
// (FIELDGATE_FAULTS=full: more repetitions, more load).

// TestMain runs `fieldgate serve` instead of the tests when the fault
// suite starts this binary as a replica.
func TestMain(m *testing.M) {
	if os.Getenv("FG_FAULT_REPLICA") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fieldgate:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fullFaults reports whether the long form was asked for.
func fullFaults() bool { return os.Getenv("FIELDGATE_FAULTS") == "full" }

// replica is one `fieldgate serve` child process.
type replica struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	base string
	log  *syncBuffer
	done chan struct{}
}

// syncBuffer collects log output written from other goroutines.
type syncBuffer = testsvc.LogBuffer

// startReplica starts `fieldgate serve` with the stack's environment
// (plus extra) in a child process and waits until it listens; the stack's
// HTTP base becomes the replica's.
func (s *stack) startReplica(name string, extra map[string]string) *replica {
	s.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FG_FAULT_REPLICA=1", "FIELDGATE_LOG_LEVEL=info")
	for k, v := range s.env {
		if k != "FIELDGATE_LOG_LEVEL" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &replica{t: s.t, name: name, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = r.log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "fieldgate: listening on "); ok {
				addr <- a
			}
			fmt.Fprintln(r.log, sc.Text())
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	s.t.Cleanup(func() {
		r.kill()
		if s.t.Failed() {
			s.t.Logf("log of replica %s:\n%s", r.name, r.log.String())
		}
	})
	select {
	case r.base = <-addr:
	case <-r.done:
		s.t.Fatalf("replica %s exited at start:\n%s", name, r.log.String())
	case <-time.After(90 * time.Second):
		s.t.Fatalf("replica %s did not start within 90s:\n%s", name, r.log.String())
	}
	s.base = r.base
	return r
}

// kill sends SIGKILL and waits for the process to be gone.
func (r *replica) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// faultStack is a stack whose gateway runs as replicas.
func faultStack(t *testing.T, extra map[string]string) (*stack, *replica) {
	t.Helper()
	return newStack(t, extra).startFaulted()
}

// startFaulted starts the first replica and creates the API token.
func (s *stack) startFaulted() (*stack, *replica) {
	t := s.t
	t.Helper()
	r := s.startReplica("r1", nil)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--name", "faults-app", "--role", "reporter", "--address", "*"}, s.getenv, &out, io.Discard); err != nil {
		t.Fatalf("token create: %v", err)
	}
	s.token = strings.TrimSpace(out.String())
	s.waitReady()
	return s, r
}

// db opens a connection to the stack's database for the rest of the test.
func (s *stack) dbConn() *pgx.Conn {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// fileReport posts a text report and returns its case number. Reports of
// different n are 110 m apart: each is an incident of its own.
func (s *stack) fileReport(n int, text string) string {
	s.t.Helper()
	body, ct := form(s.t, map[string]string{"to": "tiefbau", "text": text, "lat": fmt.Sprintf("%.6f", 43.3+float64(n)*0.001), "lon": "11.5"}, nil)
	resp, rec := s.post(s.token, body, ct)
	if resp.StatusCode != http.StatusAccepted {
		s.t.Fatalf("POST: %s %v", resp.Status, rec)
	}
	return rec["case_number"].(string)
}

// waitQueueIdle waits until no room post or chat job is left unfinished.
func waitQueueIdle(t *testing.T, conn *pgx.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var open int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE kind IN ('process_report','room_post','chat_message','chat_outbox') AND state NOT IN ('completed','discarded','cancelled')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%d jobs still unfinished after %v:\n%s", open, within, unfinishedJobs(t, conn))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unfinishedJobs describes the unfinished jobs, for a failure message.
func unfinishedJobs(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT id, kind, state, attempt, scheduled_at, left(args::text, 200),
			left(coalesce(errors[array_length(errors, 1)]->>'error', ''), 300)
		FROM river_job WHERE kind IN ('process_report','room_post','chat_message','chat_outbox') AND state NOT IN ('completed','discarded','cancelled')
		ORDER BY id LIMIT 20`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var attempt int
		var kind, state, args, last string
		var at time.Time
		if err := rows.Scan(&id, &kind, &state, &attempt, &at, &args, &last); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  job %d %s %s attempt %d due %s args %s last error %q\n", id, kind, state, attempt, at.Format(time.RFC3339Nano), args, last)
	}
	return b.String()
}

// postCounts counts, for each incident post recorded in room_posts, how
// often its origin-id is in the room's archive: the truth of "posted once".
func postCounts(t *testing.T, conn *pgx.Conn, archive []testsvc.ArchivedMessage, nick string) (once, twice, missing int, dup []string) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range archive {
		if m.Forwarded.Message.OriginID != nil && strings.HasSuffix(m.Forwarded.Message.From, "/"+nick) {
			seen[m.Forwarded.Message.OriginID.ID]++
		}
	}
	rows, err := conn.Query(context.Background(), `SELECT p.origin_id, i.case_number FROM room_posts p JOIN incidents i ON i.id = p.incident_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var origin, caseNo string
		if err := rows.Scan(&origin, &caseNo); err != nil {
			t.Fatal(err)
		}
		switch n := seen[origin]; {
		case n == 0:
			missing++
		case n == 1:
			once++
		default:
			twice++
			dup = append(dup, caseNo+"×"+strconv.Itoa(n))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return once, twice, missing, dup
}

// TestRoomPostOnceAfterKill is issue 18's reproduction: a report is
// posted, the gateway is SIGKILLed the moment room_posts.posted_at is
// set, and restarted. The post must be in the room once, and the restart
// must leave no job behind for the stuck-job rescue. Repeated 3 times
// (20 with FIELDGATE_FAULTS=full).
func TestRoomPostOnceAfterKill(t *testing.T) {
	s, r := faultStack(t, nil)
	conn := s.dbConn()
	room := testsvc.Room("tiefbau", s.suffix)
	since := time.Now().Add(-time.Minute)
	rounds := 3
	if fullFaults() {
		rounds = 20
	}
	for i := range rounds {
		caseNo := s.fileReport(i, fmt.Sprintf("Ampel ausgefallen, Runde %d", i))
		deadline := time.Now().Add(60 * time.Second)
		for {
			var posted bool
			err := conn.QueryRow(context.Background(), `SELECT p.posted_at IS NOT NULL FROM room_posts p
				JOIN incidents i ON i.id = p.incident_id WHERE i.case_number = $1`, caseNo).Scan(&posted)
			if err != nil && err != pgx.ErrNoRows {
				t.Fatal(err)
			}
			if posted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %s never posted", i, caseNo)
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.kill()
		r = s.startReplica(fmt.Sprintf("r%d", i+2), nil)
		waitQueueIdle(t, conn, 30*time.Second)
	}
	s.waitReady()
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	once, twice, missing, dup := postCounts(t, conn, anna.RoomArchive(room, since), s.nick)
	t.Logf("%d rounds: posted once %d, twice %d, missing %d", rounds, once, twice, missing)
	if once != rounds || twice != 0 || missing != 0 {
		t.Fatalf("posted once %d of %d, twice %d %v, missing %d", once, rounds, twice, dup, missing)
	}
}

// TestRoomPostOnceAfterKillBeforeRecord kills the gateway in the harder
// window: the room has reflected the post, but its record has not
// committed (a trigger makes the record wait for a lock the test holds,
// and the record's statement dies with its process: the test ends its
// database session too, else the waiting statement would still commit).
// The restarted gateway hands the post to its queue at its hand-over
// time and must find it in the room's archive by its origin-id, record
// it, and not post again.
func TestRoomPostOnceAfterKillBeforeRecord(t *testing.T) {
	s, r := faultStack(t, nil)
	conn := s.dbConn()
	ctx := context.Background()
	room := testsvc.Room("tiefbau", s.suffix)
	since := time.Now().Add(-time.Minute)
	for _, q := range []string{
		`CREATE FUNCTION faults_hold() RETURNS trigger AS $$
		 BEGIN PERFORM pg_advisory_xact_lock_shared(18018); RETURN NEW; END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER faults_hold BEFORE UPDATE ON room_posts FOR EACH ROW EXECUTE FUNCTION faults_hold()`,
		`SELECT pg_advisory_lock(18018)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	anna.JoinRoom(room, "anna-"+s.suffix)
	caseNo := s.fileReport(0, "Gullydeckel fehlt")
	anna.WaitMessage(60*time.Second, "the post", func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})
	time.Sleep(200 * time.Millisecond) // the worker is now waiting inside its record transaction
	var posted bool
	if err := conn.QueryRow(ctx, `SELECT bool_or(posted_at IS NOT NULL) FROM room_posts`).Scan(&posted); err != nil || posted {
		t.Fatalf("posted_at set while the record was held (%v): the test proves nothing", err)
	}
	r.kill()
	killed := time.Now()
	var ended int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()`).Scan(&ended); err != nil || ended != 1 {
		t.Fatalf("ended %d waiting record statements (%v), want 1", ended, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(18018)`); err != nil {
		t.Fatal(err)
	}
	r = s.startReplica("r2", nil)
	var stanzaID string
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := conn.QueryRow(ctx, `SELECT coalesce(stanza_id, '') FROM room_posts WHERE posted_at IS NOT NULL`).Scan(&stanzaID)
		if err == nil {
			break
		}
		if err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the post was never recorded after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovered := time.Since(killed)
	waitQueueIdle(t, conn, 30*time.Second)
	archive := anna.RoomArchive(room, since)
	once, twice, missing, dup := postCounts(t, conn, archive, s.nick)
	if once != 1 || twice != 0 || missing != 0 {
		t.Fatalf("posted once %d, twice %d %v, missing %d; want once 1", once, twice, dup, missing)
	}
	var archived string
	for _, m := range archive {
		if m.Forwarded.Message.OriginID != nil && strings.Contains(m.Forwarded.Message.Body, caseNo) {
			archived = m.ID
		}
	}
	if stanzaID == "" || stanzaID != archived {
		t.Errorf("recorded stanza-id %q, archive id %q: the record should come from the archive", stanzaID, archived)
	}
	if !strings.Contains(r.log.String(), "re-send suppressed") {
		t.Errorf("the suppressed re-send was not logged:\n%s", r.log.String())
	}
	t.Logf("recorded from the archive %v after the kill", recovered.Round(time.Millisecond))
}

// ---- Load with faults ----

// faultLoad is one scenario's load: reports filed concurrently over HTTP
// by clients that retry (same Idempotency-Key) on 503 and on network
// errors, as the README tells apps to, against whichever replica is up.
type faultLoad struct {
	s     *stack
	photo []byte // every other report carries it

	mu       sync.Mutex
	bases    []string // live replicas' HTTP bases
	spread   bool     // first tries go round-robin over bases (else to the first)
	rr       int
	accepted map[string]string    // idempotency key → report id
	at       map[string]time.Time // report id → when the client got its receipt
	errs     []string             // final failures (never retried into success)
}

func newFaultLoad(s *stack) *faultLoad {
	photo, err := os.ReadFile(testsvc.Photo(s.t, "orientation_6.jpg")) // no GPS: the API position stands
	if err != nil {
		s.t.Fatal(err)
	}
	return &faultLoad{s: s, photo: photo, accepted: map[string]string{}, at: map[string]time.Time{}}
}

func (l *faultLoad) setBases(b ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bases = b
}

func (l *faultLoad) base(try int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bases) == 0 {
		return ""
	}
	if l.spread {
		l.rr++
		return l.bases[l.rr%len(l.bases)]
	}
	return l.bases[try%len(l.bases)]
}

// file posts report n until it is accepted or 3 minutes have passed.
func (l *faultLoad) file(n int) {
	key := fmt.Sprintf("fault-%s-%d", l.s.suffix, n)
	fields := map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Störung %d", n),
		"lat": fmt.Sprintf("%.6f", 43.3+float64(n)*0.001), "lon": "11.5"}
	deadline := time.Now().Add(3 * time.Minute)
	var last string
	for try := 0; time.Now().Before(deadline); try++ {
		status, id, retryAfter, err := l.post(l.base(try), key, fields, n%2 == 0)
		switch {
		case err == nil && (status == http.StatusAccepted || status == http.StatusOK):
			l.mu.Lock()
			l.accepted[key] = id
			if _, ok := l.at[id]; !ok {
				l.at[id] = time.Now()
			}
			l.mu.Unlock()
			return
		case err != nil:
			last = err.Error()
			time.Sleep(200 * time.Millisecond)
		case status == http.StatusServiceUnavailable:
			last = "503"
			time.Sleep(min(retryAfter, time.Second)) // the test does not wait the full Retry-After
		default:
			l.mu.Lock()
			l.errs = append(l.errs, fmt.Sprintf("report %d: status %d", n, status))
			l.mu.Unlock()
			return
		}
	}
	l.mu.Lock()
	l.errs = append(l.errs, fmt.Sprintf("report %d: not accepted within 3 minutes (last: %s)", n, last))
	l.mu.Unlock()
}

func (l *faultLoad) post(base, key string, fields map[string]string, withPhoto bool) (int, string, time.Duration, error) {
	if base == "" {
		return 0, "", 0, fmt.Errorf("no replica up")
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if withPhoto {
		fw, _ := w.CreateFormFile("photo", "photo.jpg")
		_, _ = fw.Write(l.photo)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/reports", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+l.s.token)
	req.Header.Set("Idempotency-Key", key)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	var rec struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, rec.ID, time.Duration(ra) * time.Second, nil
}

// run files n reports with c clients; fault runs once a third of them
// are accepted and returns when the fault is over (services back).
func (l *faultLoad) run(n, c int, fault func()) (faultEnd time.Time) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l.file(i)
			}
		}()
	}
	faulted := make(chan time.Time, 1)
	go func() {
		for {
			l.mu.Lock()
			k := len(l.accepted)
			l.mu.Unlock()
			if k >= n/3 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fault()
		faulted <- time.Now()
	}()
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return <-faulted
}

// faultRow is one line of the suite's table. recovery is the time from
// the fault's end (service back, replica restarted) until every report
// accepted before it was posted.
type faultRow struct {
	scenario                              string
	accepted, stored, routed, once, twice int
	missing, photos, photosOK, orphans    int
	recovery                              time.Duration
}

func (r faultRow) String() string {
	return fmt.Sprintf("| %-28s | %8d | %6d | %6d | %11d | %5d | %7d | %6d/%-6d | %7d | %8.1f |", r.scenario, r.accepted, r.stored, r.routed,
		r.once, r.twice, r.missing, r.photosOK, r.photos, r.orphans, r.recovery.Seconds())
}

const faultTableHeader = "| scenario                     | accepted | stored | routed | posted once | twice | missing | photos (sha256 ok) | orphans | recovery s |\n" +
	"|------------------------------|---------:|-------:|-------:|------------:|------:|--------:|--------------:|--------:|-----------:|"

// verify waits until every accepted report is posted (or 3 minutes
// pass), then counts everything the row reports, from the database, the
// bucket and the room's archive.
func (l *faultLoad) verify(name string, faultEnd time.Time, since time.Time) faultRow {
	t := l.s.t
	t.Helper()
	ctx := context.Background()
	conn := l.s.dbConn()
	row := faultRow{scenario: name}
	l.mu.Lock()
	ids := make([]string, 0, len(l.accepted))
	for _, id := range l.accepted {
		ids = append(ids, id)
	}
	errs := l.errs
	l.mu.Unlock()
	for _, e := range errs {
		t.Errorf("%s: %s", name, e)
	}
	row.accepted = len(ids)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var unposted int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) AS r(id)
			WHERE NOT EXISTS (SELECT 1 FROM reports rp JOIN room_posts p ON p.incident_id = rp.incident_id
				WHERE rp.id = r.id AND p.posted_at IS NOT NULL)`, ids).Scan(&unposted); err != nil {
			t.Fatal(err)
		}
		if unposted == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NOT NULL)
		FROM reports WHERE id = ANY($1::uuid[])`, ids).Scan(&row.stored, &row.routed); err != nil {
		t.Fatal(err)
	}
	// Recovery: from the fault's end until the last report accepted before
	// it (the backlog the fault held up) was posted.
	var before []string
	l.mu.Lock()
	for id, at := range l.at {
		if at.Before(faultEnd) {
			before = append(before, id)
		}
	}
	l.mu.Unlock()
	var lastPost *time.Time
	if err := conn.QueryRow(ctx, `SELECT max(p.posted_at) FROM reports rp JOIN room_posts p ON p.incident_id = rp.incident_id
		WHERE rp.id = ANY($1::uuid[])`, before).Scan(&lastPost); err != nil {
		t.Fatal(err)
	}
	if lastPost != nil {
		row.recovery = max(lastPost.Sub(faultEnd), 0)
	}
	waitQueueIdle(t, conn, 60*time.Second)

	// Escalation: every open incident under a policy has its current
	// round's first step, armed on its row or queued (a step lost to the
	// fault would never escalate).
	var escalating, untimed int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE i.escalation_due_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'escalate'
				AND j.args->>'incident_id' = i.id::text AND (j.args->>'round')::int = i.escalation_round))
		FROM incidents i WHERE i.id IN (SELECT incident_id FROM reports WHERE id = ANY($1::uuid[]))
		AND i.state NOT IN ('merged', 'resolved', 'rejected') AND coalesce(i.policy, '') <> ''`, ids).Scan(&escalating, &untimed); err != nil {
		t.Fatal(err)
	}
	if escalating == 0 || untimed > 0 {
		t.Errorf("%s: %d of %d open incidents under a policy have no escalation step, armed or queued", name, untimed, escalating)
	}

	// Posts: every post of each accepted report's incident (its team's
	// room, and rooms it is copied to), counted in that room's archive.
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	rows, err := conn.Query(ctx, `SELECT r.id::text, p.room, p.origin_id
		FROM unnest($1::uuid[]) AS r(id) JOIN reports rp ON rp.id = r.id JOIN room_posts p ON p.incident_id = rp.incident_id`, ids)
	if err != nil {
		t.Fatal(err)
	}
	type post struct{ report, room, origin string }
	var posts []post
	for rows.Next() {
		var p post
		if err := rows.Scan(&p.report, &p.room, &p.origin); err != nil {
			t.Fatal(err)
		}
		posts = append(posts, p)
	}
	rows.Close()
	seen := map[string]int{} // room + origin-id → times in the archive
	archives := map[string]bool{}
	for _, p := range posts {
		if archives[p.room] {
			continue
		}
		archives[p.room] = true
		for _, m := range anna.RoomArchive(p.room, since) {
			if f := m.Forwarded.Message; f.OriginID != nil && strings.HasSuffix(f.From, "/"+l.s.nick) {
				seen[p.room+" "+f.OriginID.ID]++
			}
		}
	}
	worst := map[string]int{} // report → 1 all once, 2 some twice, 0 some missing
	for _, id := range ids {
		worst[id] = 0
	}
	hasPost := map[string]bool{}
	for _, p := range posts {
		n := seen[p.room+" "+p.origin]
		w, ok := worst[p.report]
		switch {
		case n == 0:
			worst[p.report] = -1
		case n > 1 && w >= 0:
			worst[p.report] = 2
		case n == 1 && ok && w == 0:
			worst[p.report] = 1
		}
		hasPost[p.report] = true
	}
	for id, w := range worst {
		switch {
		case w == 1 && hasPost[id]:
			row.once++
		case w == 2:
			row.twice++
		default:
			row.missing++
		}
	}

	// Photos: in the bucket, with the SHA-256 of what was sent.
	want := sha256.Sum256(l.photo)
	mrows, err := conn.Query(ctx, `SELECT object_key, sha256 FROM media_objects WHERE report_id = ANY($1::uuid[])`, ids)
	if err != nil {
		t.Fatal(err)
	}
	type obj struct{ key, sum string }
	var objs []obj
	for mrows.Next() {
		var o obj
		if err := mrows.Scan(&o.key, &o.sum); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	mrows.Close()
	row.photos = len(objs)
	for _, o := range objs {
		rc, err := l.s.s3.GetObject(ctx, l.s.bucket, o.key, minio.GetObjectOptions{})
		if err != nil {
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err == nil && hex.EncodeToString(h.Sum(nil)) == o.sum && o.sum == hex.EncodeToString(want[:]) {
			row.photosOK++
		}
	}
	if wantPhotos := (row.accepted + 1) / 2; row.photos < wantPhotos-1 || row.photos > wantPhotos+1 {
		t.Errorf("%s: %d photos stored for %d accepted reports (every other one has a photo)", name, row.photos, row.accepted)
	}

	// Orphans: objects no row references, after the sweep has run as a
	// replica two hours later would run it.
	sweeper := l.s.sweeper()
	if _, err := sweeper.SweepOrphans(ctx, false); err != nil {
		t.Errorf("%s: sweep: %v", name, err)
	}
	for o := range l.s.s3.ListObjects(ctx, l.s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM media_objects WHERE object_key = $1 OR derivative_key = $1 OR thumb_key = $1`, o.Key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			row.orphans++
		}
	}
	if row.stored != row.accepted || row.routed != row.accepted || row.once != row.accepted || row.twice != 0 || row.missing != 0 ||
		row.photosOK != row.photos || row.orphans != 0 {
		t.Errorf("%s: not exactly once:\n%s\n%s", name, faultTableHeader, row)
	}
	return row
}

// sweeper is a dispatch service on the stack's database and bucket whose
// clock runs two hours ahead, so the orphan sweep judges fresh objects.
func (s *stack) sweeper() *dispatch.Service {
	s.t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(pool.Close)
	store, err := media.New(ctx, media.Config{Endpoint: s.env["FIELDGATE_S3_ENDPOINT"], AccessKey: s.env["FIELDGATE_S3_ACCESS_KEY"],
		SecretKey: s.env["FIELDGATE_S3_SECRET_KEY"], Bucket: s.bucket}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		s.t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Media: store, Rules: noRules{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		dispatch.Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }, Sweep: dispatch.SweepConfig{Interval: -1}})
	if err != nil {
		s.t.Fatal(err)
	}
	return svc
}

// faultSize is the load per scenario: reports and concurrent clients.
func faultSize() (n, c int) {
	if fullFaults() {
		return 300, 8
	}
	return 24, 4
}

// faultTable collects the rows of the scenarios that ran, for the log.
var faultTable struct {
	mu   sync.Mutex
	rows []faultRow
}

func reportRow(t *testing.T, r faultRow) {
	faultTable.mu.Lock()
	faultTable.rows = append(faultTable.rows, r)
	faultTable.mu.Unlock()
	t.Logf("\n%s\n%s", faultTableHeader, r)
}

// TestFaultGatewayKill: SIGKILL of the only replica under load, once and
// (full form) three times in a row, restarted each time.
func TestFaultGatewayKill(t *testing.T) {
	kills := []int{1}
	if fullFaults() {
		kills = []int{1, 3}
	}
	for _, k := range kills {
		t.Run(fmt.Sprintf("kill%d", k), func(t *testing.T) {
			s, r := faultStack(t, nil)
			since := time.Now().Add(-time.Minute)
			l := newFaultLoad(s)
			l.setBases(r.base)
			n, c := faultSize()
			end := l.run(n, c, func() {
				for i := range k {
					r.kill()
					l.setBases()
					r = s.startReplica(fmt.Sprintf("r%d", i+2), nil)
					l.setBases(r.base)
					if i < k-1 {
						time.Sleep(2 * time.Second)
					}
				}
			})
			reportRow(t, l.verify(fmt.Sprintf("gateway SIGKILL ×%d", k), end, since))
		})
	}
}

// TestFaultReplicaFailover: two replicas share the load; the one holding
// the XMPP component is SIGKILLed and not restarted: the survivor takes
// the component over and finishes the dead one's jobs.
func TestFaultReplicaFailover(t *testing.T) {
	s, r1 := faultStack(t, nil)
	r2 := s.startReplica("r2", nil)
	since := time.Now().Add(-time.Minute)
	l := newFaultLoad(s)
	l.setBases(r1.base, r2.base)
	n, c := faultSize()
	end := l.run(n, c, func() {
		// r1 started first and holds the component lock.
		r1.kill()
		l.setBases(r2.base)
	})
	reportRow(t, l.verify("2 replicas, holder killed", end, since))
}

// TestFaultProsodyRestart: the XMPP server stops (cleanly, and in the
// full form SIGKILLed) for five seconds under load and comes back.
func TestFaultProsodyRestart(t *testing.T) {
	testsvc.ExclusiveXMPP(t)
	sigs := []syscall.Signal{syscall.SIGTERM}
	if fullFaults() {
		sigs = append(sigs, syscall.SIGKILL)
	}
	for _, sig := range sigs {
		t.Run(sig.String(), func(t *testing.T) {
			s, r := faultStack(t, nil)
			since := time.Now().Add(-time.Minute)
			l := newFaultLoad(s)
			l.setBases(r.base)
			n, c := faultSize()
			end := l.run(n, c, func() {
				testsvc.RestartXMPPWith(t, sig, func() { time.Sleep(5 * time.Second) })
			})
			reportRow(t, l.verify("Prosody "+map[syscall.Signal]string{syscall.SIGTERM: "stop/start", syscall.SIGKILL: "SIGKILL"}[sig], end, since))
		})
	}
}

// TestFaultTable prints the table of every scenario run before it in this
// process (run the suite with -run 'TestFault' -v to see it whole).
func TestFaultTable(t *testing.T) {
	faultTable.mu.Lock()
	defer faultTable.mu.Unlock()
	if len(faultTable.rows) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(faultTableHeader)
	for _, r := range faultTable.rows {
		b.WriteString("\n" + r.String())
	}
	t.Logf("fault suite (%d reports per scenario):\n%s", func() int { n, _ := faultSize(); return n }(), b.String())
}
