package dispatch_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// confirmRules has a child-welfare team whose policy needs two confirmers
// and reminds its room every 300ms from 1.5s on, a day team (English)
// that shares its room, and a team whose policy says confirmers: 1
// explicitly. member0…member19 are members of kinder for the concurrency
// test.
var confirmRules = `
version: 1
timezone: Europe/Berlin
dispatchers: [dora@stadt.localhost]
policies:
  kindeswohl:
    confirmers: 2
    levels:
      - after: 1500ms
        notify: room
        repeat: 100
        repeat_every: 300ms
  einfach:
    confirmers: 1
    levels:
      - after: 1h
        notify: room
teams:
  kinder:
    name: Jugendamt Bereitschaft
    room: kinder@conference.stadt.localhost
    policy: kindeswohl
    members: [anna@stadt.localhost, ben@stadt.localhost, carl@stadt.localhost` + numberedMembers(20) + `]
  kindertag:
    name: Youth Office Day Team
    room: kinder@conference.stadt.localhost
    language: en
    policy: kindeswohl
    members: [tom@stadt.localhost, tina@stadt.localhost]
  einfach:
    name: Einfach
    room: einfach@conference.stadt.localhost
    policy: einfach
    members: [anna@stadt.localhost]
  leitstelle:
    name: Leitstelle
    room: leitstelle@conference.stadt.localhost
addresses:
  kinder:
    allow: [public]
    default_team: kinder
  kindertag:
    allow: [public]
    default_team: kindertag
  einfach:
    allow: [public]
    default_team: einfach
default:
  team: leitstelle
`

// numberedMembers is ", member0@stadt.localhost, …" for a YAML flow list.
func numberedMembers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ", member%d@stadt.localhost", i)
	}
	return b.String()
}

const (
	kinderRoom  = "kinder@conference.stadt.localhost"
	einfachRoom = "einfach@conference.stadt.localhost"
)

func take(svc *dispatch.Service, ref, actor, room string) (dispatch.CommandResult, error) {
	return svc.Execute(context.Background(), dispatch.Command{Action: dispatch.ActionTake, Ref: ref, Actor: actor, Via: "room", Room: room})
}

func lastEvent(evs []dispatch.Event, kind string) (dispatch.Event, bool) {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == kind {
			return evs[i], true
		}
	}
	return dispatch.Event{}, false
}

// TestTwoPersonConfirmation: under a policy with two confirmers the first
// "ok" makes its author the owner but the incident stays unacknowledged and
// keeps escalating; the same person cannot confirm twice; a second person
// acknowledges it, which ends the escalation.
func TestTwoPersonConfirmation(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Rules: confirmRules})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kinder", Sender: "token:app", Text: "Kind allein in der Wohnung"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return postsTo(p, kinderRoom, r.CaseNumber) == 1 })
	seq, _ := strconv.Atoi(r.CaseNumber[5:])

	// First ok: owner, not acknowledged.
	res, err := take(svc, r.CaseNumber, "anna@stadt.localhost", kinderRoom)
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("first ok: %v %v", res.Outcome, err)
	}
	if res.Incident.State == dispatch.StateAcknowledged || res.Incident.Owner != "anna@stadt.localhost" {
		t.Errorf("after the first ok: state %s owner %q, want not acknowledged, owner anna", res.Incident.State, res.Incident.Owner)
	}
	inc, evs := events(t, svc, r)
	if inc.State == dispatch.StateAcknowledged || inc.Owner != "anna@stadt.localhost" || inc.AcknowledgedAt != nil {
		t.Errorf("stored after the first ok: state %s owner %q acknowledged_at %v", inc.State, inc.Owner, inc.AcknowledgedAt)
	}
	if countEvents(evs, "escalated") != 0 {
		t.Fatal("escalated before the first ok; the test's timing is off")
	}
	ev, ok := lastEvent(evs, "take")
	if !ok || ev.Actor != "anna@stadt.localhost" || ev.Detail["confirmations"] != float64(1) || ev.Detail["needed"] != float64(2) {
		t.Errorf("take event %+v, want confirmations 1 of 2 by anna", ev)
	}
	wantFirst := fmt.Sprintf("✅ %s übernommen von anna@stadt.localhost – zweite Bestätigung nötig: „ok %d“", r.CaseNumber, seq)
	waitFor(t, "the first confirmation in the room", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, kinderRoom, wantFirst) == 1
	})

	// Escalation goes on: reminders after the first ok.
	waitFor(t, "two reminders after the first ok", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, kinderRoom, "⏰ Erinnerung: "+r.CaseNumber) >= 2
	})

	// The same person again is refused and nothing is applied.
	res, err = take(svc, r.CaseNumber, "Anna@stadt.localhost", kinderRoom)
	if err != nil || res.Outcome != dispatch.OutcomeAlreadyConfirmed {
		t.Fatalf("same person again: %v %v, want already_confirmed", res.Outcome, err)
	}
	if want := "Sie haben bereits bestätigt; eine zweite Person muss bestätigen."; res.Reply.In("de") != want {
		t.Errorf("reply %q, want %q", res.Reply.In("de"), want)
	}
	inc, evs = events(t, svc, r)
	if inc.State == dispatch.StateAcknowledged || countEvents(evs, "take") != 1 || countEvents(evs, "confirm") != 0 {
		t.Errorf("after the refused ok: state %s, %d take, %d confirm events", inc.State, countEvents(evs, "take"), countEvents(evs, "confirm"))
	}

	// A second person acknowledges it.
	res, err = take(svc, r.CaseNumber, "ben@stadt.localhost", kinderRoom)
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("second person: %v %v", res.Outcome, err)
	}
	if res.Incident.State != dispatch.StateAcknowledged || res.Incident.Owner != "anna@stadt.localhost" {
		t.Errorf("after the second ok: state %s owner %q, want acknowledged, owner anna", res.Incident.State, res.Incident.Owner)
	}
	inc, evs = events(t, svc, r)
	escalations := countEvents(evs, "escalated")
	ev, ok = lastEvent(evs, "confirm")
	if !ok || ev.Actor != "ben@stadt.localhost" || ev.To != dispatch.StateAcknowledged ||
		ev.Detail["confirmations"] != float64(2) || ev.Detail["needed"] != float64(2) || ev.Detail["owner"] != "anna@stadt.localhost" {
		t.Errorf("confirm event %+v", ev)
	}
	if inc.State != dispatch.StateAcknowledged || inc.AcknowledgedAt == nil || inc.Owner != "anna@stadt.localhost" {
		t.Errorf("stored after the second ok: %+v", inc)
	}
	waitFor(t, "the confirmation in the room", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, kinderRoom, "✅ "+r.CaseNumber+" bestätigt von ben@stadt.localhost – übernommen von anna@stadt.localhost") == 1
	})

	// Escalation stops: the next step finds it acknowledged and ends the chain.
	waitFor(t, "the escalation chain to end", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate' AND state <> 'completed'`).Scan(&n)
		return n == 0
	})
	time.Sleep(700 * time.Millisecond)
	_, evs = events(t, svc, r)
	if n := countEvents(evs, "escalated"); n != escalations {
		t.Errorf("%d escalations after the second ok, want none (had %d)", n-escalations, escalations)
	}
	if escalations < 2 {
		t.Errorf("%d escalations between the first and the second ok, want at least 2", escalations)
	}

	// Anyone else is told it is taken; the owner may resolve.
	res, err = take(svc, r.CaseNumber, "carl@stadt.localhost", kinderRoom)
	if err != nil || res.Outcome != dispatch.OutcomeAlreadyTaken {
		t.Fatalf("third person: %v %v, want already_taken", res.Outcome, err)
	}
	res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "anna@stadt.localhost", Via: "room", Room: kinderRoom})
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.State != dispatch.StateResolved {
		t.Fatalf("resolve by the owner: %v %v", res.Outcome, err)
	}
}

// TestOneConfirmerUnchanged: a policy with confirmers: 1 acknowledges on
// the first ok, as without the setting.
func TestOneConfirmerUnchanged(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Rules: confirmRules})
	start(t, svc)
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: "api", Address: "einfach", Sender: "token:app", Text: "Bank kaputt"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return postsTo(p, einfachRoom, r.CaseNumber) == 1 })
	res, err := take(svc, r.CaseNumber, "anna@stadt.localhost", einfachRoom)
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.State != dispatch.StateAcknowledged {
		t.Fatalf("ok: %v %v %s", res.Outcome, err, res.Incident.State)
	}
	_, evs := events(t, svc, r)
	if ev, ok := lastEvent(evs, "take"); !ok || ev.To != dispatch.StateAcknowledged || ev.Detail["confirmations"] != nil {
		t.Errorf("take event %+v, want a plain acknowledgement", ev)
	}
	waitFor(t, "the room told", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, einfachRoom, "✅ "+r.CaseNumber+" übernommen von anna@stadt.localhost.") == 1
	})
	res, err = take(svc, r.CaseNumber, "anna@stadt.localhost", einfachRoom)
	if err != nil || res.Outcome != dispatch.OutcomeAlreadyTaken {
		t.Fatalf("ok again: %v %v, want already_taken", res.Outcome, err)
	}
}

// TestConcurrentSecondConfirmations: of 20 simultaneous second
// confirmations on two replicas exactly one is applied; the first
// confirmer among them is never applied.
func TestConcurrentSecondConfirmations(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	svcs := make([]*dispatch.Service, 2)
	var pool *pgxpool.Pool
	for i := range svcs {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pool = p
		svcs[i] = newTestService(t, testServiceOptions{Pool: p, Messenger: &recorder{}, Rules: confirmRules})
	}
	ctx := context.Background()
	r, err := svcs[0].Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kinder", Sender: "token:app", Text: "Kind weint seit Stunden"})
	if err != nil {
		t.Fatal(err)
	}
	// Route synchronously: the queues are not started in this test.
	if _, err := pool.Exec(ctx, `UPDATE incidents SET team = 'kinder', policy = 'kindeswohl', state = 'routed', escalation_round = 1 WHERE id = $1`, r.IncidentID); err != nil {
		t.Fatal(err)
	}
	first := "anna@stadt.localhost"
	if res, err := take(svcs[1], r.CaseNumber, first, kinderRoom); err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("first ok: %v %v", res.Outcome, err)
	}
	const n = 20
	var wg sync.WaitGroup
	results := make([]dispatch.CommandResult, n)
	errs := make([]error, n)
	actors := make([]string, n)
	startGun := make(chan struct{})
	for i := range n {
		actors[i] = fmt.Sprintf("member%d@stadt.localhost", i)
		if i == 7 {
			actors[i] = first
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			results[i], errs[i] = take(svcs[i%2], r.CaseNumber, actors[i], kinderRoom)
		}()
	}
	close(startGun)
	wg.Wait()
	applied := 0
	var confirmer string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("ok %d: %v", i, errs[i])
		}
		switch results[i].Outcome {
		case dispatch.OutcomeApplied:
			applied++
			confirmer = actors[i]
		case dispatch.OutcomeAlreadyTaken, dispatch.OutcomeAlreadyConfirmed:
		default:
			t.Errorf("ok %d by %s: outcome %s", i, actors[i], results[i].Outcome)
		}
	}
	if applied != 1 {
		t.Fatalf("%d second confirmations applied, want exactly 1", applied)
	}
	if confirmer == first {
		t.Fatal("the first confirmer confirmed twice")
	}
	v, err := svcs[0].GetReport(ctx, r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Incident.State != dispatch.StateAcknowledged || v.Incident.Owner != first {
		t.Errorf("incident state %s owner %q, want acknowledged by %s", v.Incident.State, v.Incident.Owner, first)
	}
	if countEvents(v.Events, "take") != 1 || countEvents(v.Events, "confirm") != 1 {
		t.Errorf("%d take and %d confirm events, want 1 and 1", countEvents(v.Events, "take"), countEvents(v.Events, "confirm"))
	}
	if ev, _ := lastEvent(v.Events, "confirm"); ev.Actor != confirmer {
		t.Errorf("confirm event by %s, want %s", ev.Actor, confirmer)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM incident_confirmations WHERE incident_id = $1`, r.IncidentID).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("%d confirmations stored (%v), want 2", rows, err)
	}
}
