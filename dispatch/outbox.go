package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Direct 1:1 messages
//
// A field worker's "Meldung 2026-000123 angenommen …", and every other
// 1:1 message from a function address that is not an escalation alert
// (enqueueChat), is sent by the process that committed it, right after the
// commit, without a queue job: its transaction writes a chat_outbox row
// (the message, a stable XEP-0359 origin-id, the conversation's order)
// with a hand-over time DirectChatFallback ahead by the database's clock;
// after the commit the process sends it and deletes the row (grouped with
// the records of other direct sends, groupcommit.go). Only a message whose
// direct send failed (the XMPP connection is down, Stop) is handed to the
// queue at once, and one whose process died or hung at its hand-over time
// (handOverChats, every replica each second): exactly once while nothing
// fails, at least once after a crash (a process that dies after the send
// and before the delete: the queue sends it again under the same id, which
// the reporter's client recognises as a repeat).
//
// Order: a reporter must never read "Teil 2 angenommen" before "Meldung
// angenommen". The row's id orders a conversation (function address,
// reporter): the statement that writes a message returns the ids of the
// conversation's messages that are still there (committed before it, or
// earlier in the same transaction), and the message is sent only after
// them: after those this process is sending, or, if any of them is not
// this process's (another replica's, a dead process's, or one the queue
// has), by the queue, whose job waits until the earlier rows are gone
// (outboxWorker).

// DirectChatTimeout bounds a direct 1:1 message from its commit until it
// is written to the XMPP stream; after that only the queue may send it.
const DirectChatTimeout = 5 * time.Second

// DirectChatFallback is how long after its commit a direct 1:1 message
// that is still in chat_outbox is handed to the queue (its process died or
// hung): twice DirectChatTimeout, as for room posts.
const DirectChatFallback = 2 * DirectChatTimeout

// chatOrderWait bounds how long a message waits for an earlier message of
// its conversation that is still in chat_outbox: longer than the queue's
// 25 attempts (about 70 minutes), after which the earlier one is dropped.
const chatOrderWait = 2 * time.Hour

// outboxTx is a transaction of withTx or withJobTx: it collects the direct
// messages it writes (enqueueChat), which are sent after its commit.
type outboxTx struct {
	pgx.Tx
	out *chatBatch
}

// chatBatch is the direct messages of one transaction, in their order.
type chatBatch struct{ chats []*directChat }

// Begin opens a savepoint whose direct messages are forgotten again if it
// is rolled back.
func (t outboxTx) Begin(ctx context.Context) (pgx.Tx, error) {
	sp, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &outboxSavepoint{outboxTx: outboxTx{Tx: sp, out: t.out}, mark: len(t.out.chats)}, nil
}

// outboxSavepoint is a savepoint of an outboxTx.
type outboxSavepoint struct {
	outboxTx
	mark      int
	committed bool
}

func (sp *outboxSavepoint) Commit(ctx context.Context) error {
	err := sp.Tx.Commit(ctx)
	sp.committed = err == nil
	return err
}

func (sp *outboxSavepoint) Rollback(ctx context.Context) error {
	err := sp.Tx.Rollback(ctx)
	if !sp.committed && len(sp.out.chats) > sp.mark {
		dropped := sp.out.chats[sp.mark:]
		sp.out.chats = sp.out.chats[:sp.mark]
		for _, c := range dropped {
			c.finish(false)
		}
	}
	return err
}

// directChat is a message written by enqueueChat for this process to send
// after the commit.
type directChat struct {
	id      int64
	msg     ChatMessage
	earlier []int64 // the conversation's rows before it, when it was written
	sent    *chatsInFlight

	// done is closed when the message is finished here: written to the
	// stream (handedOver false), or left to the queue (true).
	done       chan struct{}
	handedOver bool
}

// finish marks c finished: sent, or left to the queue (handedOver).
func (c *directChat) finish(handedOver bool) {
	c.handedOver = handedOver
	close(c.done)
	if handedOver {
		c.sent.forget(c.id)
	}
}

// chatsInFlight is this process's direct messages from their write until
// their row is deleted, by id: a later message of the same conversation
// waits for them instead of going to the queue.
type chatsInFlight struct {
	mu   sync.Mutex
	byID map[int64]*directChat
}

func (f *chatsInFlight) add(c *directChat) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID == nil {
		f.byID = map[int64]*directChat{}
	}
	f.byID[c.id] = c
}

func (f *chatsInFlight) get(id int64) *directChat {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byID[id]
}

func (f *chatsInFlight) forget(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.byID, id)
}

// chatOutboxSQL writes a message and returns its id, its text and the
// ids of its conversation's earlier rows. $6 is the hand-over delay in
// milliseconds after the database's clock, NULL for a message a job
// sends; every $7 in the text (if not empty) becomes the case number of
// incident $8 as the statement finds it.
const chatOutboxSQL = `
	WITH m AS (
		INSERT INTO chat_outbox (origin_id, from_addr, to_jid, body, created_at, handover_at)
		VALUES ($1, $2, $3, CASE WHEN $7::text = '' THEN $4 ELSE replace($4, $7, (SELECT case_number FROM incidents WHERE id = $8)) END,
		        $5, clock_timestamp() + $6::bigint * interval '1 millisecond')
		RETURNING id, body
	)
	SELECT m.id, m.body, ARRAY(SELECT o.id FROM chat_outbox o WHERE o.to_jid = $3 AND o.from_addr = $2 ORDER BY o.id)
	FROM m`

// queuedChat is a 1:1 message whose row a batch writes (queueChatRow).
type queuedChat struct {
	c      *directChat
	direct bool
	out    *chatBatch
}

// queueChatRow queues in b the statement that writes a 1:1 message from
// the function address from to the bare JID to, for tx. caseToken, if not
// empty, stands in body for the case number of incident, which an earlier
// statement of b draws (pendingCaseNumber). After b, addQueuedChat.
func (s *Service) queueChatRow(b *pgx.Batch, tx pgx.Tx, from, to, body, caseToken string, incident uuid.UUID) *queuedChat {
	ot, direct := tx.(outboxTx)
	if sp, ok := tx.(*outboxSavepoint); ok {
		ot, direct = sp.outboxTx, true
	}
	q := &queuedChat{direct: direct && s.canPostDirect() && s.direct.isRunning(), out: ot.out,
		c: &directChat{msg: ChatMessage{ID: "fg-" + mustV7().String(), From: from, To: to}, sent: &s.chats, done: make(chan struct{})}}
	var delay *int64
	if q.direct {
		ms := DirectChatFallback.Milliseconds()
		delay = &ms
	}
	b.Queue(chatOutboxSQL, q.c.msg.ID, from, to, body, s.now(), delay, caseToken, incident).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&q.c.id, &q.c.msg.Body, &q.c.earlier); err != nil {
			return fmt.Errorf("record chat message: %w", err)
		}
		return nil
	})
	return q
}

// addQueuedChat makes a message written by its batch (queueChatRow) one
// to send after the commit, or queues its job.
func (s *Service) addQueuedChat(ctx context.Context, tx pgx.Tx, q *queuedChat) error {
	if !q.direct {
		if _, err := s.queue.InsertTx(ctx, tx, outboxArgs{ID: q.c.id}, nil); err != nil {
			return fmt.Errorf("enqueue chat message: %w", err)
		}
		return nil
	}
	s.chats.add(q.c)
	q.out.chats = append(q.out.chats, q.c)
	return nil
}

// enqueueChat records a 1:1 message from the function address from to the
// bare JID to in tx. In a transaction of withTx or withJobTx of a process
// that sends (canPostDirect) it is sent right after the commit; otherwise
// (or if the service is stopping) a job sends it.
func (s *Service) enqueueChat(ctx context.Context, tx pgx.Tx, from, to, body string) error {
	var b pgx.Batch
	q := s.queueChatRow(&b, tx, from, to, body, "", uuid.Nil)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}
	return s.addQueuedChat(ctx, tx, q)
}

// inTx runs fn in a transaction on pool and commits it; the direct
// messages it wrote are sent after the commit (sendChats). If the commit
// failed, they are forgotten and handed to the queue at once in case it
// committed after all (its answer lost).
func (s *Service) inTx(ctx context.Context, pool txBeginner, fn func(tx pgx.Tx) error) error {
	var out chatBatch
	fnFailed := false
	defer func() {
		if p := recover(); p != nil {
			// Rolled back: nothing of it is sent, nothing waits for it.
			for _, c := range out.chats {
				c.finish(true)
			}
			panic(p)
		}
	}()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		err := fn(outboxTx{Tx: tx, out: &out})
		fnFailed = err != nil
		return err
	})
	if len(out.chats) == 0 {
		return err
	}
	if err != nil || !s.reserveDirect(false) {
		if !fnFailed {
			// Committed (or perhaps, its answer lost): to the queue.
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DirectChatTimeout)
			s.handOverChatsNow(hctx, out.chats)
			cancel()
		}
		for _, c := range out.chats {
			c.finish(true)
		}
		return err
	}
	go func() {
		defer s.releaseDirect(false)
		s.sendChats(s.bg, out.chats)
	}()
	return nil
}

// txBeginner begins transactions: a pool.
type txBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// errEarlierQueued: an earlier message of the conversation is not sent by
// this process (another's, a dead one's, or the queue's), so the message
// goes to the queue, behind it.
var errEarlierQueued = errors.New("an earlier message of the conversation is queued")

// sendChats sends a transaction's direct messages in their order, each
// after the earlier messages of its conversation, within
// DirectChatTimeout of the commit; then deletes their rows. A message
// that could not be sent, and every one after it, is handed to the queue.
func (s *Service) sendChats(ctx context.Context, chats []*directChat) {
	ctx, cancel := context.WithTimeout(ctx, DirectChatTimeout)
	defer cancel()
	sent := make([]*directChat, 0, len(chats))
	for i, c := range chats {
		err := s.waitEarlier(ctx, c)
		if err == nil {
			err = s.msgr.SendChat(ctx, c.msg)
		}
		if err != nil {
			rest := chats[i:]
			if !errors.Is(err, errEarlierQueued) {
				s.log.WarnContext(ctx, "direct chat message failed; the queue sends it", "id", c.msg.ID, "err", err)
			}
			hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), DirectChatTimeout)
			s.handOverChatsNow(hctx, rest)
			hcancel()
			for _, r := range rest {
				r.finish(true)
			}
			break
		}
		c.finish(false)
		sent = append(sent, c)
	}
	if len(sent) > 0 {
		s.recordChatsSent(ctx, sent)
	}
}

// waitEarlier waits until the earlier messages of c's conversation that
// this process sends are written; errEarlierQueued if one of them went to
// the queue or one that is still stored is not this process's.
func (s *Service) waitEarlier(ctx context.Context, c *directChat) error {
	var unknown []int64
	for _, id := range c.earlier {
		e := s.chats.get(id)
		if e == nil {
			unknown = append(unknown, id)
			continue
		}
		select {
		case <-e.done:
			if e.handedOver {
				return errEarlierQueued
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for the conversation's earlier message: %w", ctx.Err())
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	// Sent by this process and deleted since (the common case), or not
	// this process's.
	var left bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM chat_outbox WHERE id = ANY($1))`, unknown).Scan(&left); err != nil {
		return fmt.Errorf("look up the conversation's earlier messages: %w", err)
	}
	if left {
		return errEarlierQueued
	}
	return nil
}

// recordChatsSent deletes the rows of sent direct messages, with the
// records of other direct sends (groupcommit.go). If that fails, the
// rows are handed over at their time and the messages sent again under
// the same id.
func (s *Service) recordChatsSent(ctx context.Context, chats []*directChat) {
	ids := make([]int64, len(chats))
	for i, c := range chats {
		ids[i] = c.id
	}
	var b pgx.Batch
	b.Queue(`DELETE FROM chat_outbox WHERE id = ANY($1)`, ids)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DirectChatTimeout)
	defer cancel()
	if err := s.postRecords.send(rctx, &b); err != nil {
		s.log.WarnContext(ctx, "sent chat messages not recorded; the queue sends them again under the same id", "messages", len(ids), "err", err)
	}
	for _, c := range chats {
		s.chats.forget(c.id)
	}
}

// handOverChatsNow hands the direct messages chats to the queue at once;
// if that fails, they are handed over at their hand-over time.
func (s *Service) handOverChatsNow(ctx context.Context, chats []*directChat) {
	ids := make([]int64, len(chats))
	for i, c := range chats {
		ids[i] = c.id
	}
	if _, err := s.handOverChats(ctx, ids); err != nil {
		s.log.WarnContext(ctx, "could not queue chat messages now; they are queued at their hand-over time", "messages", len(ids), "err", err)
	}
}

// handOverChats queues, as chat_outbox jobs, the direct messages with the
// given ids that are still stored, or with ids nil those whose hand-over
// time has come by the database's clock (their process died or hung;
// every process calls this once a second, handover.go). Each message is
// handed over once: its hand-over time is cleared in the transaction that
// queues its job. It returns how many it queued.
func (s *Service) handOverChats(ctx context.Context, ids []int64) (int, error) {
	sql, args := `
		UPDATE chat_outbox SET handover_at = NULL
		WHERE id IN (
			SELECT id FROM chat_outbox
			WHERE handover_at IS NOT NULL AND handover_at <= (SELECT clock_timestamp()) -- a value: an index condition
			ORDER BY handover_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id`, []any{handOverBatch}
	if ids != nil {
		sql, args = `UPDATE chat_outbox SET handover_at = NULL WHERE id = ANY($1) AND handover_at IS NOT NULL RETURNING id`, []any{ids}
	}
	n, err := s.handOverRows(ctx, "chat messages", sql, args, func(row pgx.CollectableRow) (river.InsertManyParams, error) {
		var a outboxArgs
		err := row.Scan(&a.ID)
		return river.InsertManyParams{Args: a}, err
	})
	if n > 0 && err == nil {
		s.log.InfoContext(ctx, "chat messages handed to the queue", "messages", n)
	}
	return n, err
}

type outboxWorker struct {
	river.WorkerDefaults[outboxArgs]
	s *Service
}

// Work sends a chat_outbox message that its process did not send: after
// the earlier messages of its conversation (it waits while one of them,
// younger than chatOrderWait, is still stored), under its stable id, and
// deletes its row with the job's completion. A message already sent (its
// row gone) is not sent again; one whose last attempt fails is dropped
// (its row deleted, logged), so that it holds up nothing.
func (w *outboxWorker) Work(ctx context.Context, job *river.Job[outboxArgs]) error {
	s := w.s
	var m ChatMessage
	var waiting bool
	err := s.pool.QueryRow(ctx, `
		SELECT o.origin_id, o.from_addr, o.to_jid, o.body,
		       EXISTS (SELECT 1 FROM chat_outbox e WHERE e.to_jid = o.to_jid AND e.from_addr = o.from_addr
		               AND e.id < o.id AND e.created_at > $2)
		FROM chat_outbox o WHERE o.id = $1`, job.Args.ID, s.now().Add(-chatOrderWait)).Scan(&m.ID, &m.From, &m.To, &m.Body, &waiting)
	if errors.Is(err, pgx.ErrNoRows) {
		s.suppressed(ctx, "chat_outbox", "recorded", job.ID, job.Attempt)
		return completeJobTx(ctx, s, job, nil)
	}
	if err != nil {
		return fmt.Errorf("load chat message %d: %w", job.Args.ID, err)
	}
	if waiting {
		return river.JobSnooze(chatOrderSnooze(job.Metadata))
	}
	if err := s.msgr.SendChat(ctx, m); err != nil {
		if job.Attempt >= job.MaxAttempts {
			s.log.ErrorContext(ctx, "chat message dropped after its last attempt", "id", m.ID, "err", err)
			if _, derr := s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM chat_outbox WHERE id = $1`, job.Args.ID); derr != nil {
				s.log.WarnContext(ctx, "could not drop the chat message", "id", m.ID, "err", derr)
			}
		}
		return err
	}
	return completeJobTx(ctx, s, job, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM chat_outbox WHERE id = $1`, job.Args.ID); err != nil {
			return fmt.Errorf("record chat message %d: %w", job.Args.ID, err)
		}
		return nil
	})
}

// chatOrderPoll and chatOrderPollMax bound how often a queued message
// looks again whether the earlier messages of its conversation are gone:
// after chatOrderPoll, doubling with each look up to chatOrderPollMax, so
// that during an XMPP outage the waiting messages do not poll the
// database several times a second each.
const (
	chatOrderPoll    = 250 * time.Millisecond
	chatOrderPollMax = 8 * time.Second
)

// chatOrderSnooze is how long a job that looked n times (river's
// "snoozes" in its metadata) waits for the earlier messages.
func chatOrderSnooze(metadata []byte) time.Duration {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m) // none yet: the first look
	d := chatOrderPoll
	for range min(m.Snoozes, 8) {
		d *= 2
	}
	return min(d, chatOrderPollMax)
}
