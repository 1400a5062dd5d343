package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/media"
)

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const reportColumns = `id, incident_id, case_number, kind, channel, address, sender, language, body,
	lat, lon, alt, position_source, urgent, received_at, processed_at, coalesce(attributes->>'` + AttrCorrects + `', '')`

func scanReport(row pgx.Row) (Report, error) {
	var r Report
	var lat, lon, alt *float64
	err := row.Scan(&r.ID, &r.IncidentID, &r.CaseNumber, &r.Kind, &r.Channel, &r.Address, &r.Sender, &r.Language, &r.Text,
		&lat, &lon, &alt, &r.PositionSource, &r.Urgent, &r.ReceivedAt, &r.ProcessedAt, &r.Corrects)
	if errors.Is(err, pgx.ErrNoRows) {
		return Report{}, newError(ErrNotFound, msg.Texts.ReportNotFound)
	}
	if err != nil {
		return Report{}, fmt.Errorf("load report: %w", err)
	}
	if lat != nil && lon != nil {
		r.Position = &Position{Lat: *lat, Lon: *lon, Alt: alt}
	}
	return r, nil
}

func (s *Service) loadReport(ctx context.Context, q rowQuerier, id uuid.UUID) (Report, error) {
	r, err := scanReport(q.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = $1`, id))
	if err != nil {
		return Report{}, err
	}
	rows, err := q.Query(ctx, `
		SELECT id, object_key, content_type, size_bytes, sha256, coalesce(derivative_key,''), coalesce(thumb_key,''), metadata
		FROM media_objects WHERE report_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return Report{}, fmt.Errorf("load media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m MediaObject
		var md []byte
		if err := rows.Scan(&m.ID, &m.Object.Key, &m.Object.ContentType, &m.Object.Size, &m.Object.SHA256,
			&m.DerivativeKey, &m.ThumbKey, &md); err != nil {
			return Report{}, fmt.Errorf("scan media: %w", err)
		}
		if md != nil {
			m.Metadata = new(media.Metadata)
			if err := json.Unmarshal(md, m.Metadata); err != nil {
				return Report{}, fmt.Errorf("decode media metadata: %w", err)
			}
		}
		r.Media = append(r.Media, m)
	}
	return r, rows.Err()
}

// saveMediaMetadata saves an attachment's metadata and, unless an earlier
// run saved one already, its team copy's keys; m gets the keys saved.
// First run wins: a direct run and its handed-over job may both make a
// team copy, and the post of the first links its copy; the later copy is
// then an orphan, which the orphan sweep deletes.
func (s *Service) saveMediaMetadata(ctx context.Context, m *MediaObject) error {
	md, err := json.Marshal(m.Metadata)
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	err = s.pool.QueryRow(ctx, `
		UPDATE media_objects SET metadata = $2,
			derivative_key = coalesce(derivative_key, nullif($3,'')),
			thumb_key = CASE WHEN derivative_key IS NULL THEN nullif($4,'') ELSE thumb_key END
		WHERE id = $1 RETURNING coalesce(derivative_key,''), coalesce(thumb_key,'')`,
		m.ID, md, m.DerivativeKey, m.ThumbKey).Scan(&m.DerivativeKey, &m.ThumbKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // deleted meanwhile (retention): nothing to keep
	}
	if err != nil {
		return fmt.Errorf("save metadata: %w", err)
	}
	return nil
}

const incidentColumns = `id, case_number, state, address, coalesce(team,''), priority, policy, rule, district, category,
	coalesce(owner,''), escalation_level, created_at, updated_at, acknowledged_at, resolved_at`

func scanIncident(row pgx.Row) (Incident, error) {
	var i Incident
	err := row.Scan(&i.ID, &i.CaseNumber, &i.State, &i.Address, &i.Team, &i.Priority, &i.Policy, &i.Rule, &i.District,
		&i.Category, &i.Owner, &i.EscalationLevel, &i.CreatedAt, &i.UpdatedAt, &i.AcknowledgedAt, &i.ResolvedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Incident{}, newError(errNoIncident, msg.Texts.IncidentNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("load incident: %w", err)
	}
	return i, nil
}

// GetReport returns a report with its incident and audit trail.
func (s *Service) GetReport(ctx context.Context, id uuid.UUID) (ReportView, error) {
	var v ReportView
	var err error
	if v.Report, err = s.loadReport(ctx, s.pool, id); err != nil {
		return ReportView{}, err
	}
	if v.Incident, err = scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, v.Report.IncidentID)); err != nil {
		return ReportView{}, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT at, kind, actor, via, coalesce(from_state,''), coalesce(to_state,''), detail
		FROM incident_events WHERE incident_id = $1 ORDER BY id`, v.Incident.ID)
	if err != nil {
		return ReportView{}, fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var d []byte
		if err := rows.Scan(&e.At, &e.Kind, &e.Actor, &e.Via, &e.From, &e.To, &d); err != nil {
			return ReportView{}, fmt.Errorf("scan event: %w", err)
		}
		_ = json.Unmarshal(d, &e.Detail)
		v.Events = append(v.Events, e)
	}
	return v, rows.Err()
}

// incidentByRef finds an incident by a case reference as people type it:
// "2026-000042", "2026-42" or just "42" (the newest case with that number),
// or by its id (a UUID, as the gateway reads it from the message id of a
// 1:1 alert that a reply answers). It does not authorise: callers check
// the actor's rights on the incident it returns.
func incidentByRef(ctx context.Context, q rowQuerier, ref string, lock bool) (Incident, error) {
	ref = strings.TrimSpace(strings.TrimPrefix(ref, "#"))
	suffix := ""
	if lock {
		suffix = " FOR UPDATE"
	}
	if id, err := uuid.Parse(ref); err == nil && len(ref) == 36 {
		// The incident's id, as the gateway reads it from a reply to a
		// 1:1 alert (whose message id names the incident).
		return scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`+suffix, id))
	}
	year, num, hasYear := strings.Cut(ref, "-")
	if !hasYear {
		num, year = year, ""
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || n > 999999 {
		return Incident{}, newError(ErrInvalid, func(ts msg.Texts) string { return ts.NotACaseNumber(ref) })
	}
	if year != "" {
		y, err := strconv.Atoi(year)
		if err != nil || y < 2000 || y > 9999 {
			return Incident{}, newError(ErrInvalid, func(ts msg.Texts) string { return ts.NotACaseNumber(ref) })
		}
		return scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE case_number = $1`+suffix,
			fmt.Sprintf("%04d-%06d", y, n)))
	}
	return scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE case_number LIKE $1
		ORDER BY created_at DESC LIMIT 1`+suffix, fmt.Sprintf("%%-%06d", n)))
}

// caseSeq is the short number people type ("42" for 2026-000042).
func caseSeq(caseNumber string) int {
	_, num, _ := strings.Cut(caseNumber, "-")
	n, _ := strconv.Atoi(num)
	return n
}
