package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"mellium.im/xmpp"
)

// Answers to a person (XEP-0184 receipts, replies, stanza errors, the
// dispatcher's chat messages) are written on the component stream
// (XEP-0114), which has no acknowledgement: what the XMPP server had not
// yet read from the socket when it went down (a restart, a crash) is gone
// without a trace, and the messenger never learns that its report was
// taken, or under which case number. Measured on ejabberd 23.01 with a
// report every 10 ms across a SIGTERM of the server: 1 to 12 receipts
// per restart, in three runs of three, never arrived.
//
// So the gateway keeps each answer of the last answerReplayWindow, and
// when a session ends without the gateway closing it, writes those of
// that session again on the next one. An answer older than that which no
// ping has yet confirmed the server read (keepalive.go: a connection that
// died silently is found within PingInterval+PingTimeout) is kept until
// one does, for at most answerKeepMax. A person may then get an answer
// twice, under the same id: a receipt names the same message again, and
// a reply or chat message carries the same id and XEP-0359 origin-id,
// by which a messenger can recognise the repeat. Room posts are not kept
// here: the room's reflection confirms each one (rooms.go).
const (
	answerReplayWindow = 10 * time.Second
	answerKeepMax      = time.Minute
	// answerLogMax bounds the memory the log takes (one outMessage each):
	// beyond it the oldest are forgotten. At 8192 answers in ten seconds
	// a town's server is far past any load it sees.
	answerLogMax = 8192
)

// sentAnswer is one answer written on a session.
type sentAnswer struct {
	at   time.Time
	sess *xmpp.Session
	msg  outMessage
}

// answerLog is what answerReplayWindow describes: the answers of the
// last window, oldest first, and those of lost sessions waiting to be
// written again. Safe for concurrent use.
type answerLog struct {
	mu      sync.Mutex
	entries []sentAnswer
	head    int // entries[:head] are forgotten; compacted as it grows
	lost    []sentAnswer
	// ended are the last sessions found lost, newest last: an answer
	// written on one of them while it ended comes too late for
	// sessionLost.
	ended []*xmpp.Session
	// readBefore: the server has read what was written before this time
	// (a ping written then was answered).
	readBefore time.Time
}

// serverRead records that the server has read everything written before
// at (keepalive.go).
func (l *answerLog) serverRead(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if at.After(l.readBefore) {
		l.readBefore = at
	}
}

// endedKept is how many lost sessions answerLog remembers.
const endedKept = 8

// add keeps a that was written at a.at (now). It returns false, keeping
// nothing, when a.sess was found lost already: a is to be written again
// on the next session.
func (l *answerLog) add(a sentAnswer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if slices.Contains(l.ended, a.sess) {
		return false
	}
	l.forget(a.at)
	if len(l.entries)-l.head >= answerLogMax {
		l.head++
	}
	l.entries = append(l.entries, a)
	if l.head > len(l.entries)/2 {
		l.entries = append(l.entries[:0:0], l.entries[l.head:]...)
		l.head = 0
	}
	return true
}

// forget drops what is older than answerReplayWindow at now and was read
// by the server, and what is older than answerKeepMax.
func (l *answerLog) forget(now time.Time) {
	for l.head < len(l.entries) {
		at := l.entries[l.head].at
		if age := now.Sub(at); age <= answerReplayWindow || (age <= answerKeepMax && !at.Before(l.readBefore)) {
			break
		}
		l.entries[l.head] = sentAnswer{}
		l.head++
	}
}

// sessionLost marks the answers written on sess that the log still keeps
// at now (forget) as to be written again (takeLost), and remembers sess
// as lost (add).
func (l *answerLog) sessionLost(sess *xmpp.Session, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.ended, sess) {
		if len(l.ended) == endedKept {
			l.ended = append(l.ended[:0], l.ended[1:]...)
		}
		l.ended = append(l.ended, sess)
	}
	l.forget(now)
	kept := l.entries[:l.head]
	for _, a := range l.entries[l.head:] {
		if a.sess == sess {
			l.lost = append(l.lost, a)
		} else {
			kept = append(kept, a)
		}
	}
	clear(l.entries[len(kept):])
	l.entries = kept
	if n := len(l.lost); n > answerLogMax {
		l.lost = append(l.lost[:0:0], l.lost[n-answerLogMax:]...)
	}
}

// takeLost returns, oldest first, the answers of lost sessions not yet
// written again, and forgets them.
func (l *answerLog) takeLost() []sentAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := l.lost
	l.lost = nil
	return lost
}

// sendAnswer writes msg, an answer to a person, on the current session
// (waiting for one until ctx ends) and keeps it for answerReplayWindow
// (answerLog). keepFailed keeps it also when the write fails: for the
// answers nobody sends again otherwise; a caller that retries itself
// (SendChat's queue) passes false. arrivedOn is the session the message
// answered came in on (nil: none): written on another one, the
// messenger's session has most likely ended with the server's, and msg
// is written as for a replay (forReplay).
//
// A session found lost while msg was written on it: msg is written again
// on the next one, as replayAnswers does.
func (g *Gateway) sendAnswer(ctx context.Context, msg outMessage, keepFailed bool, arrivedOn *xmpp.Session) error {
	return g.writeAnswer(ctx, msg, keepFailed, arrivedOn, false)
}

// writeAnswer is sendAnswer; again says msg is written again already
// (replayAnswers), and counts it as such (AnswersWrittenAgain).
func (g *Gateway) writeAnswer(ctx context.Context, msg outMessage, keepFailed bool, arrivedOn *xmpp.Session, again bool) error {
	for ; ; again = true {
		s, err := g.session(ctx)
		if err != nil {
			return err
		}
		if arrivedOn != nil && s != arrivedOn {
			msg = forReplay(msg)
		}
		err = g.encode(ctx, s, msg)
		if err != nil && !keepFailed {
			return err
		}
		if g.answers.add(sentAnswer{at: time.Now(), sess: s, msg: msg}) {
			if again && err == nil {
				g.answersAgain.Add(1)
			}
			return err
		}
		msg = forReplay(msg)
	}
}

// forReplay is msg to be written again. A receipt gets the XEP-0334
// store hint: a receipt has no body, and servers archive (ejabberd's
// mod_mam) or keep for an offline messenger only messages with a body or
// that hint; the messenger whose session died with the server's is
// usually offline at this moment.
func forReplay(msg outMessage) outMessage {
	if msg.Received != nil && msg.Store == nil {
		msg.Store = &outEmpty{XMLName: xmlName(nsHints, "store")}
	}
	return msg
}

// replayAnswers writes lost (answerLog.takeLost) again, in their order,
// as sendAnswer does: each is kept again as if written now, and one
// whose session is lost too waits for the next. It ends when the
// gateway stops.
func (g *Gateway) replayAnswers(ctx context.Context, lost []sentAnswer) {
	g.log.Info("XMPP session was lost; writing its last answers again", "answers", len(lost), "window", answerReplayWindow)
	for i, a := range lost {
		if err := g.writeAnswer(ctx, forReplay(a.msg), true, nil, true); err != nil && ctx.Err() != nil {
			g.log.Warn("stopping before the lost session's answers were written again", "left", len(lost)-i)
			return
		}
	}
}

// AnswersWrittenAgain counts the answers written again on a new session
// because the one they were first written on was lost (since start).
func (g *Gateway) AnswersWrittenAgain() uint64 { return g.answersAgain.Load() }
