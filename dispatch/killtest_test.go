package dispatch_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// fileMessenger records what a child process sends, one line per message,
// so that the parent can count it after the child is killed.
type fileMessenger struct {
	mu sync.Mutex
	f  *os.File
}

func (m *fileMessenger) write(kind, to, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(m.f, "%s\t%s\t%s\n", kind, to, strconv.Quote(body))
	_ = m.f.Sync()
}

func (m *fileMessenger) PostToRoom(_ context.Context, p dispatch.RoomPost) (string, error) {
	m.write("room", p.Room, p.Body)
	return "sid-" + p.OriginID, nil
}

// FindRoomPost: the child's posts are in its file, not in a room archive.
func (m *fileMessenger) FindRoomPost(context.Context, string, string, time.Time) (string, bool, error) {
	return "", false, dispatch.ErrNoArchive
}

func (m *fileMessenger) SendChat(_ context.Context, c dispatch.ChatMessage) error {
	m.write("chat", c.To, c.Body)
	return nil
}

// childPoolAndLog opens, in a kill test's child, the database
// FG_KILLTEST_DB and the file FG_KILLTEST_OUT that its messenger writes.
func childPoolAndLog(t *testing.T) (*pgxpool.Pool, *os.File) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), os.Getenv("FG_KILLTEST_DB"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(os.Getenv("FG_KILLTEST_OUT"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return pool, f
}

// TestHelperProcess is the child of TestEscalationSurvivesKill: a replica
// that runs the service until it is killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FG_KILLTEST_CHILD") != "1" {
		t.Skip("helper process of TestEscalationSurvivesKill")
	}
	ctx := context.Background()
	pool, f := childPoolAndLog(t)
	rules, err := routing.NewEngine(os.Getenv("FG_KILLTEST_RULES"), discard())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Messenger: &fileMessenger{f: f}, Logger: discard()},
		dispatch.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("child started")
	time.Sleep(2 * time.Minute) // until SIGKILL
}

// startReplicaChild runs TestHelperProcess in a child process: a replica
// on the database at url with the rules at rulesPath, writing what it sends
// to out. killChild SIGKILLs it and waits for it to end; the test's end
// kills it in any case.
func startReplicaChild(t *testing.T, url, rulesPath, out string) (killChild func() error) {
	t.Helper()
	_, killChild = startHelper(t, "TestHelperProcess", []string{"FG_KILLTEST_CHILD=1", "FG_KILLTEST_DB=" + url,
		"FG_KILLTEST_RULES=" + rulesPath, "FG_KILLTEST_OUT=" + out}, "child started")
	return killChild
}

// startHelper runs the test function helper (a TestHelper… that skips
// unless its environment says otherwise) in a child process, with env
// added to this process's, and waits until the child prints a line that
// starts with prefix; it returns the rest of that line. The test fails,
// with the child's output, if the child ends first or prints no such
// line within 60 s. kill SIGKILLs the child and waits for it to end; the
// test's end kills it in any case.
func startHelper(t *testing.T, helper string, env []string, prefix string) (rest string, kill func() error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var killErr error
	kill = func() error {
		once.Do(func() {
			killErr = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		})
		return killErr
	}
	t.Cleanup(func() { _ = kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var childOut []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s ended before it printed %q:\n%s", helper, prefix, strings.Join(childOut, "\n"))
			}
			childOut = append(childOut, l)
			if r, ok := strings.CutPrefix(l, prefix); ok {
				go func() {
					for range lines { // the child's further output
					}
				}()
				return r, kill
			}
		case <-timeout:
			t.Fatalf("%s did not print %q within 60 s:\n%s", helper, prefix, strings.Join(childOut, "\n"))
		}
	}
}

// TestEscalationSurvivesKill: a replica routes an incident (scheduling its
// escalation 2s ahead) and is SIGKILLed before the escalation is due; two
// fresh replicas on the same database then send the escalation exactly once.
func TestEscalationSurvivesKill(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	rulesPath := lifecycleRulesFile(t)
	out := filepath.Join(t.TempDir(), "child.log")
	killChild := startReplicaChild(t, url, rulesPath, out)

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Intake through a service that is not started: the child does the rest.
	intake := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, RulesFile: lifecycleRulesFile(t)})
	r, err := intake.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kill", Sender: "token:app", Text: "Wasserrohrbruch"})
	if err != nil {
		t.Fatal(err)
	}
	var due time.Time
	waitFor(t, "the child to schedule the escalation", func() bool {
		err := pool.QueryRow(ctx, `SELECT scheduled_at FROM river_job WHERE kind = 'escalate' AND state IN ('available','scheduled')`).Scan(&due)
		return err == nil
	})
	if err := killChild(); err != nil {
		t.Fatal(err)
	}
	if time.Now().After(due) {
		t.Fatalf("the child was killed only after the escalation was due (%v); the test proves nothing", due)
	}
	t.Logf("child killed %v before the escalation was due", time.Until(due).Round(time.Millisecond))

	recs := []*recorder{{}, {}}
	for _, rec := range recs {
		p, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		start(t, newTestService(t, testServiceOptions{Pool: p, Messenger: rec, RulesFile: lifecycleRulesFile(t)}))
	}
	sent := func() int {
		n := 0
		for _, rec := range recs {
			_, c := rec.snapshot()
			n += chatsTo(c, "eve@stadt.localhost", "Eskalation Stufe 1: "+r.CaseNumber)
		}
		return n
	}
	waitFor(t, "the escalation after the restart", func() bool { return sent() > 0 })
	fired := time.Now()
	time.Sleep(2 * time.Second) // time for a duplicate to show
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), "Eskalation") {
		t.Errorf("the killed child sent the escalation:\n%s", b)
	}
	if n := sent(); n != 1 {
		t.Fatalf("escalation sent %d times by the fresh replicas, want 1", n)
	}
	_, evs := events(t, intake, r)
	if n := countEvents(evs, "escalated"); n != 1 {
		t.Fatalf("%d escalation events, want 1", n)
	}
	t.Logf("escalation due %s, sent %v after it", due.Format(time.RFC3339Nano), fired.Sub(due).Round(time.Millisecond))
}

// TestEscalationSurvivesKillMidWork: the replica is killed while it works
// the escalation step (blocked inside the step's transaction on the
// incident's row lock, which the test holds). Nothing of the step commits;
// the job stays "running" until the queue's stuck-job rescue hands it to a
// fresh replica, which sends the escalation exactly once.
func TestEscalationSurvivesKillMidWork(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	rulesPath := lifecycleRulesFile(t)
	out := filepath.Join(t.TempDir(), "child.log")
	killChild := startReplicaChild(t, url, rulesPath, out)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	intake := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, RulesFile: lifecycleRulesFile(t)})
	r, err := intake.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kill", Sender: "token:app", Text: "Gasgeruch"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to schedule the escalation", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate'`).Scan(&n)
		return n == 1
	})
	// Hold the incident's row lock, so the child's step blocks inside its transaction.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE`, r.IncidentID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to work the step", func() bool {
		var state string
		_ = pool.QueryRow(ctx, `SELECT state FROM river_job WHERE kind = 'escalate'`).Scan(&state)
		return state == "running"
	})
	time.Sleep(200 * time.Millisecond) // into the row lock
	if err := killChild(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()

	recs := []*recorder{{}, {}}
	for _, rec := range recs {
		p, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		// The shortest rescue river allows with the service's 30s job timeout.
		start(t, newTestService(t, testServiceOptions{Pool: p, Messenger: rec, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{RescueStuckJobsAfter: 31 * time.Second}}))
	}
	sent := func() int {
		n := 0
		for _, rec := range recs {
			_, c := rec.snapshot()
			n += chatsTo(c, "eve@stadt.localhost", "Eskalation Stufe 1: "+r.CaseNumber)
		}
		return n
	}
	deadline := time.Now().Add(3 * time.Minute)
	for sent() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the rescued escalation was never sent")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("escalation sent %v after the kill (stuck-job rescue)", time.Since(killedAt).Round(time.Second))
	time.Sleep(2 * time.Second)
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "Eskalation") {
		t.Errorf("the killed child sent the escalation:\n%s", b)
	}
	if n := sent(); n != 1 {
		t.Fatalf("escalation sent %d times, want 1", n)
	}
	if _, evs := events(t, intake, r); countEvents(evs, "escalated") != 1 {
		t.Fatalf("%d escalation events, want 1", countEvents(evs, "escalated"))
	}
}
