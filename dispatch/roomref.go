package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CaseByPost returns the case number of the incident a room post belongs
// to, by the room's stanza-id or by our own message id (origin-id), which
// is what clients reference in replies (XEP-0461) and reactions (XEP-0444).
func (s *Service) CaseByPost(ctx context.Context, room, id string) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `
		SELECT i.case_number FROM room_posts p JOIN incidents i ON i.id = p.incident_id
		WHERE p.room = $1 AND (p.stanza_id = $2 OR p.origin_id = $2)
		LIMIT 1`, strings.ToLower(room), id).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", newError(ErrNotFound, msg.Texts.NotAnIncidentPost)
	}
	if err != nil {
		return "", fmt.Errorf("find post: %w", err)
	}
	return c, nil
}

// Incident returns an incident by a case reference ("2026-000042", "42").
func (s *Service) Incident(ctx context.Context, ref string) (Incident, error) {
	return incidentByRef(ctx, s.pool, ref, false)
}

// roomCommandKeep is how long a claimed room command is remembered: longer
// than the archive a gateway reads when it joins a room (gateway
// roomCatchUpWindow), so a command is never carried out twice.
const roomCommandKeep = time.Hour

// ClaimRoomCommand claims the room message with the room's stanza-id
// (XEP-0359) as a command to carry out. It returns true the first time,
// false if it was claimed before: carried out live by this or another
// gateway, or already read from the room's archive (XEP-0313) by a
// gateway that joined. archivedAt is when the room archived a message
// read from its archive (zero for a live one): one archived before the
// claims began (the migration that made them) is never claimed, since
// the gateway that carried it out then claimed nothing. Claims older than
// roomCommandKeep are deleted on the way (no personal data: room and id).
func (s *Service) ClaimRoomCommand(ctx context.Context, room, stanzaID string, archivedAt time.Time) (bool, error) {
	var at *time.Time
	if !archivedAt.IsZero() {
		at = &archivedAt
	}
	var b pgx.Batch
	b.Queue(`DELETE FROM room_commands WHERE claimed_at < now() - $1 * interval '1 second' AND room <> ''`, roomCommandKeep.Seconds())
	claim := b.Queue(`INSERT INTO room_commands (room, stanza_id)
		SELECT $1, $2 WHERE $3::timestamptz IS NULL
			OR $3 >= (SELECT claimed_at FROM room_commands WHERE room = '' AND stanza_id = 'claims-since')
		ON CONFLICT DO NOTHING`, strings.ToLower(room), stanzaID, at)
	first := false
	claim.Exec(func(tag pgconn.CommandTag) error {
		first = tag.RowsAffected() == 1
		return nil
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return false, fmt.Errorf("claim room command: %w", err)
	}
	return first, nil
}
