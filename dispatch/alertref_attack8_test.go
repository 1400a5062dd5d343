package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestTakeByIncidentID: the gateway names the incident of a 1:1 alert by
// its id (the alert's message id carries it); a take with that id as the
// reference is the same take as with the case number, under the same
// checks; an id of no incident is not found.
func TestTakeByIncidentID(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: &recorder{}, Config: dispatch.Config{AssemblyWindow: 300 * time.Millisecond}})
	ctx := context.Background()
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "tiefbau", Sender: "token:app", Text: "Ampel dunkel"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE incidents SET team = 'tiefbau', state = 'routed'"); err != nil {
		t.Fatal(err)
	}
	ref := r.IncidentID.String()
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: ref, Actor: "mallory@evil.example", Via: "chat"}); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("a stranger's take by id: %v, want forbidden", err)
	}
	res, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: ref, Actor: "anna@stadt.localhost", Via: "chat"})
	if err != nil || res.Outcome != dispatch.OutcomeApplied || res.Incident.CaseNumber != r.CaseNumber {
		t.Fatalf("take by id: %+v %v", res, err)
	}
	if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: uuid.NewString(), Actor: "anna@stadt.localhost", Via: "chat"}); !errors.Is(err, dispatch.ErrNotFound) {
		t.Fatalf("unknown id: %v, want not found", err)
	}
}
