package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
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
	if _, err := s.queue.InsertTx(ctx, tx, roomPostArgs{IncidentID: incident, ReportID: report, Room: room, OriginID: origin, Body: body}, nil); err != nil {
		return fmt.Errorf("enqueue room post: %w", err)
	}
	return nil
}

func (s *Service) enqueueChat(ctx context.Context, tx pgx.Tx, from, to, body string) error {
	return s.enqueueChatFor(ctx, tx, uuid.Nil, from, to, body)
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
	if job.Attempt > 1 {
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
	post := RoomPost{Room: a.Room, OriginID: a.OriginID, Body: a.Body}
	if tracked {
		var err error
		if post.Body, post.Links, post.TeamCopies, err = s.renderPost(ctx, a.IncidentID, a.ReportID); err != nil {
			return err
		}
	}
	stanzaID, err := s.msgr.PostToRoom(ctx, post)
	if err != nil {
		return fmt.Errorf("post to %s: %w", a.Room, err)
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
	return s.withTx(ctx, func(tx pgx.Tx) error {
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
