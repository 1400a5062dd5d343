package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/msg"
)

// TestRoomCommandTriedAgainAfterInternalError: a take written into the
// room while the database ended the gateway's session (a failover, an
// administrator's pg_terminate_backend) failed with an internal error,
// and the taker was told "Interner Fehler, bitte erneut versuchen"; in
// the chaos run 2 of 432 takes stayed untaken that way. The command's
// claim commits with its effect, so it is safe to try again: it is tried
// again after a short pause and carried out, claimed by the same
// stanza-id (a try whose commit went through answers ErrClaimed, and the
// next does nothing). A refusal of the domain is not tried again, nor is
// a message without a stanza-id (it cannot be claimed once).
func TestRoomCommandTriedAgainAfterInternalError(t *testing.T) {
	saved := roomCommandRetries
	roomCommandRetries = []time.Duration{time.Millisecond, time.Millisecond}
	t.Cleanup(func() { roomCommandRetries = saved })
	g, d := newTestGateway(t)
	tb := "tiefbau@conference.stadt.example"
	occupy(g, tb, "dora", "dora@stadt.example")
	say := func(id string) {
		// Answers into the room wait for a session until ctx ends.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		m := inMessage{From: tb + "/dora", Type: "groupchat", Bodies: oneBody("ok 7")}
		if id != "" {
			m.StanzaIDs = []idElem{{ID: id, By: tb}}
		}
		g.onRoomMessage(ctx, &m)
	}
	lost := errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")

	d.execErrs = []error{lost, lost}
	say("s-1")
	if len(d.cmds) != 3 || len(d.execErrs) != 0 {
		t.Fatalf("a take failing twice with an internal error reached the domain %d times; want 3 (two failures, then carried out)", len(d.cmds))
	}
	for _, c := range d.cmds {
		if c.Claim.StanzaID != "s-1" || c.Claim.Room != tb {
			t.Errorf("try without the message's claim: %+v", c.Claim)
		}
	}

	d.cmds = nil
	d.execErrs = []error{lost, dispatch.ErrClaimed}
	say("s-2") // the first try's commit went through, its answer was lost
	if len(d.cmds) != 2 {
		t.Errorf("a take whose lost answer hid its commit: %d tries, want 2 (the second finds it claimed)", len(d.cmds))
	}

	d.cmds = nil
	d.execErrs = []error{&dispatch.Error{Kind: dispatch.ErrNotFound, Text: func(msg.Texts) string { return "unbekannt" }}}
	say("s-3")
	if len(d.cmds) != 1 {
		t.Errorf("a refusal was tried %d times, want once", len(d.cmds))
	}

	d.cmds = nil
	d.execErrs = []error{lost, lost, lost, lost}
	say("")
	if len(d.cmds) != 1 {
		t.Errorf("a message without a stanza-id was tried %d times, want once (it cannot be claimed)", len(d.cmds))
	}
}

// TestGatewayTakesMessagesAgainAfterADrain: a replica whose database
// session holding the component lock ended drains its session (drain)
// and stops leading; when it wins the lock again, the same gateway runs
// again and must take messages again. In the 300 s chaos run against
// Prosody it went on refusing every message ("the gateway is stopping")
// after leading again.
func TestGatewayTakesMessagesAgainAfterADrain(t *testing.T) {
	g, _ := newTestGateway(t)
	g.drain(func() {})
	if !g.stopping.Load() {
		t.Fatal("a draining gateway takes new messages")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = g.Run(ctx) // leads again; the server (127.0.0.1:1) refuses, Run ends with ctx
	if g.stopping.Load() {
		t.Error("a gateway leading again after a drain still refuses every message")
	}
}

// TestArchivedRoomCommandFailingIsLeftUnanswered: a command read from the
// room's archive by a joining gateway (catchUpRoom) that fails for the
// database is neither tried again nor answered nor claimed: it stays for
// the next gateway that joins. In the chaos run a catch-up during a
// PostgreSQL restart answered "Interner Fehler" to 371 takes of the last
// five minutes, most of them carried out long before.
func TestArchivedRoomCommandFailingIsLeftUnanswered(t *testing.T) {
	g, d := newTestGateway(t)
	tb := "tiefbau@conference.stadt.example"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	d.execErrs = []error{errors.New("failed to connect to `user=postgres`: connection refused")}
	m := inMessage{From: tb + "/dora", Type: "groupchat", Bodies: oneBody("ok 7"), history: true, archivedAt: time.Now(),
		StanzaIDs: []idElem{{ID: "arch-1", By: tb}}, MUCUser: &mucUserElem{Items: []mucItem{{JID: "dora@stadt.example/phone"}}}}
	start := time.Now()
	g.onRoomMessage(ctx, &m)
	if len(d.cmds) != 1 || d.claims != 0 {
		t.Errorf("an archived command failing for the database: %d tries, %d claims; want 1 try, unclaimed", len(d.cmds), d.claims)
	}
	if waited := time.Since(start); waited >= 250*time.Millisecond {
		t.Errorf("the failed archived command was answered into the room (waited %v for a session)", waited)
	}
}
