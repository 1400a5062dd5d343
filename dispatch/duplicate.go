package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/routing"
)

// Duplicates
//
// A report that lands within Config.DuplicateDistance of an open incident
// of the same team and category (the rule's category, or the team when the
// rule sets none), opened within Config.DuplicateWindow before it, is a
// duplicate. Its own incident keeps the report (so its sender, audit trail
// and retention stay its own) and goes to state merged with merged_into
// pointing at the older incident; it is never posted or escalated on its
// own. The older incident's room sees "+1 report" and the reporter learns
// the case number that already covers it. Unmerge undoes this and routes
// the incident on its own. A case its reporter opened with "neu" is no
// duplicate of an incident holding one of their own reports (findDuplicate).

// mergeDuplicate links the report's incident to an older open incident
// nearby if there is one; it runs inside processReport's transaction with
// the new incident locked, and locks the older one (always newer → older,
// so two merges cannot deadlock).
func (s *Service) mergeDuplicate(ctx context.Context, tx pgx.Tx, rep Report, pos *Position, team routing.Team,
	dec routing.Decision, priority string, now time.Time) (bool, error) {
	if s.cfg.DuplicateDistance <= 0 || pos == nil {
		return false, nil
	}
	category := cmp.Or(dec.Category, team.ID)
	best, bestDist, err := s.findDuplicate(ctx, tx, team.ID, category, *pos, rep.ReceivedAt, rep.IncidentID, reporter{rep.Channel, rep.Sender}, false)
	if err != nil {
		return false, err
	}
	if best == uuid.Nil {
		return false, nil
	}
	orig, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, best))
	if err != nil {
		return false, err
	}
	if !orig.State.Open() {
		return false, nil // closed while we looked
	}
	caseNumber := rep.CaseNumber
	if _, err := setState(ctx, tx, rep.IncidentID, StateReceived, StateMerged, now,
		`, merged_into = $5, team = $6, priority = $7, policy = $8, rule = $9, district = $10, category = $11`,
		orig.ID, team.ID, priority, dec.Policy, dec.Rule, dec.District, dec.Category); err != nil {
		return false, fmt.Errorf("merge incident: %w", err)
	}
	dist := int(math.Round(bestDist))
	if err := insertEvent(ctx, tx, rep.IncidentID, Event{At: now, Kind: "merged", Actor: "fieldgate", Via: "rules", From: StateReceived, To: StateMerged, Detail: map[string]any{
		"into": orig.CaseNumber, "distance_m": dist, "team": team.ID, "rule": dec.Rule, "category": category,
	}}); err != nil {
		return false, err
	}
	if err := insertEvent(ctx, tx, orig.ID, Event{At: now, Kind: "duplicate_added", Actor: "fieldgate", Via: "rules", Detail: map[string]any{
		"case": caseNumber, "distance_m": dist,
	}}); err != nil {
		return false, err
	}
	rs := s.rules.Current()
	if ot, ok := rs.Team(orig.Team); ok && ot.Room != "" {
		lang := cmp.Or(ot.Language, "de")
		text := QuoteUserText(shorten(strings.TrimSpace(rep.Text), 300))
		if err := s.enqueueRoomPost(ctx, tx, orig.ID, ot.Room, msg.For(lang).DupRoom(orig.CaseNumber, caseNumber, dist, text)); err != nil {
			return false, err
		}
	}
	if rep.Channel == ChannelXMPP {
		if err := s.enqueueChat(ctx, tx, rep.Address, rep.Sender, msg.For(rep.Language).DupReporter(caseNumber, orig.CaseNumber)); err != nil {
			return false, err
		}
	}
	s.log.InfoContext(ctx, "report merged as duplicate", "case", caseNumber, "into", orig.CaseNumber, "distance_m", dist)
	return true, nil
}

// UnmergeCommand separates a merged incident from the one it was linked to.
type UnmergeCommand struct {
	Ref   string // case reference of the duplicate
	Actor string // bare JID or "token:<name>"
	Via   string // "room", "chat", "api"
	// Dispatcher must be true: only dispatchers (rules file) or API tokens
	// with the dispatcher role unmerge.
	Dispatcher bool
	// Claim is the room message the command was written in, claimed in
	// the command's transaction (zero: none; see RoomClaim).
	Claim RoomClaim
}

// Unmerge turns a merged incident back into one of its own: it is posted
// to its team, escalates by its policy, and its reporters are told.
func (s *Service) Unmerge(ctx context.Context, cmd UnmergeCommand) (CommandResult, error) {
	if !cmd.Dispatcher {
		return CommandResult{}, newError(ErrForbidden, func(ts msg.Texts) string { return ts.DispatcherOnly() })
	}
	var res CommandResult
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if err := claimInTx(ctx, tx, cmd.Claim); err != nil {
			return err
		}
		inc, err := incidentByRef(ctx, tx, cmd.Ref, true)
		if err != nil {
			return err
		}
		if inc.State != StateMerged {
			// Not a duplicate: undo the grouping of its latest part, if any.
			reply, ok, err := s.splitLastPart(ctx, tx, inc, cmd.Actor, cmd.Via)
			if err != nil || !ok {
				return cmp.Or(err, newError(ErrConflict, func(ts msg.Texts) string { return ts.NotMerged(inc.CaseNumber) }))
			}
			res = CommandResult{Incident: inc, Outcome: OutcomeApplied, Reply: reply}
			return nil
		}
		res, err = s.unmergeTx(ctx, tx, inc, cmd.Actor, cmd.Via)
		return err
	})
	if err != nil {
		return CommandResult{}, unknownCase(err, cmd.Ref)
	}
	s.log.InfoContext(ctx, "unmerged", "case", res.Incident.CaseNumber, "via", cmd.Via)
	return res, nil
}

// unmergeTx turns the merged incident inc (locked in tx) back into one of
// its own, on behalf of actor: the trail of both incidents records it, the
// incident is posted to its team and escalates by its policy, and its
// reporters are told.
func (s *Service) unmergeTx(ctx context.Context, tx pgx.Tx, inc Incident, actor, via string) (CommandResult, error) {
	rs := s.rules.Current()
	team, _ := rs.Team(inc.Team)
	lang := cmp.Or(team.Language, "de")
	var origID uuid.UUID
	var origCase string
	if err := tx.QueryRow(ctx, `SELECT o.id, o.case_number FROM incidents i JOIN incidents o ON o.id = i.merged_into WHERE i.id = $1`,
		inc.ID).Scan(&origID, &origCase); err != nil {
		return CommandResult{}, fmt.Errorf("load merge target: %w", err)
	}
	now := s.now()
	if _, err := setState(ctx, tx, inc.ID, StateMerged, StateReceived, now, `, merged_into = NULL`); err != nil {
		return CommandResult{}, fmt.Errorf("unmerge: %w", err)
	}
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "unmerged", Actor: actor, Via: via, From: StateMerged, To: StateReceived, Detail: map[string]any{"from": origCase}}); err != nil {
		return CommandResult{}, err
	}
	if err := insertEvent(ctx, tx, origID, Event{At: now, Kind: "duplicate_removed", Actor: actor, Via: via, Detail: map[string]any{"case": inc.CaseNumber}}); err != nil {
		return CommandResult{}, err
	}
	if team.Room != "" {
		// The full post; its delivery moves the incident to routed.
		if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, ""); err != nil {
			return CommandResult{}, err
		}
		if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, msg.For(lang).UnmergedRoom(inc.CaseNumber, origCase)); err != nil {
			return CommandResult{}, err
		}
	}
	if err := s.startEscalation(ctx, tx, inc.ID, inc.Policy, now, false); err != nil {
		return CommandResult{}, err
	}
	if _, err := s.notifyReporters(ctx, tx, inc.ID, func(l string) string { return msg.For(l).UnmergedReporter(inc.CaseNumber) }); err != nil {
		return CommandResult{}, err
	}
	inc.State = StateReceived
	return CommandResult{Incident: inc, Outcome: OutcomeApplied, Reply: func(t msg.Texts) string { return t.UnmergedReply(inc.CaseNumber) }}, nil
}

// unknownCase gives an unknown case reference the chat text people understand.
func unknownCase(err error, ref string) error {
	var de *Error
	if errors.As(err, &de) && errors.Is(err, errNoIncident) {
		de.Text = func(t msg.Texts) string { return t.UnknownCase(ref) }
	}
	return err
}

// distanceM is the great-circle distance in metres (haversine).
func distanceM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6_371_000
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// reporter is who sent a report: its channel and sender (bare JID or
// "token:<name>").
type reporter struct{ Channel, Sender string }

// findDuplicate finds the open incident of team and category, opened
// within Config.DuplicateWindow before at (and before the incident
// exclude, if it exists), whose first report lies closest to pos and
// within Config.DuplicateDistance; uuid.Nil if there is none.
//
// The report of incident exclude comes from its sender: when the sender
// opened it with "neu" (reporterNew, or its "received" event's grouping
// reason says so), an incident holding one of that sender's own reports is
// no candidate: they said it is something else.
func (s *Service) findDuplicate(ctx context.Context, q rowQuerier, team, category string, pos Position, at time.Time, exclude uuid.UUID,
	sender reporter, reporterNew bool) (uuid.UUID, float64, error) {
	// A bounding box (generous in longitude) narrows the candidates; the
	// exact distance is computed here.
	dLat := s.cfg.DuplicateDistance / 111_000 * 1.1
	dLon := dLat / math.Max(math.Cos(pos.Lat*math.Pi/180), 0.01)
	rows, err := q.Query(ctx, `
		SELECT i.id, r.lat, r.lon FROM incidents i
		JOIN LATERAL (SELECT lat, lon FROM reports
		              WHERE incident_id = i.id AND kind = 'report' AND lat IS NOT NULL
		              ORDER BY received_at LIMIT 1) r ON true
		WHERE i.team = $1 AND coalesce(nullif(i.category, ''), i.team) = $2
		  AND i.state NOT IN ('resolved','merged','rejected')
		  AND i.created_at > $3 AND i.created_at < coalesce((SELECT created_at FROM incidents WHERE id = $4), $9) AND i.id <> $4
		  AND r.lat BETWEEN $5 AND $6 AND r.lon BETWEEN $7 AND $8
		  AND NOT EXISTS (
		      SELECT 1 FROM reports o WHERE o.incident_id = i.id AND o.channel = $10 AND o.sender = $11
		        AND ($12 OR EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = $4 AND e.kind = 'received'
		                             AND e.detail->>'grouping' = '`+ReasonReporterNew+`')))
		ORDER BY i.created_at LIMIT 50`,
		team, category, at.Add(-s.cfg.DuplicateWindow), exclude,
		pos.Lat-dLat, pos.Lat+dLat, pos.Lon-dLon, pos.Lon+dLon, at, sender.Channel, sender.Sender, reporterNew)
	if err != nil {
		return uuid.Nil, 0, fmt.Errorf("find duplicate candidates: %w", err)
	}
	var best uuid.UUID
	bestDist := math.Inf(1)
	for rows.Next() {
		var id uuid.UUID
		var lat, lon float64
		if err := rows.Scan(&id, &lat, &lon); err != nil {
			rows.Close()
			return uuid.Nil, 0, fmt.Errorf("scan duplicate candidate: %w", err)
		}
		if d := distanceM(pos.Lat, pos.Lon, lat, lon); d <= s.cfg.DuplicateDistance && d < bestDist {
			best, bestDist = id, d
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return uuid.Nil, 0, fmt.Errorf("find duplicate candidates: %w", err)
	}
	return best, bestDist, nil
}
