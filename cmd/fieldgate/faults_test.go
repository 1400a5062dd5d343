package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
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

	"github.com/fieldgate/fieldgate/internal/testsvc"
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

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
	s := newStack(t, extra)
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
			WHERE kind IN ('process_report','room_post','chat_message') AND state NOT IN ('completed','discarded','cancelled')`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%d jobs still unfinished after %v", open, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
// committed (a trigger makes the record wait for a lock the test holds).
// The restarted gateway must find the post in the room's archive by its
// origin-id, record it, and not post again.
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
