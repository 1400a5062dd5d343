package dispatch_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// recorder is a Messenger that records what would be sent. The real XMPP
// path is covered by the gateway and end-to-end tests; here the subject is
// the database logic.
type recorder struct {
	mu    sync.Mutex
	posts []dispatch.RoomPost
	chats []dispatch.ChatMessage
}

func (r *recorder) PostToRoom(_ context.Context, p dispatch.RoomPost) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts = append(r.posts, p)
	return fmt.Sprintf("sid-%d", len(r.posts)), nil
}

func (r *recorder) SendChat(_ context.Context, m dispatch.ChatMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chats = append(r.chats, m)
	return nil
}

// FindRoomPost searches what was recorded, as a room's archive would.
func (r *recorder) FindRoomPost(_ context.Context, room, originID string, _ time.Time) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.posts {
		if p.Room == room && p.OriginID == originID {
			return fmt.Sprintf("sid-%d", i+1), true, nil
		}
	}
	return "", false, nil
}

func (r *recorder) snapshot() ([]dispatch.RoomPost, []dispatch.ChatMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dispatch.RoomPost(nil), r.posts...), append([]dispatch.ChatMessage(nil), r.chats...)
}

func demoRules(t testing.TB) *routing.Engine {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	e, err := routing.NewEngine(filepath.Join(filepath.Dir(file), "..", "deploy", "demo", "rules.yaml"), discard())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testServiceOptions configures newTestService. Zero values: the demo
// town's rules, a new recorder as Messenger, no media store, the job queue
// polled every 50 ms, the rest dispatch's defaults.
type testServiceOptions struct {
	Pool      *pgxpool.Pool // required: testsvc.Pool(t)
	Rules     string        // rules file text; "" = RulesFile, or the demo town
	RulesFile string
	Messenger dispatch.Messenger
	Media     dispatch.Media
	Config    dispatch.Config
}

// newTestService is the one way dispatch's tests build the service under
// test (not started: see start).
func newTestService(t testing.TB, o testServiceOptions) *dispatch.Service {
	t.Helper()
	var rules *routing.Engine
	switch {
	case o.Rules != "":
		p := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(p, []byte(o.Rules), 0o644); err != nil {
			t.Fatal(err)
		}
		rules = lifecycleEngine(t, p)
	case o.RulesFile != "":
		rules = lifecycleEngine(t, o.RulesFile)
	default:
		rules = demoRules(t)
	}
	if o.Messenger == nil {
		o.Messenger = &recorder{}
	}
	o.Config.PollInterval = cmp.Or(o.Config.PollInterval, 50*time.Millisecond)
	svc, err := dispatch.New(dispatch.Deps{Pool: o.Pool, Rules: rules, Messenger: o.Messenger, Media: o.Media, Logger: testLogger()}, o.Config)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func start(t testing.TB, svc *dispatch.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = svc.Stop(sctx)
		cancel()
	})
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIntakeRoutesAndPosts(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	ctx := context.Background()

	r, err := svc.Intake(ctx, dispatch.NewReport{
		Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "streife1@stadt.localhost",
		IdempotencyKey: "origin:abc", Text: "Schlagloch", Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194},
		PositionSource: dispatch.SourceGeoURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "room post and replies", func() bool {
		p, c := rec.snapshot()
		return len(p) == 1 && len(c) == 1
	})
	posts, chats := rec.snapshot()
	if posts[0].Room != "tiefbau@conference.stadt.localhost" {
		t.Errorf("posted to %s, want tiefbau@conference.stadt.localhost", posts[0].Room)
	}
	if chats[0].To != "streife1@stadt.localhost" || chats[0].From != "tiefbau" {
		t.Errorf("reply %+v", chats[0])
	}
	want := "Meldung " + r.CaseNumber + " angenommen – weitergeleitet an Tiefbau Nord (Bezirk Mitte)."
	if chats[0].Body != want {
		t.Errorf("reply = %q, want %q", chats[0].Body, want)
	}
	waitFor(t, "state routed", func() bool {
		v, err := svc.GetReport(ctx, r.ReportID)
		return err == nil && v.Incident.State == dispatch.StateRouted
	})
	v, _ := svc.GetReport(ctx, r.ReportID)
	if v.Incident.District != "Mitte" || v.Incident.Team != "tiefbau" {
		t.Errorf("incident = %+v", v.Incident)
	}
	kinds := []string{}
	for _, e := range v.Events {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != "[received routed posted]" {
		t.Errorf("audit trail = %v", kinds)
	}
}

func TestNoPositionAsksForLocation(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	start(t, svc)
	r, err := svc.Intake(context.Background(), dispatch.NewReport{
		Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: "streife2@stadt.localhost", Text: "Gully verstopft", Language: "en",
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reply", func() bool { _, c := rec.snapshot(); return len(c) == 1 })
	_, chats := rec.snapshot()
	if want := "Report " + r.CaseNumber + " accepted – forwarded to Tiefbau Nord."; !strings.HasPrefix(chats[0].Body, want) {
		t.Errorf("reply = %q", chats[0].Body)
	}
	if !strings.Contains(chats[0].Body, "has no location") {
		t.Errorf("reply does not ask for the location: %q", chats[0].Body)
	}
}

func TestIntakeRejects(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	cases := []struct {
		name string
		in   dispatch.NewReport
		kind error
	}{
		{"unknown address", dispatch.NewReport{Channel: "api", Address: "nope", Sender: "token:x", Text: "a"}, dispatch.ErrNotFound},
		{"not allowed", dispatch.NewReport{Channel: "xmpp", Address: "tiefbau", Sender: "mallory@evil.example", Text: "a"}, dispatch.ErrForbidden},
		{"empty", dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:x"}, dispatch.ErrInvalid},
		{"bad position", dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:x", Text: "a", Position: &dispatch.Position{Lat: 0, Lon: 0}}, dispatch.ErrInvalid},
		{"invalid utf8", dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:x", Text: "\xff\xfe"}, dispatch.ErrInvalid},
	}
	for _, c := range cases {
		if _, err := svc.Intake(ctx, c.in); !errors.Is(err, c.kind) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.kind)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM reports").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rejected reports stored: %d (%v)", n, err)
	}
}

// TestCaseNumbersGapless: concurrent intakes get consecutive numbers, and
// a replayed idempotency key neither gets nor burns a number.
func TestCaseNumbersGapless(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	const n = 40
	nums := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i%(n/2)) // every key twice
			r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", IdempotencyKey: key, Text: "x"})
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = r.CaseNumber
		}()
	}
	wg.Wait()
	assertGapless(t, nums, n/2)
}

// assertGapless: nums (receipts of intakes, replays included) are keys
// distinct case numbers of this year, 1 to keys without a gap.
func assertGapless(t *testing.T, nums []string, keys int) {
	t.Helper()
	uniq := map[string]bool{}
	for _, c := range nums {
		uniq[c] = true
	}
	if len(uniq) != keys {
		t.Fatalf("%d distinct case numbers for %d keys", len(uniq), keys)
	}
	var sorted []string
	for c := range uniq {
		sorted = append(sorted, c)
	}
	sort.Strings(sorted)
	year := time.Now().In(mustLoc(t)).Year()
	for i, c := range sorted {
		if want := fmt.Sprintf("%d-%06d", year, i+1); c != want {
			t.Fatalf("case numbers have a gap: %v", sorted)
		}
	}
}

// TestConcurrentTakes: 20 goroutines on two separate pools (two
// "replicas") take the same incident at once; exactly one wins and the
// others are told who has it.
func TestConcurrentTakes(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	pools := make([]*pgxpool.Pool, 2)
	svcs := make([]*dispatch.Service, 2)
	for i := range pools {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
		svcs[i] = newTestService(t, testServiceOptions{Pool: p, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	}
	ctx := context.Background()
	r, err := svcs[0].Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel aus"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	results := make([]dispatch.CommandResult, n)
	errs := make([]error, n)
	startGun := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			results[i], errs[i] = svcs[i%2].Execute(ctx, dispatch.Command{
				Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: fmt.Sprintf("member%d@stadt.localhost", i), Via: "api", Dispatcher: true,
			})
		}()
	}
	close(startGun)
	wg.Wait()
	winners := 0
	var owner string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("take %d: %v", i, errs[i])
		}
		if results[i].Outcome == dispatch.OutcomeApplied {
			winners++
			owner = fmt.Sprintf("member%d@stadt.localhost", i)
		}
	}
	if winners != 1 {
		t.Fatalf("%d takes applied, want exactly 1", winners)
	}
	for i := range n {
		if results[i].Outcome == dispatch.OutcomeAlreadyTaken && !strings.Contains(results[i].Reply.In("de"), owner) {
			t.Errorf("loser %d told %q, want the owner %s", i, results[i].Reply.In("de"), owner)
		}
	}
	v, err := svcs[1].GetReport(ctx, r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Incident.Owner != owner || v.Incident.State != dispatch.StateAcknowledged {
		t.Fatalf("incident owner %q state %s, want %s acknowledged", v.Incident.Owner, v.Incident.State, owner)
	}
	takes := 0
	for _, e := range v.Events {
		if e.Kind == "take" {
			takes++
		}
	}
	if takes != 1 {
		t.Fatalf("%d take events in the audit trail, want 1", takes)
	}
}

func TestTakeFromWrongRoomAndAfterResolve(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Schild umgefahren"})
	if err != nil {
		t.Fatal(err)
	}
	// Route synchronously: the queue is not started in this test.
	if _, err := pool.Exec(ctx, "UPDATE incidents SET team = 'tiefbau', state = 'routed'"); err != nil {
		t.Fatal(err)
	}
	// ben is a member of tiefbau and of gruenflaechen: membership is not
	// enough in a room the incident does not belong to.
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "ben@stadt.localhost", Via: "room", Room: "gruenflaechen@conference.stadt.localhost"})
	if !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("take from another team's room: err = %v, want forbidden", err)
	}
	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "anna@stadt.localhost", Via: "room", Room: "tiefbau@conference.stadt.localhost"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("resolve: %v %v", res.Outcome, err)
	}
	res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "ben@stadt.localhost", Via: "room", Room: "tiefbau@conference.stadt.localhost"})
	if err != nil || res.Outcome != dispatch.OutcomeClosed {
		t.Fatalf("take after resolve: outcome %v err %v, want closed", res.Outcome, err)
	}
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: "999999", Actor: "ben@stadt.localhost", Via: "api"}); !errors.Is(err, dispatch.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}
}

func mustLoc(t *testing.T) *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testLogger() *slog.Logger {
	if os.Getenv("FG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return discard()
}

// escalationTimersSQL counts an incident's ($1, text) escalation timers:
// its escalate jobs and the first step armed on its row
// (escalation_handover.go), which the hand-over turns into a job.
const escalationTimersSQL = `SELECT (SELECT count(*) FROM river_job WHERE kind = 'escalate' AND args->>'incident_id' = $1) +
	(SELECT count(*) FROM incidents WHERE id::text = $1 AND escalation_due_at IS NOT NULL)`

// blockLeaseRenewals locks the worker lease table until the test ends, so
// that every lease renewal waits and fails, and waits until one does; the
// returned func reports whether renewals still wait for the lock.
func blockLeaseRenewals(t *testing.T, admin *pgxpool.Pool) func() bool {
	t.Helper()
	ctx := context.Background()
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, `LOCK TABLE worker_leases IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	blocked := func() bool {
		var n int
		_ = admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%worker_leases%'`).Scan(&n)
		return n > 0
	}
	waitFor(t, "a lease renewal to wait for the lock", blocked)
	return blocked
}
