package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
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

func (w *roomPostWorker) Work(ctx context.Context, job *river.Job[roomPostArgs]) error {
	s, a := w.s, job.Args
	post := RoomPost{Room: a.Room, OriginID: a.OriginID, Body: a.Body}
	if post.Body == "" {
		var err error
		if post.Body, post.Links, err = s.renderPost(ctx, a.IncidentID, a.ReportID); err != nil {
			return err
		}
	}
	stanzaID, err := s.msgr.PostToRoom(ctx, post)
	if err != nil {
		return fmt.Errorf("post to %s: %w", a.Room, err)
	}
	if a.Body != "" {
		return nil
	}
	now := s.now()
	return s.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE room_posts SET stanza_id = $2, posted_at = $3 WHERE origin_id = $1`,
			a.OriginID, stanzaID, now); err != nil {
			return fmt.Errorf("record stanza id: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE incidents SET state = 'routed', updated_at = $2 WHERE id = $1 AND state = 'received'`,
			a.IncidentID, now)
		if err != nil {
			return fmt.Errorf("mark routed: %w", err)
		}
		from := State("")
		to := State("")
		if tag.RowsAffected() == 1 {
			from, to = StateReceived, StateRouted
		}
		return insertEvent(ctx, tx, a.IncidentID, now, "posted", "fieldgate", "xmpp", from, to, map[string]any{"room": a.Room})
	})
}

type chatWorker struct {
	river.WorkerDefaults[chatArgs]
	s *Service
}

func (w *chatWorker) Work(ctx context.Context, job *river.Job[chatArgs]) error {
	// The id is stable across retries (clients drop a repeated id) and
	// names the incident, so that a receipt or read marker can be filed.
	id := fmt.Sprintf("fg-%d", job.ID)
	if job.Args.IncidentID != uuid.Nil {
		id = fmt.Sprintf("fgi-%s-%d", job.Args.IncidentID, job.ID)
	}
	return w.s.msgr.SendChat(ctx, ChatMessage{ID: id, From: job.Args.From, To: job.Args.To, Body: job.Args.Body})
}
