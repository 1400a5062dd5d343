package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// The chaos test: three `fieldgate serve` replicas on a durable
// PostgreSQL, a MinIO and the XMPP server of their own, under a sustained
// mixed load (HTTP text and photo reports retried with their
// Idempotency-Key, messenger reports from real c2s clients, takes written
// into the team room), while faults strike at random moments: SIGKILL or
// SIGTERM of a replica (the component holder more often), every database
// session terminated, PostgreSQL crashed and restarted, MinIO stopped and
// started, the XMPP server stopped or crashed. At the end, after
// quiescence, the invariants are checked from the real stores (the
// database, the bucket, the rooms' archives and what the clients got).
//
// The randomness is seeded; the seed is logged: FIELDGATE_CHAOS_SEED
// replays a run's choice of faults (their timing against the load still
// varies). FIELDGATE_CHAOS_SECONDS sets how long faults strike (default
// 45 s; the whole test takes about two minutes more for start-up,
// recovery and the checks).

// chaosSeed returns the run's seed (FIELDGATE_CHAOS_SEED or the clock).
func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("FIELDGATE_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FIELDGATE_CHAOS_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

func chaosDuration(t *testing.T) time.Duration {
	t.Helper()
	if v := os.Getenv("FIELDGATE_CHAOS_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("FIELDGATE_CHAOS_SECONDS: %q", v)
		}
		return time.Duration(n) * time.Second
	}
	return 45 * time.Second
}

// messengerLoad is a field worker on a real messenger: it sends reports
// (sometimes a second part right after the first) to the tiefbau address
// over c2s; the client is replaced (logged in again) after the XMPP
// server restarts. Everything it received, in every session, is kept.
//
// As Conversations, Monal or Siskin do, every session has XEP-0198
// stream management on, and a message the server has not acknowledged
// (one written into a stream the server was closing, or not sent at all
// because the session was gone) is sent again, with its id and
// origin-id, on the next session. A message the server acknowledged is
// one it has taken responsibility for (XEP-0198 §4): the messenger shows
// it as sent and never sends it again.
type messengerLoad struct {
	t    *testing.T
	acct testsvc.Account
	to   string
	tag  string

	mu       sync.Mutex
	client   *testsvc.Client
	sessions []*testsvc.Client
	since    time.Time            // the load's start: offline messages stored before it are an earlier test's
	resent   int                  // messages sent again on a new session
	ids      []string             // ids of the messages written, in order
	raw      map[string]string    // each message's XML
	sends    map[string][]smSend  // each message's sends
	sentAt   map[string]time.Time // when each was first written
}

// smSend is one send of a message: the session and its XEP-0198 number
// there (0: the send failed, the session was gone).
type smSend struct {
	c *testsvc.Client
	n uint32
}

func newMessengerLoad(t *testing.T, to, tag string) *messengerLoad {
	return &messengerLoad{t: t, acct: testsvc.User(t), to: to, tag: tag, since: time.Now(),
		raw: map[string]string{}, sends: map[string][]smSend{}, sentAt: map[string]time.Time{}}
}

// login connects a new session with stream management (test goroutine
// only: Login may fail the test), waits a moment for offline messages of
// earlier tests, and sends again every message no session's server
// acknowledged.
func (m *messengerLoad) login() {
	c := testsvc.Login(m.t, m.acct)
	c.EnableStreamManagement()
	time.Sleep(300 * time.Millisecond)
	m.mu.Lock()
	m.client = c
	m.sessions = append(m.sessions, c)
	var again []string
	for _, id := range m.ids {
		if !m.ackedLocked(id) {
			again = append(again, id)
		}
	}
	m.mu.Unlock()
	var last uint32
	for _, id := range again {
		last = m.write(c, id)
		m.mu.Lock()
		m.resent++
		m.mu.Unlock()
	}
	if last > 0 {
		c.WaitAcked(last, 10*time.Second) // what the server takes is then known
	}
}

// send sends report n (and, for every third, a second part 500 ms later).
func (m *messengerLoad) send(n int) {
	texts := []string{fmt.Sprintf("Chaos %s Meldung %d Schlagloch", m.tag, n)}
	if n%3 == 0 {
		texts = append(texts, fmt.Sprintf("Chaos %s Meldung %d Nachtrag", m.tag, n))
	}
	for i, text := range texts {
		if i > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		m.sendText(fmt.Sprintf("chaos-%s-%d-%d", m.tag, n, i), text)
	}
}

// sendText sends one message with the id (also its origin-id, XEP-0359)
// and text, asking for a receipt (XEP-0184), on the current session; it
// reports false when the session is gone (the next one sends it again).
func (m *messengerLoad) sendText(id, text string) bool {
	m.mu.Lock()
	c := m.client
	m.ids = append(m.ids, id)
	m.raw[id] = fmt.Sprintf(`<message to=%q id=%q type="chat"><body>%s</body><request xmlns="urn:xmpp:receipts"/><origin-id xmlns="urn:xmpp:sid:0" id=%q/></message>`,
		m.to, id, text, id)
	m.sentAt[id] = time.Now()
	m.mu.Unlock()
	return m.write(c, id) > 0
}

// messengerOutcomes is what became of the messages a worker wrote.
type messengerOutcomes struct {
	stored, refused int
	unacked         int      // never acknowledged by the server: never taken
	lost            []string // ids acknowledged, neither stored nor refused
	storedBounced   []string // stored, and the sender told it failed
}

// outcomes classifies each message written: stored (its origin-id is a
// stored idempotency key), refused with an error the messenger shows,
// never acknowledged by the server (it never took it; the messenger
// still has it to send), or lost: acknowledged by the server (which has
// then taken responsibility for it, XEP-0198 §4) and neither stored nor
// refused. Stored and told it failed must not happen either: the worker
// would send it again.
func (m *messengerLoad) outcomes(ctx context.Context, conn *pgx.Conn) messengerOutcomes {
	m.t.Helper()
	bounced := map[string]bool{}
	for _, msg := range m.received() {
		if msg.Type == "error" {
			bounced[msg.ID] = true
		}
	}
	var o messengerOutcomes
	for _, id := range m.ids {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE channel = 'xmpp' AND key = $1`, "origin:"+id).Scan(&n); err != nil {
			m.t.Fatal(err)
		}
		switch {
		case n > 0 && bounced[id]:
			o.storedBounced = append(o.storedBounced, id)
		case n > 0:
			o.stored++
		case bounced[id]:
			o.refused++
		case !m.acked(id):
			o.unacked++
		default:
			o.lost = append(o.lost, id)
		}
	}
	return o
}

// killWindow is how long around a SIGKILL of the holder a message the
// server acknowledged may be lost with it: the server hands a message to
// the component connection and acknowledges it to the messenger
// (XEP-0198), and XEP-0114 gives the component no way to acknowledge it
// back, so a message taken in by a process killed before its intake
// committed is gone, and so is one the server writes into the dead
// connection before it notices (docs/xmpp-server.md, "Messages while the
// gateway is away"). What a graceful stop or a server restart loses
// fails the run.
const killWindow = 2 * time.Second

// withoutKilled returns the ids of lost messages not written within
// killWindow of one of kills, logging the others.
func (m *messengerLoad) withoutKilled(lost []string, kills []time.Time) []string {
	var left []string
	for _, id := range lost {
		at := m.sentAt[id]
		killed := false
		for _, k := range kills {
			if d := k.Sub(at); d <= killWindow && d >= -killWindow {
				killed = true
			}
		}
		if killed {
			m.t.Logf("messenger %s: %s (written %s) lost with the holder SIGKILLed as the server delivered it (XEP-0114 has no acknowledgement)",
				m.tag, id, at.Format("15:04:05.000"))
			continue
		}
		left = append(left, id)
	}
	return left
}

// check fails the test for lost messages (w's) and for messages stored
// whose sender was told they failed.
func (o messengerOutcomes) check(t *testing.T, who string, w *messengerLoad) {
	t.Helper()
	if len(o.lost) > 0 {
		var l []string
		for _, id := range o.lost {
			l = append(l, fmt.Sprintf("%s (written %s)", id, w.sentAt[id].Format("15:04:05.000")))
		}
		t.Errorf("%s: messages the XMPP server acknowledged were neither stored nor refused: %s", who, strings.Join(l, ", "))
	}
	if len(o.storedBounced) > 0 {
		t.Errorf("%s: messages stored, and their sender was told they failed: %s", who, strings.Join(o.storedBounced, ", "))
	}
}

// write sends message id on session c under stream management and
// returns its number there (0: the send failed).
func (m *messengerLoad) write(c *testsvc.Client, id string) uint32 {
	m.mu.Lock()
	raw := m.raw[id]
	m.mu.Unlock()
	n, err := c.SendCounted(raw)
	if err != nil {
		n = 0
	}
	m.mu.Lock()
	m.sends[id] = append(m.sends[id], smSend{c, n})
	m.mu.Unlock()
	return n
}

// ackedLocked reports whether a server acknowledged any send of id.
func (m *messengerLoad) ackedLocked(id string) bool {
	for _, s := range m.sends[id] {
		if s.n > 0 && s.n <= s.c.Acked() {
			return true
		}
	}
	return false
}

func (m *messengerLoad) acked(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ackedLocked(id)
}

// received returns every message of every session but the offline
// messages (XEP-0160, stamped by XEP-0203) stored before the load began:
// an earlier test's answers to the same leased account. An answer stored
// while this load's session was away counts: it is how a messenger that
// was offline gets it. (Skipping what a new session received in its
// first moments, as before, dropped such answers: "got no answer" for a
// case whose reply the queue sent while the XMPP server was down.)
func (m *messengerLoad) received() []testsvc.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []testsvc.Message
	for _, c := range m.sessions {
		for _, msg := range c.Messages() {
			if msg.Delay != nil {
				if at, err := time.Parse(time.RFC3339Nano, msg.Delay.Stamp); err == nil && at.Before(m.since) {
					continue
				}
			}
			out = append(out, msg)
		}
	}
	return out
}

// chaos is the running system and what it has done to it.
type chaos struct {
	t    *testing.T
	s    *stack
	pg   *durablePG
	s3   *testsvc.MinIOServer
	l    *faultLoad
	reps []*replica
	all  []*replica // every replica started
	n    int        // replicas started

	faults []string
	// holderKills are when the replica holding the component connection
	// was SIGKILLed.
	holderKills []time.Time
}

func (c *chaos) bases() []string {
	var b []string
	for _, r := range c.reps {
		if r != nil {
			b = append(b, r.base)
		}
	}
	return b
}

// holder returns the index of the replica that reports the XMPP
// component connected (-1 if none does).
func (c *chaos) holder() int {
	for i, r := range c.reps {
		if r != nil && xmppState(r.base) == "connected" {
			return i
		}
	}
	return -1
}

// restart replaces replica i by a new process.
func (c *chaos) restart(i int) {
	c.n++
	c.reps[i] = c.s.startReplica(fmt.Sprintf("r%d", c.n), nil)
	c.all = append(c.all, c.reps[i])
	c.l.setBases(c.bases()...)
}

// stopReplica ends replica i with sig and waits for it (SIGTERM: up to
// 40 s for the graceful shutdown, then SIGKILL).
func (c *chaos) stopReplica(i int, sig syscall.Signal) {
	r := c.reps[i]
	c.reps[i] = nil
	c.l.setBases(c.bases()...)
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(40 * time.Second):
		c.t.Errorf("replica %s did not end within 40 s of %v", r.name, sig)
		r.kill()
	}
}

// terminateSessions ends every database session but the caller's.
func (c *chaos) terminateSessions() int {
	conn, err := pgx.Connect(context.Background(), c.pg.url())
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// strike runs one random fault and brings the system back.
func (c *chaos) strike(rng *rand.Rand, relogin func()) {
	pick := rng.IntN(100)
	switch {
	case pick < 30: // SIGKILL, the component holder two times in three
		i := rng.IntN(len(c.reps))
		if h := c.holder(); h >= 0 && rng.IntN(3) < 2 {
			i = h
		}
		c.record("SIGKILL %s (holder: %v)", c.reps[i].name, i == c.holder())
		if i == c.holder() {
			c.holderKills = append(c.holderKills, time.Now())
		}
		c.stopReplica(i, syscall.SIGKILL)
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
		c.restart(i)
	case pick < 45: // SIGTERM
		i := rng.IntN(len(c.reps))
		c.record("SIGTERM %s", c.reps[i].name)
		c.stopReplica(i, syscall.SIGTERM)
		c.restart(i)
	case pick < 60:
		n := c.terminateSessions()
		c.record("pg_terminate_backend ×%d", n)
	case pick < 70:
		down := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		c.record("PostgreSQL immediate restart, down %v", down)
		c.pg.restartImmediate(down)
	case pick < 82:
		down := time.Duration(500+rng.IntN(4500)) * time.Millisecond
		c.record("MinIO stop/start, down %v", down)
		c.s3.Stop()
		time.Sleep(down)
		c.s3.Start()
	default:
		sig := syscall.SIGTERM
		if rng.IntN(2) == 0 && testsvc.XMPP(c.t).Server != testsvc.Ejabberd {
			// Not ejabberd: the test server keeps its archives in mnesia
			// (a dets file, archive_msg.DAT; ejabberd warns against it
			// and production keeps them in SQL, docs/xmpp-server.md).
			// After two SIGKILLs its archive lacked 136 of 675 posts the
			// rooms had echoed, and the count of posts in the archive,
			// which is how this test tells "posted", was wrong.
			sig = syscall.SIGKILL
		}
		down := time.Duration(500+rng.IntN(3000)) * time.Millisecond
		c.record("XMPP server %v, down %v", sig, down)
		testsvc.RestartXMPPWith(c.t, sig, func() { time.Sleep(down) })
		relogin()
	}
}

func (c *chaos) record(format string, args ...any) {
	f := fmt.Sprintf(format, args...)
	c.faults = append(c.faults, time.Now().Format("15:04:05.000")+" "+f)
	c.t.Logf("chaos: %s", f)
}

// TestChaosExactlyOnce is the chaos run; see the comment at the top.
func TestChaosExactlyOnce(t *testing.T) {
	testsvc.ExclusiveXMPP(t)
	seed := chaosSeed(t)
	t.Logf("chaos seed %d (replay the faults: FIELDGATE_CHAOS_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6368616f73))
	pg := startDurablePG(t)
	m3 := startPrivateMinIO(t)
	s := newStack(t, map[string]string{
		"FIELDGATE_XMPP_UPLOAD_HOSTS":       "http://" + testsvc.XMPP(t).HTTP,
		"FIELDGATE_REPORTS_ASSEMBLY_WINDOW": "2s",
	})
	s.useServices(pg, m3)
	s, r1 := s.startFaulted()
	c := &chaos{t: t, s: s, pg: pg, s3: m3, l: newFaultLoad(s), reps: []*replica{r1, nil, nil}, all: []*replica{r1}, n: 1}
	c.l.spread = true
	c.restart(1)
	c.restart(2)
	since := time.Now().Add(-time.Minute)

	room := testsvc.Room("tiefbau", s.suffix)
	workers := []*messengerLoad{
		newMessengerLoad(t, s.address("tiefbau"), "a"),
		newMessengerLoad(t, s.address("tiefbau"), "b"),
	}
	var anna *testsvc.Client
	annaNick := "anna-" + s.suffix
	relogin := func() {
		for _, w := range workers {
			w.login()
		}
		anna = testsvc.Login(t, testsvc.DemoUser("anna"))
		anna.JoinRoom(room, annaNick)
	}
	relogin()

	// The load: 3 HTTP clients and the two messenger workers until stop,
	// about 8 reports a second (a storm night's hour in a minute; more
	// makes the test XMPP server's file-based archive, which reads a
	// room's whole archive for every query, the bottleneck of re-sends).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.l.file(int(next.Add(1)))
				time.Sleep(250 * time.Millisecond)
			}
		}()
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				w.send(n)
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Second):
				}
			}
		}()
	}

	// Faults at random moments, takes in between.
	taken := map[string]bool{}
	takenAt := map[string]string{}
	take := func() {
		conn, err := pgx.Connect(context.Background(), pg.url())
		if err != nil {
			return // the database may be restarting
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), `SELECT i.case_number FROM incidents i
			WHERE i.state = 'routed' AND EXISTS (SELECT 1 FROM room_posts p WHERE p.incident_id = i.id AND p.posted_at IS NOT NULL)
			ORDER BY i.case_number LIMIT 3`)
		if err != nil {
			return
		}
		cases, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return
		}
		for _, cn := range cases {
			if taken[cn] {
				continue
			}
			if err := anna.TrySendRaw(fmt.Sprintf(`<message to=%q id="take-%s" type="groupchat"><body>ok %s</body></message>`, room, cn, cn)); err == nil {
				taken[cn] = true
				takenAt[cn] = time.Now().Format("15:04:05.000")
			}
		}
	}
	end := time.Now().Add(chaosDuration(t))
	for time.Now().Before(end) {
		pause := time.Duration(2000+rng.IntN(4000)) * time.Millisecond
		for t0 := time.Now(); time.Since(t0) < pause; time.Sleep(500 * time.Millisecond) {
			take()
		}
		c.strike(rng, relogin)
	}
	faultEnd := time.Now()
	close(stop)
	wg.Wait()
	t.Logf("faults (%d):\n%s", len(c.faults), strings.Join(c.faults, "\n"))

	// Invariants of the HTTP reports (stored, routed, posted once, photos,
	// no orphans, escalation armed).
	row := c.l.verify("chaos", faultEnd, since)
	t.Logf("\n%s\n%s", faultTableHeader, row)

	ctx := context.Background()
	conn := s.dbConn()
	archive := testsvc.Login(t, testsvc.DemoUser("anna")).RoomArchive(room, since)

	// Every message of the gateway in the room (incident posts,
	// confirmations of takes, escalations) is there at most once.
	perOrigin := map[string]int{}
	for _, am := range archive {
		if f := am.Forwarded.Message; f.OriginID != nil && strings.HasSuffix(f.From, "/"+s.nick) {
			perOrigin[f.OriginID.ID]++
		}
	}
	for o, n := range perOrigin {
		if n > 1 {
			t.Errorf("the gateway's message %s is in the room %d times", o, n)
		}
	}

	// Every 1:1 message sent (dispatch/outbox.go): none left behind once
	// a dead replica's are past their hand-over time (10 s).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		var unsent int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM chat_outbox`).Scan(&unsent); err != nil {
			t.Fatal(err)
		}
		if unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d 1:1 messages still in chat_outbox 30 s after quiescence", unsent)
			break
		}
	}

	// Messenger reports: every case filed from a messenger worker got its
	// "angenommen" answer exactly once.
	for _, w := range workers {
		w := w
		// Answers sent while a session was gone are offline messages: a
		// last session collects them, and sends again what no server
		// acknowledged; the answers to those follow.
		w.login()
		time.Sleep(time.Second)
		var cases []string
		var got map[string]int
		var repeats int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			rows, err := conn.Query(ctx, `SELECT DISTINCT i.case_number FROM reports r JOIN incidents i ON i.id = r.incident_id
				WHERE r.channel = 'xmpp' AND r.sender = $1`, w.acct.JID)
			if err != nil {
				t.Fatal(err)
			}
			if cases, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				t.Fatal(err)
			}
			// A repeated message id is one message to a messenger (it
			// drops the repeat): answers are counted by their ids.
			got, repeats = map[string]int{}, 0
			ids := map[string]bool{}
			for _, msg := range w.received() {
				if cn, ok := strings.CutPrefix(msg.Body, "Meldung "); ok {
					if cn, _, ok := strings.Cut(cn, " angenommen"); ok {
						if ids[msg.ID] {
							repeats++
							continue
						}
						ids[msg.ID] = true
						got[cn]++
					}
				}
			}
			answered := 0
			for _, cn := range cases {
				if got[cn] > 0 {
					answered++
				}
			}
			if answered == len(cases) || time.Now().After(deadline) {
				break
			}
		}
		once := 0
		for _, cn := range cases {
			switch got[cn] {
			case 1:
				once++
			case 0:
				t.Errorf("messenger %s: case %s got no answer", w.tag, cn)
			default:
				t.Errorf("messenger %s: case %s answered %d times", w.tag, cn, got[cn])
			}
		}
		o := w.outcomes(ctx, conn)
		o.lost = w.withoutKilled(o.lost, c.holderKills)
		t.Logf("messenger %s: %d messages written (%d sent again on a new session): stored %d, refused with an error %d, never acknowledged by the server %d, lost without a word %d; %d cases, answered once %d (repeats of an answer's id %d)",
			w.tag, len(w.ids), w.resent, o.stored, o.refused, o.unacked, len(o.lost), len(cases), once, repeats)
		o.check(t, "messenger "+w.tag, w)
		if len(cases) == 0 {
			t.Errorf("messenger %s: no case stored", w.tag)
		}
	}

	// Takes: each counted once; a take sent is recorded.
	var takes, twice int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n > 1) FROM
		(SELECT incident_id, count(*) AS n FROM incident_events WHERE kind = 'take' GROUP BY incident_id) t`).Scan(&takes, &twice); err != nil {
		t.Fatal(err)
	}
	var notTaken []string
	for cn := range taken {
		var st string
		if err := conn.QueryRow(ctx, `SELECT state FROM incidents WHERE case_number = $1`, cn).Scan(&st); err != nil {
			t.Fatal(err)
		}
		if st == "routed" {
			notTaken = append(notTaken, cn+" (sent "+takenAt[cn]+")")
		}
	}
	// A take that was not applied should have been answered (an error
	// in the room); one neither applied nor answered was lost unseen.
	var answers []string
	for _, am := range archive {
		if f := am.Forwarded.Message; strings.HasSuffix(f.From, "/"+s.nick) && strings.HasPrefix(f.Body, annaNick+": ") {
			answers = append(answers, f.Body)
		}
	}
	t.Logf("takes sent %d, recorded %d, twice %d, still open %v; answers to the taker in the room %d: %q", len(taken), takes, twice, notTaken, len(answers), answers)
	if twice > 0 {
		t.Errorf("%d incidents taken more than once", twice)
	}
	if len(notTaken) > 0 {
		// What the replicas said about room commands, for the takes not applied.
		var lines []string
		for _, r := range c.all {
			for _, l := range strings.Split(r.log.String(), "\n") {
				if strings.Contains(l, "room command") {
					lines = append(lines, r.name+": "+l)
				}
			}
		}
		t.Logf("room command log lines:\n%s", strings.Join(lines, "\n"))
	}

	// No job stuck: nothing left running or retrying.
	var stuck int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('running','retryable','available')
		AND kind IN ('process_report','room_post','chat_message','chat_outbox')`).Scan(&stuck); err != nil {
		t.Fatal(err)
	}
	if stuck > 0 {
		t.Errorf("%d jobs still running, retryable or available after quiescence", stuck)
	}
}
