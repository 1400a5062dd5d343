package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/fieldgate/fieldgate/routing"
)

type processReportWorker struct {
	river.WorkerDefaults[processReportArgs]
	s *Service
}

// errCaseNotReady: a part arrived before its case was routed; try again shortly.
var errCaseNotReady = errors.New("case not routed yet")

// errProcessedBefore: the routing transaction found the report processed
// (a direct run and its handed-over job raced, or a retry); it commits
// nothing, and the run that processed it counted and posted it.
var errProcessedBefore = errors.New("report processed before")

func (w *processReportWorker) Work(ctx context.Context, job *river.Job[processReportArgs]) error {
	err := w.s.processReport(ctx, job.Args.ReportID, nil)
	switch {
	case errors.Is(err, errCaseNotReady):
		return river.JobSnooze(200 * time.Millisecond)
	case errors.Is(err, ErrNotFound):
		// Retention deleted the report. (Every processing job is queued
		// in its report's transaction, or from its row: handOverProcessing.)
		w.s.log.InfoContext(ctx, "processing job without its report; nothing to do", "report", job.Args.ReportID)
		return nil
	}
	return err
}

// processReport reads a report's media, then routes it (a new case) or
// completes its case with it (a part). d is the direct run after the intake
// commit (direct.go), nil for the queue job.
func (s *Service) processReport(ctx context.Context, reportID uuid.UUID, d *directRun) error {
	var rep Report
	if d != nil && d.rep != nil && !d.claimed {
		rep = *d.rep
		rep.Media = slices.Clone(rep.Media)
	} else {
		var err error
		if rep, err = s.loadReport(ctx, s.pool, reportID); err != nil {
			return err
		}
	}
	if rep.ProcessedAt != nil {
		return nil
	}
	if rep.Kind == "followup" {
		// A part waits for its case's first report to be routed, so that it
		// is compared with the case's real position (EXIF included).
		var routed bool
		if err := s.pool.QueryRow(ctx, `SELECT processed_at IS NOT NULL FROM reports
			WHERE incident_id = $1 AND kind = 'report' ORDER BY received_at LIMIT 1`, rep.IncidentID).Scan(&routed); err != nil {
			return fmt.Errorf("check case routed: %w", err)
		}
		if !routed {
			return errCaseNotReady
		}
	}
	sent := rep.Position
	pos, source, err := s.readMedia(ctx, &rep, d)
	if err != nil {
		return err
	}
	flags := plausibilityFlags(rep, sent, pos, s.cfg.PartDistance, s.cfg.MaxPhotoAge, s.cfg.TimeZone)
	if rep.Kind == "followup" {
		return s.processPart(ctx, rep, pos, source, flags, d)
	}
	return s.route(ctx, rep, pos, source, flags, d)
}

// route decides the team of a new case, queues its room post and starts
// its escalation, and tells an XMPP reporter.
func (s *Service) route(ctx context.Context, rep Report, pos *Position, source string, flags []flag, d *directRun) error {
	plan, err := s.planRoute(rep, pos)
	if err != nil {
		return err
	}
	var direct []*pendingPost
	err = s.withTx(ctx, func(tx pgx.Tx) error {
		if err := s.claimJob(ctx, tx, d); err != nil {
			return err
		}
		var err error
		direct, err = s.routeTx(ctx, tx, rep, pos, source, flags, plan, s.now())
		return err
	})
	if errors.Is(err, errProcessedBefore) {
		return nil // the run that processed it counted and posted it
	}
	if err != nil {
		return fmt.Errorf("route report %s: %w", rep.CaseNumber, err)
	}
	if rep.Channel != ChannelXMPP {
		// Only messenger reports get parts: this case is this report,
		// and its posts are rendered without reading it back.
		routed := rep
		routed.Position, routed.PositionSource = pos, source
		c := routedCase(routed, plan, flags)
		for _, p := range direct {
			p.case_ = &c
		}
	}
	s.afterRouting(ctx, rep, pos, source, plan, direct)
	return nil
}

// routePlan is a report's routing decision, made before its transaction.
type routePlan struct {
	rs       *routing.RuleSet
	dec      routing.Decision
	team     routing.Team
	priority string
}

func (s *Service) planRoute(rep Report, pos *Position) (routePlan, error) {
	rs := s.rules.Current()
	dec, team, priority, err := s.decide(rs, rep, pos)
	return routePlan{rs: rs, dec: dec, team: team, priority: priority}, err
}

// routeTx routes a new case in tx by plan: it stores the report's final
// position, gives the incident its team, records why, queues the room
// posts (returned for postDirect after the commit, where this process
// sends them) and starts the escalation; an XMPP reporter is told. A
// report processed before, or merged as a duplicate, queues nothing.
func (s *Service) routeTx(ctx context.Context, tx pgx.Tx, rep Report, pos *Position, source string, flags []flag, plan routePlan, now time.Time) ([]*pendingPost, error) {
	rs, dec, team, priority := plan.rs, plan.dec, plan.team, plan.priority
	// The lock and the processed mark in one round trip.
	var state State
	var done bool
	var b pgx.Batch
	b.Queue(`SELECT state FROM incidents WHERE id = $1 FOR UPDATE`, rep.IncidentID).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&state); err != nil {
			return fmt.Errorf("lock incident: %w", err)
		}
		return nil
	})
	queueMarkProcessed(&b, rep.ID, pos, source, now, &done)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	if done {
		return nil, errProcessedBefore
	}
	if state != StateReceived {
		return nil, nil // processed by an earlier attempt
	}
	events := flagEvents(now, flags)
	if s.cfg.DuplicateDistance > 0 && pos != nil {
		// A duplicate is merged with its flags recorded.
		if err := recordFlags(ctx, tx, rep.IncidentID, now, flags); err != nil {
			return nil, err
		}
		if merged, err := s.mergeDuplicate(ctx, tx, rep, pos, team, dec, priority, now); merged || err != nil {
			return nil, err
		}
		events = nil
	}
	// The routing, its trail, the posts' records and the escalation
	// round (startEscalation's) in one round trip.
	events = append(events, Event{At: now, Kind: "routed", Actor: "fieldgate", Via: "rules", Detail: map[string]any{
		"team": team.ID, "rule": dec.Rule, "priority": priority, "district": dec.District,
		"rules_version": rs.Version(), "position_source": source,
	}})
	b = pgx.Batch{}
	var round int
	// The round's first step: armed on the incident if it is due later
	// than exactTimerHorizon (escalation_handover.go), else queued below.
	pol, hasPolicy := rs.Policy(dec.Policy)
	hasPolicy = hasPolicy && len(pol.Levels) > 0
	var armed *time.Time
	if hasPolicy && armOnIncident(pol.Levels[0].After) {
		due := now.Add(pol.Levels[0].After)
		armed = &due
	}
	b.Queue(`
		UPDATE incidents SET team = $2, priority = $3, policy = $4, rule = $5, district = $6, category = $7, updated_at = $8,
			escalation_round = escalation_round + 1, escalation_started_at = $8, escalation_due_at = $9
		WHERE id = $1 RETURNING escalation_round`, rep.IncidentID, team.ID, priority, dec.Policy, dec.Rule, dec.District, dec.Category, now, armed,
	).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&round); err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		return nil
	})
	sql, args, err := eventsInsert(rep.IncidentID, events)
	if err != nil {
		return nil, err
	}
	b.Queue(sql, args...)
	rooms := postRooms(rs, team, dec)
	var direct []*pendingPost
	if s.canPostDirect() {
		for _, room := range rooms {
			direct = append(direct, s.queueDirectPost(&b, rep.IncidentID, room))
		}
		rooms = nil
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	for _, room := range rooms { // this process does not send: queued
		if err := s.enqueueRoomPost(ctx, tx, rep.IncidentID, room, ""); err != nil {
			return nil, err
		}
	}
	if hasPolicy && armed == nil {
		if err := s.enqueueStep(ctx, tx, escalateArgs{IncidentID: rep.IncidentID, Round: round}, now.Add(pol.Levels[0].After)); err != nil {
			return nil, err
		}
	}
	if rep.Channel != ChannelXMPP {
		return direct, nil
	}
	text := acceptedText(rep.Language, rep.CaseNumber, team, dec.District)
	if pos == nil {
		// Routed by the rules that need no position, posted, and the
		// sender is asked; a location sent later completes it.
		text += "\n" + msg.For(rep.Language).NeedLocation(rep.CaseNumber)
		if _, err := setState(ctx, tx, rep.IncidentID, StateReceived, StateNeedsLocation, now, ""); err != nil {
			return nil, fmt.Errorf("mark needs location: %w", err)
		}
		if err := insertEvent(ctx, tx, rep.IncidentID, Event{At: now, Kind: "location_requested", Actor: "fieldgate", Via: "xmpp", From: StateReceived, To: StateNeedsLocation}); err != nil {
			return nil, err
		}
	}
	return direct, s.enqueueChat(ctx, tx, rep.Address, rep.Sender, text)
}

// afterRouting counts and logs a committed routing and sends its posts
// (one queue hop less; the queued jobs are the durable fallback,
// postDirect), rendering the report as committed.
func (s *Service) afterRouting(ctx context.Context, rep Report, pos *Position, source string, plan routePlan, direct []*pendingPost) {
	s.metric.routed.WithLabelValues(plan.team.ID).Inc()
	s.log.InfoContext(ctx, "report routed", "case", rep.CaseNumber, "team", plan.team.ID, "rule", plan.dec.Rule,
		"priority", plan.priority, "position_source", source)
	routed := rep
	routed.Position, routed.PositionSource = pos, source
	for _, p := range direct {
		p.known = &routed
		s.postDirect(ctx, p)
	}
}

// decide runs the rules for a report at a position.
func (s *Service) decide(rs *routing.RuleSet, rep Report, pos *Position) (routing.Decision, routing.Team, string, error) {
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
		return dec, team, "", fmt.Errorf("routing chose unknown team %q", dec.Team)
	}
	priority := dec.Priority
	if rep.Urgent {
		priority = "urgent"
	}
	return dec, team, priority, nil
}

// postRooms are the team's room and the rooms of teams in copy.
func postRooms(rs *routing.RuleSet, team routing.Team, dec routing.Decision) []string {
	var rooms []string
	if team.Room != "" {
		rooms = append(rooms, team.Room)
	}
	for _, cc := range dec.CC {
		if t, ok := rs.Team(cc); ok && t.Room != "" && t.Room != team.Room {
			rooms = append(rooms, t.Room)
		}
	}
	return rooms
}

func acceptedText(lang, caseNumber string, team routing.Team, district string) string {
	name := cmp.Or(team.Name, team.ID)
	if district != "" {
		return msg.For(lang).AcceptedDistrict(caseNumber, name, district)
	}
	return msg.For(lang).Accepted(caseNumber, name)
}

// queueMarkProcessed queues markProcessed's statement; done is set when
// an earlier attempt had marked the report. The mark clears the report's
// processing hand-over time (handOverProcessing) in the same statement.
func queueMarkProcessed(b *pgx.Batch, id uuid.UUID, pos *Position, source string, now time.Time, done *bool) {
	var lat, lon, alt *float64
	if pos != nil {
		lat, lon, alt = &pos.Lat, &pos.Lon, pos.Alt
	}
	b.Queue(`
		UPDATE reports SET lat = $2, lon = $3, alt = $4, position_source = $5, processed_at = $6, processing_handover_at = NULL
		WHERE id = $1 AND processed_at IS NULL`, id, lat, lon, alt, source, now,
	).Exec(func(tag pgconn.CommandTag) error {
		*done = tag.RowsAffected() == 0
		return nil
	})
}

// markProcessed stores the report's final position and marks it processed;
// done means an earlier attempt did.
func markProcessed(ctx context.Context, tx pgx.Tx, id uuid.UUID, pos *Position, source string, now time.Time) (done bool, err error) {
	var lat, lon, alt *float64
	if pos != nil {
		lat, lon, alt = &pos.Lat, &pos.Lon, pos.Alt
	}
	tag, err := tx.Exec(ctx, `
		UPDATE reports SET lat = $2, lon = $3, alt = $4, position_source = $5, processed_at = $6, processing_handover_at = NULL
		WHERE id = $1 AND processed_at IS NULL`, id, lat, lon, alt, source, now)
	if err != nil {
		return false, fmt.Errorf("update report: %w", err)
	}
	return tag.RowsAffected() == 0, nil
}

// processPart completes a case with a part that joined it at intake: it
// checks again whether the part belongs there (its EXIF position is only
// known now, and the case may have been taken meanwhile), then corrects
// the case's room post, re-routes a case that gets its first position,
// and tells the reporter which case the part joined.
func (s *Service) processPart(ctx context.Context, rep Report, pos *Position, source string, flags []flag, d *directRun) error {
	now := s.now()
	resplit := false
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if err := s.claimJob(ctx, tx, d); err != nil {
			return err
		}
		inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, rep.IncidentID))
		if err != nil {
			return err
		}
		var lat, lon *float64
		var mainID uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT id, lat, lon FROM reports WHERE incident_id = $1 AND kind = 'report'
			ORDER BY received_at LIMIT 1`, inc.ID).Scan(&mainID, &lat, &lon); err != nil {
			return fmt.Errorf("load case position: %w", err)
		}
		c := caseForParts{State: inc.State, Owner: inc.Owner}
		if lat != nil && lon != nil {
			c.Position = &Position{Lat: *lat, Lon: *lon}
		}
		facts := partFacts{At: rep.ReceivedAt, Position: pos,
			PositionOnly: rep.Text == "" && len(rep.Media) == 0 && pos != nil, Correction: rep.Corrects != ""}
		if g, split := recheckGrouping(c, facts, s.groupingRules()); split {
			resplit = true
			return s.splitPart(ctx, tx, rep, inc, g, now)
		}
		if done, err := markProcessed(ctx, tx, rep.ID, pos, source, now); err != nil || done {
			return err
		}
		if err := recordFlags(ctx, tx, inc.ID, now, flags); err != nil {
			return err
		}
		if pos != nil && c.Position == nil {
			return s.locate(ctx, tx, inc, mainID, rep, pos, source, now)
		}
		if err := s.enqueueCorrections(ctx, tx, inc.ID, rep.ID); err != nil {
			return err
		}
		return s.tellPartJoined(ctx, tx, rep, msg.Texts.PartJoined, inc.CaseNumber)
	})
	if err != nil {
		return fmt.Errorf("process part of %s: %w", rep.CaseNumber, err)
	}
	if !resplit {
		return nil
	}
	// The part is now the first report of a case of its own: route it in
	// this job (its media are read; a new job for the same report would be
	// refused as a duplicate of this one).
	own, err := s.loadReport(ctx, s.pool, rep.ID)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "part split into a new case", "case", own.CaseNumber, "from", rep.CaseNumber)
	return s.route(ctx, own, pos, source, flags, nil)
}

func (s *Service) tellPartJoined(ctx context.Context, tx pgx.Tx, rep Report, text func(msg.Texts, string) string, caseNumber string) error {
	if rep.Channel != ChannelXMPP {
		return nil
	}
	return s.enqueueChat(ctx, tx, rep.Address, rep.Sender, text(msg.For(rep.Language), caseNumber))
}

// splitPart moves a part out of its case into a new case of its own, which
// is then processed (routed, posted) like any new report.
func (s *Service) splitPart(ctx context.Context, tx pgx.Tx, rep Report, from Incident, g grouping, now time.Time) error {
	nr := NewReport{Channel: rep.Channel, Address: rep.Address, Sender: rep.Sender, Language: rep.Language, Urgent: rep.Urgent}
	id, caseNumber, err := s.newIncident(ctx, tx, &nr, now)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE reports SET incident_id = $2, case_number = $3, kind = 'report' WHERE id = $1`,
		rep.ID, id, caseNumber); err != nil {
		return fmt.Errorf("move part: %w", err)
	}
	detail := map[string]any{"reason": g.Reason, "report": rep.ID.String()}
	if g.DistanceM > 0 {
		detail["distance_m"] = int(g.DistanceM)
	}
	detail["to_case"] = caseNumber
	if err := insertEvent(ctx, tx, from.ID, Event{At: now, Kind: "part_split", Actor: "fieldgate", Via: "rules", Detail: detail}); err != nil {
		return err
	}
	detail = map[string]any{"address": rep.Address, "media": len(rep.Media), "grouping": g.Reason, "not_joined": from.CaseNumber}
	if g.DistanceM > 0 {
		detail["distance_m"] = int(g.DistanceM)
	}
	if err := insertEvent(ctx, tx, id, Event{At: now, Kind: "received", Actor: rep.Sender, Via: rep.Channel, To: StateReceived, Detail: detail}); err != nil {
		return err
	}
	if g.Reason == ReasonFarPosition {
		if err := recordFlags(ctx, tx, id, now, []flag{{Kind: flagPositionsDisagree, DistanceM: int(g.DistanceM), Other: from.CaseNumber}}); err != nil {
			return err
		}
	}
	if rep.Channel == ChannelXMPP {
		if err := s.enqueueChat(ctx, tx, rep.Address, rep.Sender, notJoinedText(rep.Language, g, from.CaseNumber, caseNumber)); err != nil {
			return err
		}
	}
	return nil
}

// newIncident opens an incident with the next case number.
func (s *Service) newIncident(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time) (uuid.UUID, string, error) {
	id := mustV7()
	var seq int
	year := now.In(s.cfg.TimeZone).Year()
	if err := tx.QueryRow(ctx, `
		INSERT INTO case_counters (year, last) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1
		RETURNING last`, year).Scan(&seq); err != nil {
		return uuid.Nil, "", fmt.Errorf("next case number: %w", err)
	}
	caseNumber := fmt.Sprintf("%d-%06d", year, seq)
	if _, err := tx.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, priority, created_at, updated_at)
		VALUES ($1, $2, 'received', $3, $4, $5, $5)`,
		id, caseNumber, in.Address, priorityFor(in.Urgent), now); err != nil {
		return uuid.Nil, "", fmt.Errorf("insert incident: %w", err)
	}
	return id, caseNumber, nil
}

// locate gives a case without position the position of a part, and
// re-routes it: if the team changes and nobody has taken it, the case moves
// (a fresh post in the new room, a note in the old one); a taken case keeps
// its team and the owner is told.
func (s *Service) locate(ctx context.Context, tx pgx.Tx, inc Incident, mainID uuid.UUID, part Report, pos *Position, source string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE reports SET lat = $2, lon = $3, alt = $4, position_source = $5 WHERE id = $1`,
		mainID, pos.Lat, pos.Lon, pos.Alt, source); err != nil {
		return fmt.Errorf("store case position: %w", err)
	}
	from, to := State(""), State("")
	if inc.State == StateNeedsLocation {
		if _, err := setState(ctx, tx, inc.ID, StateNeedsLocation, StateRouted, now, ""); err != nil {
			return fmt.Errorf("leave needs location: %w", err)
		}
		from, to = StateNeedsLocation, StateRouted
	}
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "location_received", Actor: part.Sender, Via: part.Channel, From: from, To: to, Detail: map[string]any{"source": source, "report": part.ID.String()}}); err != nil {
		return err
	}
	rs := s.rules.Current()
	if inc.Owner != "" || inc.State == StateAcknowledged {
		if inc.Owner != "" {
			team, _ := rs.Team(inc.Team)
			if err := s.enqueueChatFor(ctx, tx, inc.ID, inc.Address, inc.Owner,
				msg.For(cmp.Or(team.Language, "de")).LocationOwner(inc.CaseNumber, geoText(*pos))); err != nil {
				return err
			}
		}
		if err := s.enqueueCorrections(ctx, tx, inc.ID, part.ID); err != nil {
			return err
		}
		return s.tellPartJoined(ctx, tx, part, msg.Texts.LocationTaken, inc.CaseNumber)
	}
	main, err := s.loadReport(ctx, tx, mainID)
	if err != nil {
		return err
	}
	dec, team, priority, err := s.decide(rs, main, pos)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE incidents SET district = $2, rule = $3, category = $4, updated_at = $5 WHERE id = $1`,
		inc.ID, dec.District, dec.Rule, dec.Category, now); err != nil {
		return fmt.Errorf("update district: %w", err)
	}
	if team.ID == inc.Team {
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "rerouted", Actor: "fieldgate", Via: "rules", Detail: map[string]any{
			"team": team.ID, "rule": dec.Rule, "district": dec.District, "rules_version": rs.Version(), "moved": false,
		}}); err != nil {
			return err
		}
		if err := s.enqueueCorrections(ctx, tx, inc.ID, part.ID); err != nil {
			return err
		}
		return s.tellPartJoined(ctx, tx, part, msg.Texts.LocationReceived, inc.CaseNumber)
	}
	old, _ := rs.Team(inc.Team)
	if _, err := tx.Exec(ctx, `UPDATE incidents SET team = $2, priority = $3, policy = $4, escalation_level = 0, updated_at = $5
		WHERE id = $1`, inc.ID, team.ID, priority, dec.Policy, now); err != nil {
		return fmt.Errorf("move case: %w", err)
	}
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "rerouted", Actor: "fieldgate", Via: "rules", Detail: map[string]any{
		"from_team": inc.Team, "team": team.ID, "rule": dec.Rule, "district": dec.District,
		"rules_version": rs.Version(), "moved": true,
	}}); err != nil {
		return err
	}
	for _, room := range postRooms(rs, team, dec) {
		if err := s.enqueueRoomPost(ctx, tx, inc.ID, room, ""); err != nil {
			return err
		}
	}
	if old.Room != "" && old.Room != team.Room {
		if err := s.enqueueRoomPost(ctx, tx, inc.ID, old.Room, msg.For(cmp.Or(old.Language, "de")).MovedOldRoom(inc.CaseNumber, cmp.Or(team.Name, team.ID), dec.District)); err != nil {
			return err
		}
	}
	if err := s.startEscalation(ctx, tx, inc.ID, dec.Policy, now, false); err != nil {
		return err
	}
	if part.Channel != ChannelXMPP {
		return nil
	}
	text := msg.For(part.Language).LocationMoved(inc.CaseNumber, cmp.Or(team.Name, team.ID))
	if dec.District != "" {
		text = msg.For(part.Language).LocationMovedDistrict(inc.CaseNumber, cmp.Or(team.Name, team.ID), dec.District)
	}
	return s.enqueueChat(ctx, tx, part.Address, part.Sender, text)
}

// splitLastPart undoes the grouping of a case's latest part ("trennen 42"
// by a dispatcher): the part becomes a case of its own, which is routed and
// posted like a new report; the case's post is corrected and the reporter
// told. ok is false when the case has no part.
func (s *Service) splitLastPart(ctx context.Context, tx pgx.Tx, inc Incident, actor, via string) (msg.Text, bool, error) {
	var partID uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM reports WHERE incident_id = $1 AND kind = 'followup' AND processed_at IS NOT NULL
		ORDER BY received_at DESC LIMIT 1 FOR UPDATE`, inc.ID).Scan(&partID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find latest part: %w", err)
	}
	part, err := s.loadReport(ctx, tx, partID)
	if err != nil {
		return nil, false, err
	}
	_, caseNumber, err := s.splitOff(ctx, tx, inc, part, actor, via, "dispatcher", msg.Texts.PartSplitReporter)
	if err != nil {
		return nil, false, err
	}
	return func(t msg.Texts) string { return t.PartSplitReply(inc.CaseNumber, caseNumber) }, true, nil
}

// splitOff moves a processed part out of inc into a new case of its own
// (routed and posted like a new report), corrects inc's post, records why
// (reason: "dispatcher" for trennen, "reporter_new" for the reporter's
// bare "neu") and tells an XMPP reporter with tell(old case, new case).
func (s *Service) splitOff(ctx context.Context, tx pgx.Tx, inc Incident, part Report, actor, via, reason string,
	tell func(t msg.Texts, from, to string) string) (uuid.UUID, string, error) {
	now := s.now()
	nr := NewReport{Channel: part.Channel, Address: part.Address, Sender: part.Sender, Language: part.Language, Urgent: part.Urgent}
	id, caseNumber, err := s.newIncident(ctx, tx, &nr, now)
	if err != nil {
		return uuid.Nil, "", err
	}
	if _, err := tx.Exec(ctx, `UPDATE reports SET incident_id = $2, case_number = $3, kind = 'report', processed_at = NULL WHERE id = $1`,
		part.ID, id, caseNumber); err != nil {
		return uuid.Nil, "", fmt.Errorf("move part: %w", err)
	}
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "part_split", Actor: actor, Via: via,
		Detail: map[string]any{"reason": reason, "report": part.ID.String(), "to_case": caseNumber}}); err != nil {
		return uuid.Nil, "", err
	}
	if err := insertEvent(ctx, tx, id, Event{At: now, Kind: "received", Actor: part.Sender, Via: part.Channel, To: StateReceived,
		Detail: map[string]any{"address": part.Address, "media": len(part.Media), "grouping": "split_by_" + reason, "not_joined": inc.CaseNumber}}); err != nil {
		return uuid.Nil, "", err
	}
	if err := s.enqueueCorrections(ctx, tx, inc.ID, uuid.Nil); err != nil {
		return uuid.Nil, "", err
	}
	if part.Channel == ChannelXMPP {
		if err := s.enqueueChat(ctx, tx, part.Address, part.Sender, tell(msg.For(part.Language), inc.CaseNumber, caseNumber)); err != nil {
			return uuid.Nil, "", err
		}
	}
	opts := processReportArgs{}.InsertOpts()
	if _, err := s.queue.InsertTx(ctx, tx, processReportArgs{ReportID: part.ID, SplitInto: id}, &opts); err != nil {
		return uuid.Nil, "", fmt.Errorf("enqueue processing: %w", err)
	}
	return id, caseNumber, nil
}
