package dispatch_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// lifecycleRules is a small town with second-scale escalation policies.
const lifecycleRules = `
version: 1
timezone: Europe/Berlin
dispatchers: [dora@stadt.localhost]
schedules:
  bereitschaft:
    rotation: [carla@stadt.localhost, dieter@stadt.localhost]
    start: 2026-01-05T08:00
    period: 7d
  kalender:
    rotation: [fallback@stadt.localhost]
    start: 2026-01-05T08:00
    period: 7d
    ics: kalender.ics
policies:
  esc:
    levels:
      - after: 1s
        notify: room
        repeat: 1
        repeat_every: 500ms
      - after: 2s
        notify: team:leitstelle
      - after: 3s
        notify: [oncall, person:eve@stadt.localhost]
  ackt:
    ack_timeout: 1s
    levels:
      - after: 30s
        notify: room
  later:
    levels:
      - after: 2s
        notify: person:eve@stadt.localhost
  nachtpol:
    levels:
      - after: 500ms
        notify: oncall
  slow:
    levels:
      - after: 1h
        notify: room
teams:
  tiefbau:
    name: Tiefbau Nord
    room: tiefbau@conference.stadt.localhost
    oncall: bereitschaft
    policy: esc
    members: [anna@stadt.localhost, ben@stadt.localhost]
  gruen:
    name: Grünflächen
    room: gruen@conference.stadt.localhost
    policy: ackt
    members: [gina@stadt.localhost]
  kill:
    name: Kill
    room: kill@conference.stadt.localhost
    policy: later
  nacht:
    name: Nachtdienst
    room: nacht@conference.stadt.localhost
    oncall: kalender
    policy: nachtpol
  ordnung:
    name: Ordnungsamt
    room: ordnung@conference.stadt.localhost
    policy: slow
    members: [otto@stadt.localhost]
  leitstelle:
    name: Leitstelle
    room: leitstelle@conference.stadt.localhost
    members: [dora@stadt.localhost]
addresses:
  tiefbau:
    allow: [stadt.localhost]
    default_team: tiefbau
  gruen:
    allow: [public]
    default_team: gruen
  kill:
    allow: [public]
    default_team: kill
  nacht:
    allow: [public]
    default_team: nacht
  info:
    allow: [public]
rules:
  - name: schlagloch
    match:
      address: info
      keywords: [schlagloch]
    team: ordnung
    category: strasse
default:
  team: leitstelle
`

func lifecycleRulesFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(lifecycleRules), 0o644); err != nil {
		t.Fatal(err)
	}
	// The imported shift plan: ics-person is on call from yesterday to tomorrow.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1@test\r\n" +
		"DTSTAMP:" + day.Format("20060102T150405Z") + "\r\n" +
		"DTSTART:" + day.Add(-24*time.Hour).Format("20060102T150405Z") + "\r\n" +
		"DTEND:" + day.Add(48*time.Hour).Format("20060102T150405Z") + "\r\n" +
		"SUMMARY:Bereitschaft: ics-person@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(filepath.Join(filepath.Dir(p), "kalender.ics"), []byte(ics), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func lifecycleEngine(t testing.TB, path string) *routing.Engine {
	t.Helper()
	e, err := routing.NewEngine(path, discard())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func events(t testing.TB, svc *dispatch.Service, r dispatch.Receipt) (dispatch.Incident, []dispatch.Event) {
	t.Helper()
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Incident, v.Events
}

func countEvents(evs []dispatch.Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func postsTo(posts []dispatch.RoomPost, room, contains string) int {
	n := 0
	for _, p := range posts {
		if p.Room == room && strings.Contains(p.Body, contains) {
			n++
		}
	}
	return n
}

func chatsTo(chats []dispatch.ChatMessage, to, contains string) int {
	n := 0
	for _, c := range chats {
		if c.To == to && strings.Contains(c.Body, contains) {
			n++
		}
	}
	return n
}

// chatsNotFrom returns the chats not sent from the function address
// (local part) address: 1:1 messages to team members come from the case's
// address, which is in their roster, never from the bare component domain.
func chatsNotFrom(chats []dispatch.ChatMessage, address string) []dispatch.ChatMessage {
	var bad []dispatch.ChatMessage
	for _, c := range chats {
		if c.From != address {
			bad = append(bad, c)
		}
	}
	return bad
}

// TestEscalationLevels: an unacknowledged incident is reminded in its room
// (twice: level 1 repeats once), then the Leitstelle room is alerted, then
// the on-call person and a named person 1:1; the alerted person takes it
// by answering the 1:1 alert, a stranger may not.
func TestEscalationLevels(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	// The service's clock runs an hour behind: every step of the policy
	// (1 s … 3 s after the incident) is already due when it is scheduled,
	// so the chain runs at the queue's pace without waiting on real time.
	// The order of the steps is what is tested here; when each is due is
	// nextStep's test (plan_test.go), and TestAckTimeoutReescalates and
	// TestEscalationOnCallFromCalendar still run on real time.
	behind := func() time.Time { return time.Now().Add(-time.Hour) }
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{Now: behind}})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel ausgefallen",
		Position: &dispatch.Position{Lat: 51.02, Lon: 7.59}})
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := lifecycleEngine(t, lifecycleRulesFile(t)).Current().Schedule("bereitschaft")
	ans, ok := oncall.At(sched, nil, behind())
	oncall := ans.Person
	if !ok {
		t.Fatal("nobody on call in the test schedule")
	}
	waitFor(t, "the 1:1 alerts of level 3", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, oncall, "Eskalation Stufe 3") == 1 && chatsTo(c, "eve@stadt.localhost", "Eskalation Stufe 3") == 1
	})
	posts, chats := rec.snapshot()
	if bad := chatsNotFrom(chats, "tiefbau"); len(bad) != 0 {
		t.Errorf("1:1 alerts not from the case's address tiefbau: %+v", bad)
	}
	if n := postsTo(posts, "tiefbau@conference.stadt.localhost", "⏰ Erinnerung: "+r.CaseNumber); n != 2 {
		t.Errorf("%d reminders in the team room, want 2 (level 1 and its repeat)", n)
	}
	if n := postsTo(posts, "leitstelle@conference.stadt.localhost", "🚨 Eskalation Stufe 2: "+r.CaseNumber+" (Tiefbau Nord)"); n != 1 {
		t.Errorf("%d level-2 alerts in the Leitstelle room, want 1: %+v", n, posts)
	}
	for _, c := range chats {
		if c.To == oncall && c.From != "tiefbau" {
			t.Errorf("alert sent from %q, want the incident's address", c.From)
		}
		if c.To == oncall && !strings.Contains(c.Body, "„ok "+strings.TrimLeft(strings.SplitN(r.CaseNumber, "-", 2)[1], "0")+"“") {
			t.Errorf("alert does not say how to take it: %q", c.Body)
		}
	}
	inc, evs := events(t, svc, r)
	if inc.State != dispatch.StateEscalated || inc.EscalationLevel != 3 {
		t.Errorf("incident state %s level %d, want escalated 3", inc.State, inc.EscalationLevel)
	}
	var levels []any
	for _, e := range evs {
		if e.Kind == "escalated" {
			levels = append(levels, e.Detail["level"])
		}
	}
	if len(levels) != 4 {
		t.Errorf("escalation events for levels %v, want 1 1 2 3", levels)
	}

	// A stranger cannot take it 1:1; a room that was not alerted cannot either.
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "mallory@stadt.localhost", Via: "chat"})
	if !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("take by a stranger 1:1: err = %v, want forbidden", err)
	}
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "gina@stadt.localhost", Via: "room", Room: "gruen@conference.stadt.localhost"})
	if !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("take by a member of an unrelated room: err = %v, want forbidden", err)
	}
	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: oncall, Via: "chat"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("on-call take 1:1: %v %v", res.Outcome, err)
	}
	waitFor(t, "the others alerted to learn it is taken", func() bool {
		p, c := rec.snapshot()
		return chatsTo(c, "eve@stadt.localhost", "übernommen von "+oncall) == 1 &&
			postsTo(p, "leitstelle@conference.stadt.localhost", "übernommen von "+oncall) == 1 &&
			postsTo(p, "tiefbau@conference.stadt.localhost", "übernommen von "+oncall) == 1 &&
			chatsTo(c, oncall, "übernommen von") == 0
	})
	// The Leitstelle room was alerted, so it may act there (resolve).
	res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Room: "leitstelle@conference.stadt.localhost"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("resolve from the alerted Leitstelle room: %v %v", res.Outcome, err)
	}
}

// TestNoEscalationOnceAcked: taken before the first level is due, the
// incident never escalates.
func TestNoEscalationOnceAcked(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t)})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Baum auf Straße"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "anna@stadt.localhost",
		Via: "room", Room: "tiefbau@conference.stadt.localhost"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("take: %v %v", res.Outcome, err)
	}
	// Level 1 would be due after 1s, level 3 after 3s; the job of level 1
	// must run and end the chain.
	waitFor(t, "the level-1 job to finish", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate' AND state = 'completed'`).Scan(&n)
		return n == 1
	})
	time.Sleep(2500 * time.Millisecond)
	posts, chats := rec.snapshot()
	for _, p := range posts {
		if strings.Contains(p.Body, "Erinnerung") || strings.Contains(p.Body, "Eskalation") {
			t.Errorf("escalation after the ack: %q", p.Body)
		}
	}
	for _, c := range chats {
		t.Errorf("1:1 message after the ack: %+v", c)
	}
	var jobs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'escalate'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Errorf("%d escalation jobs, want 1 (the chain ends at the first step after the ack)", jobs)
	}
	inc, evs := events(t, svc, r)
	if inc.State != dispatch.StateAcknowledged || countEvents(evs, "escalated") != 0 {
		t.Errorf("state %s, %d escalations", inc.State, countEvents(evs, "escalated"))
	}
}

// TestAckTimeoutReescalates: an acknowledged incident not resolved within
// its policy's ack timeout returns to unacknowledged, its owner is told and
// the first level is alerted at once.
func TestAckTimeoutReescalates(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t)})
	start(t, svc)
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "gruen", Sender: "token:app", Text: "Ast abgebrochen"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return len(p) == 1 })
	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "gina@stadt.localhost",
		Via: "room", Room: "gruen@conference.stadt.localhost"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("take: %v %v", res.Outcome, err)
	}
	waitFor(t, "the re-escalation", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, "gruen@conference.stadt.localhost", "⏰ Erinnerung: "+r.CaseNumber) == 1
	})
	posts, chats := rec.snapshot()
	if postsTo(posts, "gruen@conference.stadt.localhost", "wieder offen") != 1 {
		t.Errorf("the room was not told the incident is open again: %+v", posts)
	}
	if chatsTo(chats, "gina@stadt.localhost", "wieder freigegeben") != 1 {
		t.Errorf("the owner was not told: %+v", chats)
	}
	if bad := chatsNotFrom(chats, "gruen"); len(bad) != 0 {
		t.Errorf("1:1 notices not from the case's address gruen: %+v", bad)
	}
	inc, evs := events(t, svc, r)
	if inc.State != dispatch.StateEscalated || inc.Owner != "" || countEvents(evs, "ack_timeout") != 1 {
		t.Errorf("after the ack timeout: state %s owner %q, %d ack_timeout events", inc.State, inc.Owner, countEvents(evs, "ack_timeout"))
	}
	// Taken again: the timer is armed anew (round 2) and resolving in time stops it.
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: "gina@stadt.localhost",
		Via: "room", Room: "gruen@conference.stadt.localhost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "gina@stadt.localhost",
		Via: "room", Room: "gruen@conference.stadt.localhost"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second ack-timeout job", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'ack_timeout' AND state = 'completed'`).Scan(&n)
		return n == 2
	})
	inc, evs = events(t, svc, r)
	if inc.State != dispatch.StateResolved || countEvents(evs, "ack_timeout") != 1 {
		t.Errorf("after resolving: state %s, %d ack_timeout events", inc.State, countEvents(evs, "ack_timeout"))
	}
}

// TestEscalationOnCallFromCalendar: the on-call person comes from the
// schedule's imported calendar, which beats its rotation.
func TestEscalationOnCallFromCalendar(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, RulesFile: lifecycleRulesFile(t)})
	start(t, svc)
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: "api", Address: "nacht", Sender: "token:app", Text: "Kind allein auf dem Spielplatz"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 1:1 alert", func() bool {
		_, c := rec.snapshot()
		return chatsTo(c, "ics-person@stadt.localhost", "Eskalation Stufe 1: "+r.CaseNumber+" (Nachtdienst)") == 1
	})
	_, chats := rec.snapshot()
	if chatsTo(chats, "fallback@stadt.localhost", "") != 0 {
		t.Errorf("the rotation's person was alerted although the calendar names another: %+v", chats)
	}
	if bad := chatsNotFrom(chats, "nacht"); len(bad) != 0 {
		t.Errorf("1:1 alerts not from the case's address nacht: %+v", bad)
	}
}
