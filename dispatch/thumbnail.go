package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/msg"
)

// CoverThumbnail is the thumbnail that stands for an incident in a list:
// the first one of its oldest report that has one.
type CoverThumbnail struct {
	Team string // the incident's team, for the caller's authorisation
	Key  string // S3 key of the thumbnail ("team/…", made by the server)
}

// IncidentCoverThumbnail finds the cover thumbnail of the incident with
// case reference ref (as in IncidentDetail). Errors: ErrInvalid for a
// malformed reference, ErrNotFound for an unknown case or one without a
// thumbnail (no photo, not processed yet, or no team copy).
func (s *Service) IncidentCoverThumbnail(ctx context.Context, ref string) (CoverThumbnail, error) {
	inc, err := incidentByRef(ctx, s.pool, ref, false)
	if err != nil {
		return CoverThumbnail{}, err
	}
	c := CoverThumbnail{Team: inc.Team}
	err = s.pool.QueryRow(ctx, `
		SELECT m.thumb_key FROM reports r JOIN media_objects m ON m.report_id = r.id
		WHERE r.incident_id = $1 AND m.thumb_key IS NOT NULL
		ORDER BY r.received_at, r.id, m.created_at, m.id LIMIT 1`, inc.ID).Scan(&c.Key)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, newError(ErrNotFound, func(t msg.Texts) string { return t.NoThumbnail(inc.CaseNumber) })
	}
	if err != nil {
		return c, fmt.Errorf("load cover thumbnail: %w", err)
	}
	return c, nil
}
