package dispatch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// refusedWith asserts that err is ErrForbidden with exactly the reply
// want when rendered in lang (the room's team language, as the gateway does).
func refusedWith(t *testing.T, what string, err error, lang, want string) {
	t.Helper()
	var de *dispatch.Error
	if !errors.As(err, &de) || !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("%s: err = %v, want forbidden", what, err)
	}
	if got := de.In(lang); got != want {
		t.Errorf("%s: reply %q, want %q", what, got, want)
	}
}

// TestSharedRoomActsOnlyForOwnTeam: kinder and kindertag share one room.
// A member of one team can neither take, resolve, reply to nor reject the
// other team's case there, and two members of the other team do not
// satisfy the two-person rule; the refusal is in the case team's language
// and nothing changes. A dispatcher acts on both.
func TestSharedRoomActsOnlyForOwnTeam(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Rules: confirmRules})
	start(t, svc)
	ctx := context.Background()

	night, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kinder", Sender: "token:app", Text: "Kind allein auf dem Spielplatz"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post", func() bool { p, _ := rec.snapshot(); return postsTo(p, kinderRoom, night.CaseNumber) == 1 })
	wantDE := night.CaseNumber + " gehört zum Team Jugendamt Bereitschaft; nur dessen Mitglieder (und die Leitstelle) können den Fall bearbeiten."

	// Two members of the other team, one after the other: both refused.
	for _, other := range []string{"tom@stadt.localhost", "Tina@stadt.localhost"} {
		_, err := take(svc, night.CaseNumber, other, kinderRoom)
		refusedWith(t, "ok by "+other, err, "de", wantDE)
	}
	unchanged := func(when string, wantTakes int) {
		t.Helper()
		inc, evs := events(t, svc, night)
		if inc.State == dispatch.StateAcknowledged || countEvents(evs, "take") != wantTakes || countEvents(evs, "confirm") != 0 ||
			countEvents(evs, "reply") != 0 || countEvents(evs, "reject") != 0 {
			t.Errorf("%s: state %s owner %q, %d take, %d confirm, %d reply, %d reject events",
				when, inc.State, inc.Owner, countEvents(evs, "take"), countEvents(evs, "confirm"), countEvents(evs, "reply"), countEvents(evs, "reject"))
		}
		if wantTakes == 0 && inc.Owner != "" {
			t.Errorf("%s: owner %q, want none", when, inc.Owner)
		}
	}
	unchanged("after two oks of the other team", 0)

	// A member's first ok; the other team's ok does not complete it.
	if res, err := take(svc, night.CaseNumber, "anna@stadt.localhost", kinderRoom); err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("first ok by a member: %v %v", res.Outcome, err)
	}
	_, err = take(svc, night.CaseNumber, "tom@stadt.localhost", kinderRoom)
	refusedWith(t, "second ok by the other team", err, "de", wantDE)
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: night.CaseNumber, Actor: "tom@stadt.localhost", Via: "reply", Room: kinderRoom})
	refusedWith(t, "resolve by the other team", err, "de", wantDE)
	_, err = svc.Reply(ctx, dispatch.ReplyCommand{Ref: night.CaseNumber, Text: "Bitte melden Sie sich unter https://example.net", Actor: "tom@stadt.localhost", Via: "room", Room: kinderRoom})
	refusedWith(t, "reply by the other team", err, "de", wantDE)
	_, err = svc.Reject(ctx, dispatch.RejectCommand{Ref: night.CaseNumber, Reason: "nicht zuständig", Actor: "tom@stadt.localhost", Via: "room", Room: kinderRoom})
	refusedWith(t, "reject by the other team", err, "de", wantDE)
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: night.CaseNumber, Actor: "tom@stadt.localhost", Via: "chat"}); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("ok 1:1 by the other team: %v, want forbidden", err)
	}
	unchanged("after the other team's commands", 1)

	// The second member of the case's team completes it.
	res, err := take(svc, night.CaseNumber, "ben@stadt.localhost", kinderRoom)
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.State != dispatch.StateAcknowledged {
		t.Fatalf("second ok by a member: %v %v %s", res.Outcome, err, res.Incident.State)
	}

	// The other way round, in English: the day team's case.
	day, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "kindertag", Sender: "token:app", Text: "Kind ohne Jacke"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the day team's post", func() bool { p, _ := rec.snapshot(); return postsTo(p, kinderRoom, day.CaseNumber) == 1 })
	_, err = take(svc, day.CaseNumber, "anna@stadt.localhost", kinderRoom)
	refusedWith(t, "ok by the night team", err, "en", day.CaseNumber+" belongs to team Youth Office Day Team; only its members (and dispatchers) can handle it.")
	if res, err := take(svc, day.CaseNumber, "tom@stadt.localhost", kinderRoom); err != nil || res.Outcome != dispatch.OutcomeApplied {
		t.Fatalf("first ok by the day team: %v %v", res.Outcome, err)
	}
	res, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: day.CaseNumber, Actor: "dora@stadt.localhost", Via: "room", Room: kinderRoom, Dispatcher: true})
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.State != dispatch.StateAcknowledged {
		t.Fatalf("second ok by a dispatcher: %v %v %s", res.Outcome, err, res.Incident.State)
	}
	_, evs := events(t, svc, day)
	if countEvents(evs, "take") != 1 || countEvents(evs, "confirm") != 1 {
		t.Errorf("day case: %d take and %d confirm events, want 1 and 1", countEvents(evs, "take"), countEvents(evs, "confirm"))
	}
}
