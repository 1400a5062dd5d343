package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRoomTakeWhileGatewayAway: a team member writes "ok <case>" into
// the team room while no gateway is in it (the component holder died and
// the next one has not joined yet, or the XMPP server restarted). The
// room keeps the message; the gateway that joins next must count the
// take, once, and not count again a take it already handled live (found
// by the chaos run: takes written during a failover were lost without a
// word, the case escalated as if nobody had taken it). The gateway reads
// the room's archive (XEP-0313) when it joins; Prosody and ejabberd both
// name the author of an archived message in a non-anonymous room.
func TestRoomTakeWhileGatewayAway(t *testing.T) {
	s, r := faultStack(t, nil)
	conn := s.dbConn()
	anna, room, cases := takerInRoom(t, s, "Ampel dunkel", "Gully offen")
	live, away := cases[0], cases[1]
	// Taken live, before the gateway goes away.
	anna.Groupchat(room, "ok "+live)
	waitTaken(t, conn, live, 30*time.Second)

	r.kill()
	anna.Groupchat(room, "ok "+away)
	before := len(anna.Messages())
	s.startReplica("r2", nil)
	waitTaken(t, conn, away, 30*time.Second)
	s.waitReady()
	time.Sleep(2 * time.Second) // any second handling of the history would answer now

	for _, c := range []string{live, away} {
		if st, n := caseTakes(t, conn, c); st != "acknowledged" || n != 1 {
			t.Errorf("%s: state %s, %d takes; want acknowledged, 1", c, st, n)
		}
	}
	// Answers to anna after the restart: the confirmation of the take
	// written while the gateway was away, nothing about the live one.
	var answers []string
	for _, m := range anna.Messages()[before:] {
		if s.fromGateway(m) && m.Type == "groupchat" && (strings.Contains(m.Body, live) || strings.Contains(m.Body, away)) {
			answers = append(answers, m.Body)
		}
	}
	var aboutAway, aboutLive int
	for _, a := range answers {
		if strings.Contains(a, away) {
			aboutAway++
		}
		if strings.Contains(a, live) {
			aboutLive++
		}
	}
	if aboutAway != 1 || aboutLive != 0 {
		t.Errorf("room messages after the restart about %s: %d (want 1, the confirmation), about %s: %d (want 0): %s",
			away, aboutAway, live, aboutLive, fmt.Sprint(answers))
	}
}
