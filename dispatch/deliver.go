package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/fieldgate/fieldgate/routing"
)

func (s *Service) enqueueRoomPost(ctx context.Context, tx pgx.Tx, incident uuid.UUID, room, body string) error {
	return s.enqueueRoomPostFor(ctx, tx, incident, uuid.Nil, room, body)
}

func (s *Service) enqueueRoomPostFor(ctx context.Context, tx pgx.Tx, incident, report uuid.UUID, room, body string) error {
	room = strings.ToLower(room)
	origin := "fg-" + mustV7().String()
	if body == "" {
		if _, err := tx.Exec(ctx, `INSERT INTO room_posts (origin_id, incident_id, room) VALUES ($1,$2,$3)`,
			origin, incident, room); err != nil {
			return fmt.Errorf("record room post: %w", err)
		}
	}
	if _, err := s.queue.InsertTx(ctx, tx, roomPostArgs{IncidentID: incident, ReportID: report, Room: room, Team: teamOfRoom(s.rules.Current(), room),
		OriginID: origin, Body: body}, nil); err != nil {
		return fmt.Errorf("enqueue room post: %w", err)
	}
	return nil
}

// DirectPostFallback is how long after its routing a post that this
// process sends itself (postDirect) is handed to the queue if it is not
// recorded as sent by then: twice as long as a direct post may take
// (DirectPostTimeout), so that the queue sees only posts whose direct
// attempt failed (those are handed over at once) or whose process died.
const DirectPostFallback = 2 * DirectPostTimeout

// DirectPostTimeout bounds a direct post, from its routing until the room
// has echoed it; after that only the queue may send it.
const DirectPostTimeout = 5 * time.Second

// pendingPost is an incident post recorded in a routing transaction, which
// the routing process sends itself after the commit.
type pendingPost struct {
	args roomPostArgs
	// deadline is when the direct attempt must have been echoed
	// (DirectPostTimeout after the routing, wall clock).
	deadline time.Time
	// known is the routed report as committed, for the rendering; case,
	// if not nil, is the whole case as committed (a report routed at
	// intake), so that nothing is read again.
	known *Report
	case_ *knownCase
}

// connectionState is implemented by a Messenger that knows whether it is
// connected (the gateway).
type connectionState interface{ Connected() bool }

// canPostDirect: this process sends outgoing messages itself (it holds the
// XMPP component, or there is no election) and is connected now; during
// an outage the queue waits for the connection instead.
func (s *Service) canPostDirect() bool {
	if s.msgr == nil || (s.cfg.ElectXMPPLeader && !s.Leader()) {
		return false
	}
	if c, ok := s.msgr.(connectionState); ok && !c.Connected() {
		return false
	}
	return true
}

// queueDirectPost queues, in a routing transaction's batch, the record of
// an incident post for postDirect to send after the commit, for a process
// that sends (canPostDirect; else enqueueRoomPost queues the post). No job
// is queued for it: its record carries a hand-over time DirectPostFallback
// ahead, and a post not recorded as sent by then (its process died) is
// queued by handOverPosts.
//
// The hand-over time is the database's clock (clock_timestamp when the
// record is written, after the deadline was set here), and handOverPosts
// compares it with the database's clock too: replicas whose clocks
// disagree by more than DirectPostFallback - DirectPostTimeout would
// otherwise hand over a post whose direct attempt is still running.
func (s *Service) queueDirectPost(b *pgx.Batch, incident uuid.UUID, room string) *pendingPost {
	a := roomPostArgs{IncidentID: incident, Room: strings.ToLower(room), OriginID: "fg-" + mustV7().String(), Direct: true}
	deadline := time.Now().Add(DirectPostTimeout)
	b.Queue(`INSERT INTO room_posts (origin_id, incident_id, room, handover_at)
		VALUES ($1,$2,$3, clock_timestamp() + $4 * interval '1 millisecond')`,
		a.OriginID, incident, a.Room, DirectPostFallback.Milliseconds())
	return &pendingPost{args: a, deadline: deadline}
}

// postDirect sends a post recorded by queueDirectPost and records it as
// sent once the room has echoed it; no transaction is open while it waits
// for the echo. Exactly once with the queue: the queue gets the post only
// from handOverPosts, after the direct attempt's deadline has passed (the
// attempt gives up at its deadline) or after the attempt failed. A failed
// attempt may still have reached the room (a lost echo), so the job looks
// in the room's archive (XEP-0313) for the origin-id before it sends.
func (s *Service) postDirect(ctx context.Context, p *pendingPost) {
	ctx, cancel := context.WithDeadline(ctx, p.deadline)
	defer cancel()
	var post RoomPost
	var err error
	if p.case_ != nil {
		post = RoomPost{Room: p.args.Room, OriginID: p.args.OriginID}
		post.Body, post.Links, post.TeamCopies, err = s.renderCase(ctx, *p.case_, false)
	} else {
		post, err = s.renderIncidentPost(ctx, p.args, p.known)
	}
	var stanzaID string
	if err == nil {
		if stanzaID, err = s.msgr.PostToRoom(ctx, post); err != nil {
			err = fmt.Errorf("post to %s: %w", p.args.Room, err)
		}
	}
	if err == nil {
		// The post is out: record it even if the deadline passes now.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), DirectPostTimeout)
		err = s.recordDirectPost(rctx, p.args, stanzaID)
		rcancel()
		if err == nil {
			s.metric.roomPosts.Inc()
			return
		}
	}
	s.log.WarnContext(ctx, "direct room post failed; the queue posts it", "room", p.args.Room, "origin_id", p.args.OriginID, "err", err)
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), DirectPostTimeout)
	defer hcancel()
	if _, herr := s.handOverPosts(hctx, p.args.OriginID); herr != nil {
		s.log.WarnContext(ctx, "could not queue the post now; it is queued at its hand-over time", "origin_id", p.args.OriginID, "err", herr)
	}
}

// recordDirectPost marks a direct post as sent, with the room's stanza-id,
// and the incident routed if it still waited for its post, in one
// statement: the same record as recordRoomPost. It runs to its end (bounded
// by DirectPostTimeout) even if ctx ends.
func (s *Service) recordDirectPost(ctx context.Context, a roomPostArgs, stanzaID string) error {
	detail, err := json.Marshal(map[string]any{"room": a.Room})
	if err != nil {
		return fmt.Errorf("encode event detail: %w", err)
	}
	var b pgx.Batch
	b.Queue(`
		WITH p AS (
			UPDATE room_posts SET stanza_id = $2, posted_at = $3, handover_at = NULL
			WHERE origin_id = $1 AND posted_at IS NULL RETURNING incident_id
		), moved AS (
			UPDATE incidents i SET state = 'routed', updated_at = $3
			FROM p WHERE i.id = p.incident_id AND i.state = 'received' RETURNING i.id
		)
		INSERT INTO incident_events (incident_id, at, kind, actor, via, from_state, to_state, detail)
		SELECT p.incident_id, $3, 'posted', 'fieldgate', 'xmpp',
			CASE WHEN EXISTS (SELECT 1 FROM moved) THEN 'received' END,
			CASE WHEN EXISTS (SELECT 1 FROM moved) THEN 'routed' END, $4
		FROM p`, a.OriginID, stanzaID, s.now(), detail)
	// With the records of other direct posts (groupcommit.go).
	if err := s.postRecords.send(ctx, &b); err != nil {
		return fmt.Errorf("record room post: %w", err)
	}
	return nil
}

// handOverBatch is the most posts one handOverPosts call queues.
const handOverBatch = 500

// handOverPosts queues, as room_post jobs, the direct posts that are not
// recorded as sent: the one with origin-id origin (a failed direct
// attempt), or with origin "" those whose hand-over time has come by the
// database's clock (their process died or hung; every process calls this
// once a second, see leaseLoop). Each post is handed over once: its hand-over time is cleared
// in the transaction that queues its job. It returns how many it queued.
func (s *Service) handOverPosts(ctx context.Context, origin string) (int, error) {
	// Two queries, so that each uses its index: the primary key, or the
	// partial index of posts waiting for their hand-over.
	sql, args := `
		UPDATE room_posts SET handover_at = NULL
		WHERE origin_id IN (
			SELECT origin_id FROM room_posts
			WHERE posted_at IS NULL AND handover_at IS NOT NULL AND handover_at <= (SELECT clock_timestamp()) -- a value: an index condition
			ORDER BY handover_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING origin_id, incident_id, room`, []any{handOverBatch}
	if origin != "" {
		sql, args = `
		UPDATE room_posts SET handover_at = NULL
		WHERE origin_id = $1 AND posted_at IS NULL AND handover_at IS NOT NULL
		RETURNING origin_id, incident_id, room`, []any{origin}
	}
	n, err := s.handOverRows(ctx, "room posts", sql, args, func(row pgx.CollectableRow) (river.InsertManyParams, error) {
		a := roomPostArgs{Direct: true}
		err := row.Scan(&a.OriginID, &a.IncidentID, &a.Room)
		return river.InsertManyParams{Args: a}, err
	})
	if n > 0 && err == nil {
		s.log.InfoContext(ctx, "room posts handed to the queue", "posts", n)
	}
	return n, err
}

// renderIncidentPost renders an incident post as the case is now.
func (s *Service) renderIncidentPost(ctx context.Context, a roomPostArgs, known *Report) (RoomPost, error) {
	post := RoomPost{Room: a.Room, OriginID: a.OriginID}
	var err error
	post.Body, post.Links, post.TeamCopies, err = s.renderPost(ctx, a.IncidentID, a.ReportID, known)
	return post, err
}

// sendIncidentPost renders an incident post as the case is now and sends
// it, returning the room's stanza-id once the room has echoed it.
func (s *Service) sendIncidentPost(ctx context.Context, a roomPostArgs) (string, error) {
	post, err := s.renderIncidentPost(ctx, a, nil)
	if err != nil {
		return "", err
	}
	stanzaID, err := s.msgr.PostToRoom(ctx, post)
	if err != nil {
		return "", fmt.Errorf("post to %s: %w", a.Room, err)
	}
	return stanzaID, nil
}

// enqueueChatFor queues a 1:1 message about an incident; receipts and
// read markers for it are recorded as delivery evidence (RecordDelivery).
func (s *Service) enqueueChatFor(ctx context.Context, tx pgx.Tx, incident uuid.UUID, from, to, body string) error {
	if _, err := s.queue.InsertTx(ctx, tx, chatArgs{From: from, To: to, Body: body, IncidentID: incident}, nil); err != nil {
		return fmt.Errorf("enqueue chat message: %w", err)
	}
	return nil
}

type roomPostWorker struct {
	river.WorkerDefaults[roomPostArgs]
	s *Service
}

func (w *roomPostWorker) Timeout(*river.Job[roomPostArgs]) time.Duration { return 30 * time.Second }

// Work posts once. An incident post (empty Body) has a room_posts row whose
// posted_at says it went out; any post whose job ran before (a crash, a
// rescued or reclaimed job, a lost echo) may have been sent without being
// recorded, so the room's archive (XEP-0313) is asked for its origin-id
// before it is sent again. The record and the job's completion commit
// together, so no window is left in which a finished post looks unfinished.
func (w *roomPostWorker) Work(ctx context.Context, job *river.Job[roomPostArgs]) error {
	s, a := w.s, job.Args
	tracked := a.Body == ""
	if tracked {
		var posted bool
		if err := s.pool.QueryRow(ctx, `SELECT posted_at IS NOT NULL FROM room_posts WHERE origin_id = $1`, a.OriginID).Scan(&posted); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check room post %s: %w", a.OriginID, err)
		}
		if posted {
			s.suppressed(ctx, "room_post", "recorded", job.ID, job.Attempt, "room", a.Room, "origin_id", a.OriginID)
			return completeJobTx(ctx, s, job, nil)
		}
	}
	rs := s.rules.Current()
	if a.Team == "" && teamOfRoom(rs, a.Room) == "" {
		// A direct post handed over, or a job of an earlier release: the
		// post is about its incident, for that incident's team.
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(team, '') FROM incidents WHERE id = $1`, a.IncidentID).Scan(&a.Team); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("load team of %s: %w", a.IncidentID, err)
		}
	}
	if room, moved := roomNow(rs, a); moved {
		// The team's room changed in the rules (the old one was destroyed,
		// or renamed) while the post waited: it goes to the team's room now.
		if tracked {
			if _, err := s.pool.Exec(ctx, `UPDATE room_posts SET room = $2 WHERE origin_id = $1 AND posted_at IS NULL`, a.OriginID, room); err != nil {
				return fmt.Errorf("move room post %s: %w", a.OriginID, err)
			}
		}
		s.log.InfoContext(ctx, "room post goes to the team's new room", "team", a.Team, "from", a.Room, "to", room, "origin_id", a.OriginID)
		a.Room = room
	}
	// A direct post (postDirect) may have gone out before its transaction
	// failed: its job looks in the archive even on its first attempt.
	if job.Attempt > 1 || a.Direct {
		stanzaID, found, err := s.msgr.FindRoomPost(ctx, a.Room, a.OriginID, job.CreatedAt.Add(-archiveSlack))
		switch {
		case errors.Is(err, ErrNoArchive):
			s.log.WarnContext(ctx, "room keeps no archive; an earlier attempt cannot be ruled out, posting again",
				"room", a.Room, "origin_id", a.OriginID, "attempt", job.Attempt, "err", err)
		case err != nil:
			return fmt.Errorf("look up earlier post in %s: %w", a.Room, err)
		case found:
			s.suppressed(ctx, "room_post", "archive", job.ID, job.Attempt, "room", a.Room, "origin_id", a.OriginID)
			return completeJobTx(ctx, s, job, func(tx pgx.Tx) error {
				if !tracked {
					return nil
				}
				return s.recordRoomPost(ctx, tx, a, stanzaID)
			})
		}
	}
	var stanzaID string
	var err error
	if tracked {
		stanzaID, err = s.sendIncidentPost(ctx, a)
	} else if stanzaID, err = s.msgr.PostToRoom(ctx, RoomPost{Room: a.Room, OriginID: a.OriginID, Body: a.Body}); err != nil {
		err = fmt.Errorf("post to %s: %w", a.Room, err)
	}
	if err != nil {
		return err
	}
	return completeJobTx(ctx, s, job, func(tx pgx.Tx) error {
		if !tracked {
			return nil
		}
		return s.recordRoomPost(ctx, tx, a, stanzaID)
	})
}

// archiveSlack is how far before a job's creation the archive is searched,
// for clocks of the database and the XMPP server that disagree a little.
const archiveSlack = 2 * time.Minute

// recordRoomPost marks an incident post as delivered, with the room's
// stanza-id, and the incident routed if it still waited for its post.
func (s *Service) recordRoomPost(ctx context.Context, tx pgx.Tx, a roomPostArgs, stanzaID string) error {
	now := s.now()
	tag, err := tx.Exec(ctx, `UPDATE room_posts SET stanza_id = $2, posted_at = $3 WHERE origin_id = $1 AND posted_at IS NULL`,
		a.OriginID, stanzaID, now)
	if err != nil {
		return fmt.Errorf("record stanza id: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil // recorded by another attempt
	}
	moved, err := setState(ctx, tx, a.IncidentID, StateReceived, StateRouted, now, "")
	if err != nil {
		return fmt.Errorf("mark routed: %w", err)
	}
	from := State("")
	to := State("")
	if moved {
		from, to = StateReceived, StateRouted
	}
	return insertEvent(ctx, tx, a.IncidentID, Event{At: now, Kind: "posted", Actor: "fieldgate", Via: "xmpp", From: from, To: to, Detail: map[string]any{"room": a.Room}})
}

type chatWorker struct {
	river.WorkerDefaults[chatArgs]
	s *Service
}

// Work sends a 1:1 message and completes its job in the same breath. A
// person's archive is not ours to query, so a retried alert is checked
// against the receipts (XEP-0184) and read markers (XEP-0333) filed for its
// id; the id is stable, so a client that saw it already drops the repeat.
func (w *chatWorker) Work(ctx context.Context, job *river.Job[chatArgs]) error {
	s := w.s
	// The id is stable across retries (clients drop a repeated id) and
	// names the incident, so that a receipt or read marker can be filed.
	id := fmt.Sprintf("fg-%d", job.ID)
	if job.Args.IncidentID != uuid.Nil {
		id = fmt.Sprintf("fgi-%s-%d", job.Args.IncidentID, job.ID)
	}
	if job.Attempt > 1 && job.Args.IncidentID != uuid.Nil {
		var seen bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_events
			WHERE incident_id = $1 AND kind IN ($2, $3) AND detail->>'message' = $4)`,
			job.Args.IncidentID, DeliveryReceived, DeliveryDisplayed, id).Scan(&seen); err != nil {
			return fmt.Errorf("check delivery evidence: %w", err)
		}
		if seen {
			s.suppressed(ctx, "chat_message", "receipt", job.ID, job.Attempt, "message_id", id)
			return completeJobTx(ctx, s, job, nil)
		}
	}
	if err := s.msgr.SendChat(ctx, ChatMessage{ID: id, From: job.Args.From, To: job.Args.To, Body: job.Args.Body}); err != nil {
		return err
	}
	return completeJobTx(ctx, s, job, nil)
}

// suppressed logs a re-send that was not made because the message had
// been delivered already.
func (s *Service) suppressed(ctx context.Context, kind, evidence string, jobID int64, attempt int, attrs ...any) {
	s.log.InfoContext(ctx, "re-send suppressed: already delivered",
		append([]any{"kind", kind, "evidence", evidence, "job", jobID, "attempt", attempt}, attrs...)...)
}

// completeJob commits record (if any) together with the job's completion
// (river.JobCompleteTx), so that a crash after the commit cannot leave a
// delivered message's job running, to be rescued and sent again. If the job
// is no longer ours (reclaimed after a lost lease), record still commits.
func completeJobTx[T river.JobArgs](ctx context.Context, s *Service, job *river.Job[T], record func(tx pgx.Tx) error) error {
	return s.withJobTx(ctx, func(tx pgx.Tx) error {
		if record != nil {
			if err := record(tx); err != nil {
				return err
			}
		}
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
			if errors.Is(err, rivertype.ErrNotFound) {
				s.log.WarnContext(ctx, "job was no longer running when its delivery was recorded", "job", job.ID, "kind", job.Kind)
				return nil
			}
			return fmt.Errorf("complete job %d: %w", job.ID, err)
		}
		return nil
	})
}

// teamOfRoom is the first team of rs whose room is room, "" for none.
func teamOfRoom(rs *routing.RuleSet, room string) string {
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, room) {
			return t.ID
		}
	}
	return ""
}

// roomNow is where a queued post goes: its room while that is still a
// team's room in rs, else the current room of the team it was queued for
// (moved true). A post whose team is gone, or has no room now, keeps its
// room (the gateway refuses it and the queue retries: an admin sees it).
func roomNow(rs *routing.RuleSet, a roomPostArgs) (string, bool) {
	if a.Team == "" || teamOfRoom(rs, a.Room) != "" {
		return a.Room, false
	}
	t, ok := rs.Team(a.Team)
	if !ok || t.Room == "" {
		return a.Room, false
	}
	return strings.ToLower(t.Room), true
}
