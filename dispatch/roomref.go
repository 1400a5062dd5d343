package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
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
