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
// than the room history a gateway asks for when it joins (gateway
// roomHistoryWindow), so a command is never carried out twice.
const roomCommandKeep = time.Hour

// ClaimRoomCommand claims the room message with the room's stanza-id
// (XEP-0359) as a command to carry out. It returns true the first time,
// false if it was claimed before: handled live by this or another
// gateway, or already taken from the room's history (XEP-0045 §7.2.15)
// by a gateway that joined. Claims older than roomCommandKeep are deleted
// on the way (no personal data: room and id).
func (s *Service) ClaimRoomCommand(ctx context.Context, room, stanzaID string) (bool, error) {
	var b pgx.Batch
	b.Queue(`DELETE FROM room_commands WHERE claimed_at < now() - $1 * interval '1 second'`, roomCommandKeep.Seconds())
	claim := b.Queue(`INSERT INTO room_commands (room, stanza_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, strings.ToLower(room), stanzaID)
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
