package dispatch

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/fieldgate/fieldgate/routing"
)

type processReportWorker struct {
	river.WorkerDefaults[processReportArgs]
	s *Service
}

func (w *processReportWorker) Work(ctx context.Context, job *river.Job[processReportArgs]) error {
	return w.s.processReport(ctx, job.Args.ReportID)
}

func (s *Service) processReport(ctx context.Context, reportID uuid.UUID) error {
	rep, err := s.loadReport(ctx, s.pool, reportID)
	if err != nil {
		return err
	}
	if rep.ProcessedAt != nil {
		return nil
	}
	pos, source, err := s.readMedia(ctx, &rep)
	if err != nil {
		return err
	}

	if rep.Kind == "followup" {
		return s.postFollowUp(ctx, rep)
	}
	rs := s.rules.Current()
	in := routing.Input{Address: rep.Address, Text: rep.Text, At: rep.ReceivedAt, Urgent: rep.Urgent}
	if rep.Channel == ChannelXMPP {
		in.Sender = rep.Sender
	}
	if pos != nil {
		in.Position = &routing.Point{Lat: pos.Lat, Lon: pos.Lon}
	}
	dec := rs.Decide(&in)
	team, ok := rs.Team(dec.Team)
	if !ok {
		return fmt.Errorf("routing chose unknown team %q", dec.Team)
	}
	priority := dec.Priority
	if rep.Urgent {
		priority = "urgent"
	}

	now := s.now()
	err = s.withTx(ctx, func(tx pgx.Tx) error {
		var state State
		if err := tx.QueryRow(ctx, `SELECT state FROM incidents WHERE id = $1 FOR UPDATE`, rep.IncidentID).Scan(&state); err != nil {
			return fmt.Errorf("lock incident: %w", err)
		}
		var lat, lon, alt *float64
		if pos != nil {
			lat, lon, alt = &pos.Lat, &pos.Lon, pos.Alt
		}
		tag, err := tx.Exec(ctx, `
			UPDATE reports SET lat = $2, lon = $3, alt = $4, position_source = $5, processed_at = $6
			WHERE id = $1 AND processed_at IS NULL`, rep.ID, lat, lon, alt, source, now)
		if err != nil {
			return fmt.Errorf("update report: %w", err)
		}
		if tag.RowsAffected() == 0 || state != StateReceived {
			return nil // processed by an earlier attempt
		}
		if merged, err := s.mergeDuplicate(ctx, tx, rep, pos, team, dec, priority, now); merged || err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE incidents SET team = $2, priority = $3, policy = $4, rule = $5, district = $6, category = $7, updated_at = $8
			WHERE id = $1`, rep.IncidentID, team.ID, priority, dec.Policy, dec.Rule, dec.District, dec.Category, now); err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		if err := insertEvent(ctx, tx, rep.IncidentID, now, "routed", "fieldgate", "rules", "", "", map[string]any{
			"team": team.ID, "rule": dec.Rule, "priority": priority, "district": dec.District,
			"rules_version": rs.Version(), "position_source": source,
		}); err != nil {
			return err
		}
		rooms := []string{team.Room}
		for _, cc := range dec.CC {
			if t, ok := rs.Team(cc); ok && t.Room != "" && t.Room != team.Room {
				rooms = append(rooms, t.Room)
			}
		}
		for _, room := range rooms {
			if err := s.enqueueRoomPost(ctx, tx, rep.IncidentID, room, ""); err != nil {
				return err
			}
		}
		if err := s.startEscalation(ctx, tx, rep.IncidentID, dec.Policy, now, false); err != nil {
			return err
		}
		if rep.Channel == ChannelXMPP {
			msg := T(rep.Language, "accepted", rep.CaseNumber, team.Name)
			if dec.District != "" {
				msg = T(rep.Language, "accepted_district", rep.CaseNumber, team.Name, dec.District)
			}
			if pos == nil {
				// Routed by the rules that need no position, posted, and the
				// sender is asked; a location sent later completes it.
				msg += "\n" + T(rep.Language, "need_location", rep.CaseNumber)
				if _, err := tx.Exec(ctx, `UPDATE incidents SET state = 'needs_location' WHERE id = $1 AND state = 'received'`, rep.IncidentID); err != nil {
					return fmt.Errorf("mark needs location: %w", err)
				}
				if err := insertEvent(ctx, tx, rep.IncidentID, now, "location_requested", "fieldgate", "xmpp", StateReceived, StateNeedsLocation, nil); err != nil {
					return err
				}
			}
			if err := s.enqueueChat(ctx, tx, rep.Address, rep.Sender, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("route report %s: %w", rep.CaseNumber, err)
	}
	s.metric.routed.WithLabelValues(team.ID).Inc()
	s.log.InfoContext(ctx, "report routed", "case", rep.CaseNumber, "team", team.ID, "rule", dec.Rule,
		"priority", priority, "position_source", source)
	return nil
}

// postFollowUp marks a follow-up processed and queues it for the rooms
// that have the incident.
func (s *Service) postFollowUp(ctx context.Context, rep Report) error {
	now := s.now()
	return s.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reports SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL`, rep.ID, now)
		if err != nil {
			return fmt.Errorf("mark follow-up processed: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		var team string
		if err := tx.QueryRow(ctx, `SELECT coalesce(team,'') FROM incidents WHERE id = $1`, rep.IncidentID).Scan(&team); err != nil {
			return fmt.Errorf("load incident team: %w", err)
		}
		t, ok := s.rules.Current().Team(team)
		if !ok || t.Room == "" {
			return nil // not routed yet: the report's own post will not show it, the audit trail does
		}
		return s.enqueueRoomPostFor(ctx, tx, rep.IncidentID, rep.ID, t.Room, "")
	})
}
