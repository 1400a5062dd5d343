package dispatch_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRoomCommandClaimCommitsWithItsEffect: a room command's claim
// (RoomClaim, by the room's stanza-id) commits in the transaction of its
// effect, never on its own before it. A command whose transaction fails
// (here an injected failure after the claim, as a process dying before
// its commit would leave it) leaves its message unclaimed, so the
// gateway that reads the room's archive carries it out once; a refused
// one leaves it unclaimed too (the gateway claims it when it answers);
// one carried out is claimed, and the same message again, also from two
// gateways at once, does nothing. Before, the claim committed first and
// outlived an effect that never did: the take was lost.
func TestRoomCommandClaimCommitsWithItsEffect(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, RulesFile: lifecycleRulesFile(t), Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	ctx := context.Background()
	const room = "tiefbau@conference.stadt.localhost"
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel aus",
		Position: &dispatch.Position{Lat: 51.02, Lon: 7.59}})
	if err != nil {
		t.Fatal(err)
	}
	claimed := func(id string) bool {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM room_commands WHERE room = $1 AND stanza_id = $2`, room, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	take := func(id, actor string) error {
		_, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: actor, Via: "room", Room: room,
			Claim: dispatch.RoomClaim{Room: room, StanzaID: id}})
		return err
	}

	// The take's effect fails after its claim (the audit trail refuses
	// the event): nothing is claimed, the case is not taken.
	for _, q := range []string{
		`CREATE FUNCTION once11_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER once11_fail BEFORE INSERT ON incident_events FOR EACH ROW WHEN (NEW.kind = 'take') EXECUTE FUNCTION once11_fail()`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := take("s-1", "anna@stadt.localhost"); err == nil || errors.Is(err, dispatch.ErrClaimed) {
		t.Fatalf("take with the injected failure: %v, want the failure", err)
	}
	if claimed("s-1") {
		t.Fatalf("the message of a take that failed is claimed: no gateway reading the archive would carry it out")
	}
	if _, err := pool.Exec(ctx, `DROP TRIGGER once11_fail ON incident_events`); err != nil {
		t.Fatal(err)
	}

	// A refused command (unknown case) commits nothing either.
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: "999999", Actor: "anna@stadt.localhost", Via: "room", Room: room,
		Claim: dispatch.RoomClaim{Room: room, StanzaID: "s-0"}})
	if !errors.Is(err, dispatch.ErrNotFound) || claimed("s-0") {
		t.Errorf("take of an unknown case: %v, claimed %v; want not found, unclaimed", err, claimed("s-0"))
	}

	// The same message read again (from the archive, by two gateways at
	// once): carried out once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = take("s-1", "anna@stadt.localhost")
		}()
	}
	wg.Wait()
	var applied, skipped int
	for _, err := range errs {
		switch {
		case err == nil:
			applied++
		case errors.Is(err, dispatch.ErrClaimed):
			skipped++
		default:
			t.Errorf("take: %v", err)
		}
	}
	if applied != 1 || skipped != 3 || !claimed("s-1") {
		t.Errorf("the same message four times: %d carried out, %d skipped, claimed %v; want 1, 3, true", applied, skipped, claimed("s-1"))
	}
	// Any command under a claimed message does nothing (ben's resolve
	// under anna's take's stanza-id).
	_, err = svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: "ben@stadt.localhost", Via: "room", Room: room,
		Claim: dispatch.RoomClaim{Room: room, StanzaID: "s-1"}})
	if !errors.Is(err, dispatch.ErrClaimed) {
		t.Errorf("a second command under a claimed message: %v, want ErrClaimed", err)
	}
	inc, evs := events(t, svc, r)
	if inc.State != dispatch.StateAcknowledged || inc.Owner != "anna@stadt.localhost" || countEvents(evs, "take") != 1 || countEvents(evs, "resolve") != 0 {
		t.Errorf("after all: %s owner %q, %d takes, %d resolves; want acknowledged by anna, 1 take, no resolve",
			inc.State, inc.Owner, countEvents(evs, "take"), countEvents(evs, "resolve"))
	}
}
