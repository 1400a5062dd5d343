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

	"github.com/fieldgate/fieldgate/media"
	"github.com/fieldgate/fieldgate/routing"
)

// processReportArgs: read EXIF, geotag, route, queue the posts and replies.
type processReportArgs struct {
	ReportID uuid.UUID `json:"report_id" river:"unique"`
}

func (processReportArgs) Kind() string { return "process_report" }
func (processReportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// roomPostArgs: one message to a team room. Body empty means "render the
// incident post"; OriginID is fixed at insert so a retry is recognisable.
type roomPostArgs struct {
	IncidentID uuid.UUID `json:"incident_id"`
	ReportID   uuid.UUID `json:"report_id,omitempty"` // set for a follow-up post
	Room       string    `json:"room"`
	OriginID   string    `json:"origin_id"`
	Body       string    `json:"body,omitempty"`
}

func (roomPostArgs) Kind() string                 { return "room_post" }
func (roomPostArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }

// chatArgs: one 1:1 message from a function address to a person.
type chatArgs struct {
	From       string    `json:"from"`
	To         string    `json:"to"`
	Body       string    `json:"body"`
	IncidentID uuid.UUID `json:"incident_id,omitempty"` // for delivery evidence of alerts
}

func (chatArgs) Kind() string                 { return "chat_message" }
func (chatArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueXMPP} }

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
	// Media first, outside any transaction: it is I/O against S3. A photo
	// that cannot be read costs its metadata, never the report.
	pos, source := rep.Position, rep.PositionSource
	for i := range rep.Media {
		m := &rep.Media[i]
		if m.Metadata == nil && s.media != nil {
			md, err := s.media.ReadMetadata(ctx, m.Object)
			if err != nil {
				s.log.WarnContext(ctx, "reading photo metadata failed", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
				md = media.Metadata{NoPositionReason: "metadata unreadable"}
			}
			m.Metadata = &md
			if d, err := s.media.MakeDerivative(ctx, m.Object, md); err == nil {
				m.DerivativeKey, m.ThumbKey = d.Key, d.ThumbKey
			} else if !errors.Is(err, media.ErrNoDerivative) {
				s.log.WarnContext(ctx, "team copy failed", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
			}
			if err := s.saveMediaMetadata(ctx, m); err != nil {
				return err
			}
		}
		if md := m.Metadata; md != nil && md.Position != nil && source != SourceEXIF {
			// EXIF of the photo wins: it is where the evidence was taken.
			pos = &Position{Lat: md.Position.Lat, Lon: md.Position.Lon, Alt: md.Position.Alt}
			source = SourceEXIF
		}
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
