package gateway

import (
	"fmt"
	"testing"
	"time"

	"mellium.im/xmpp"
)

func answer(id string, sess *xmpp.Session, at time.Time) sentAnswer {
	return sentAnswer{at: at, sess: sess, msg: outMessage{ID: id, Received: &outRcpt{ID: "m-" + id}}}
}

func ids(as []sentAnswer) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.msg.ID)
	}
	return out
}

// TestAnswerLogKeepsTheLostSessionsWindow: a lost session's answers of
// the last answerReplayWindow are written again, in order; older ones,
// and those of other sessions, are not.
func TestAnswerLogKeepsTheLostSessionsWindow(t *testing.T) {
	var l answerLog
	s1, s2 := new(xmpp.Session), new(xmpp.Session)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	l.add(answer("old", s1, t0))
	l.serverRead(t0.Add(time.Second)) // a ping after it was answered
	l.add(answer("a", s1, t0.Add(5*time.Second)))
	l.add(answer("other", s2, t0.Add(6*time.Second)))
	l.add(answer("b", s1, t0.Add(12*time.Second)))
	l.sessionLost(s1, t0.Add(14*time.Second))
	if got := fmt.Sprint(ids(l.takeLost())); got != "[a b]" {
		t.Errorf("written again: %s, want [a b] (old is past the window, other is another session's)", got)
	}
	if got := l.takeLost(); len(got) != 0 {
		t.Errorf("taken twice: %v", ids(got))
	}
	// The other session's answer stays until its session is lost.
	l.sessionLost(s2, t0.Add(15*time.Second))
	if got := fmt.Sprint(ids(l.takeLost())); got != "[other]" {
		t.Errorf("second session: %s, want [other]", got)
	}
	l.sessionLost(s1, t0.Add(16*time.Second))
	if got := l.takeLost(); len(got) != 0 {
		t.Errorf("a session lost again has nothing new: %v", ids(got))
	}
}

// TestAnswerLogIsBounded: beyond answerLogMax answers the oldest are
// forgotten, and the log does not grow with the answers written over time.
func TestAnswerLogIsBounded(t *testing.T) {
	var l answerLog
	s := new(xmpp.Session)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for i := range answerLogMax + 100 {
		l.add(answer(fmt.Sprint(i), s, t0))
	}
	l.sessionLost(s, t0)
	lost := l.takeLost()
	if len(lost) != answerLogMax || lost[0].msg.ID != "100" {
		t.Errorf("kept %d from %s, want %d from 100", len(lost), lost[0].msg.ID, answerLogMax)
	}
	// A day of answers at one a second, none confirmed by a ping, leaves
	// only answerKeepMax's in memory.
	live := new(xmpp.Session)
	for i := range 86400 {
		if !l.add(answer(fmt.Sprint(i), live, t0.Add(time.Duration(i)*time.Second))) {
			t.Fatalf("answer %d on a live session refused", i)
		}
	}
	if n := len(l.entries) - l.head; n != int(answerKeepMax/time.Second)+1 {
		t.Errorf("%d answers kept, want the last minute's, %d", n, int(answerKeepMax/time.Second)+1)
	}
	if c := cap(l.entries); c > 4*answerLogMax {
		t.Errorf("the log's array grew to %d", c)
	}
}

// TestAnswerLogRefusesALostSession: an answer written on a session
// already found lost is not kept (add says so): the writer writes it
// again on the next session instead of leaving it with the dead one.
func TestAnswerLogRefusesALostSession(t *testing.T) {
	var l answerLog
	s1, s2 := new(xmpp.Session), new(xmpp.Session)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	l.sessionLost(s1, t0)
	if l.add(answer("late", s1, t0)) {
		t.Errorf("an answer on a lost session was kept")
	}
	if !l.add(answer("next", s2, t0)) {
		t.Errorf("an answer on a live session was refused")
	}
	l.sessionLost(s1, t0.Add(time.Second))
	if got := l.takeLost(); len(got) != 0 {
		t.Errorf("written again: %v, want nothing", ids(got))
	}
	// Only the last endedKept lost sessions are remembered.
	for range endedKept {
		l.sessionLost(new(xmpp.Session), t0)
	}
	if !l.add(answer("much later", s1, t0)) {
		t.Errorf("a long-forgotten session is still remembered (%d kept)", len(l.ended))
	}
}

// TestAnswerLogKeepsWhatNoPingConfirmed: past the window an answer is
// kept until a ping answered after it shows the server read it (a
// connection that died silently is found only by the ping), for at most
// answerKeepMax.
func TestAnswerLogKeepsWhatNoPingConfirmed(t *testing.T) {
	var l answerLog
	s := new(xmpp.Session)
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	l.add(answer("read", s, t0))
	l.serverRead(t0.Add(time.Second))
	l.add(answer("unread", s, t0.Add(2*time.Second)))
	l.add(answer("too old", s, t0.Add(3*time.Second)))
	l.sessionLost(s, t0.Add(25*time.Second))
	if got := fmt.Sprint(ids(l.takeLost())); got != "[unread too old]" {
		t.Errorf("written again 25 s later: %s, want [unread too old] (read was confirmed by a ping)", got)
	}
	s2 := new(xmpp.Session)
	l.add(answer("ancient", s2, t0))
	l.add(answer("recent", s2, t0.Add(answerKeepMax)))
	l.sessionLost(s2, t0.Add(answerKeepMax+time.Second))
	if got := fmt.Sprint(ids(l.takeLost())); got != "[recent]" {
		t.Errorf("written again: %s, want [recent] (ancient is past answerKeepMax)", got)
	}
}
