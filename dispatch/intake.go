package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Limits on what a report may carry.
const (
	MaxTextRunes = 4000
	MaxMedia     = 20
)

// Intake commits a report durably and returns its case number. Nothing is
// sent to anyone before the transaction commits; processing (EXIF, routing,
// posting) continues right after it in this process (direct.go), with a
// queue job or a hand-over time as the durable fallback.
//
// Nothing waits: every report is processed (routed, posted) at once. XMPP
// messengers send photo, text and location as separate messages, so a
// message from the same sender to the same address may join the sender's
// latest case as a part (see group.go for the rules and their defaults);
// the part completes the case in place. A message whose idempotency key was
// seen before returns the first receipt with Replayed set and stores nothing.
func (s *Service) Intake(ctx context.Context, in NewReport) (Receipt, error) {
	if err := s.validate(&in); err != nil {
		return Receipt{}, err
	}
	switch {
	case in.IdempotencyKey == "":
		in.IdempotencyKey = "generated:" + uuid.NewString()
	case in.Channel == ChannelAPI:
		// The API asked (Replay) before it read a large body; a small
		// one's retry, and one that raced the question, is caught by the
		// key's insert (errReplay below), which rolls everything back.
	case in.Channel == ChannelXMPP:
		// Looked up in its transaction, after the sender's lock
		// (intakeTx), where a resend that raced its first finds it too.
		// The gateway asked (Replay) before it downloaded attachments.
	default:
		if r, err := s.findByIdempotencyKey(ctx, s.pool, in); err == nil {
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Receipt{}, err
		}
	}

	now := s.now()
	var rec Receipt
	// Processed right after the commit, in this process, if a slot is
	// free (direct.go); otherwise by the queue.
	// A report without attachments needs no slot: it is routed in its
	// intake transaction, and only its posts are sent afterwards.
	proc := processing{Slot: len(in.Media) > 0}
	proc.Direct = s.reserveDirect(proc.Slot)
	handed := false // to a run that releases the slot (startPosting, startDirect)
	defer func() {
		// Also where the intake panics: a slot never released would
		// leave Stop waiting for the run forever.
		if proc.Direct && !handed {
			s.releaseDirect(proc.Slot)
		}
	}()
	var err error
	stored := false
	if in.Channel != ChannelXMPP {
		// Never grouped with other messages: stored in one batch that is
		// its own transaction, routed at once if it can be
		// (insertRouted), or with its attachments, processed right after
		// by this process (insertNew).
		stored, err = s.insertRouted(ctx, nil, &in, now, &rec, grouping{Reason: ReasonNoRecentCase}, "", &proc)
		if !stored && err == nil && len(in.Media) > 0 && proc.Direct {
			stored = true
			err = s.insertNew(ctx, nil, &in, now, &rec, grouping{Reason: ReasonNoRecentCase}, "", &proc)
		}
	}
	if !stored && err == nil {
		err = s.intakeTx(ctx, &in, now, &rec, &proc)
	}
	if proc.Direct && err == nil {
		if proc.Routed != nil {
			handed = true
			s.startPosting(proc.Routed, proc.Slot)
		} else if proc.JobID != 0 || proc.Handover {
			handed = true
			s.startDirect(rec.ReportID, &directRun{jobID: proc.JobID, handover: proc.Handover, prepared: in.Prepared, rep: proc.Rep}, proc.Slot)
		}
	}
	if errors.Is(err, errReplay) {
		if rec.Replayed { // found by intakeTx
			return rec, nil
		}
		// A concurrent retry won the race; its transaction is the report.
		return s.findByIdempotencyKey(ctx, s.pool, in)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: %w", err)
	}
	s.metric.accepted(in.Channel, in.Address, rec.Mode)
	s.log.InfoContext(ctx, "report accepted", "case", rec.CaseNumber, "report", rec.ReportID,
		"channel", in.Channel, "address", in.Address, "media", len(in.Media), "mode", rec.Mode)
	return rec, nil
}

// intakeTx stores a message in one transaction: as a part of the sender's
// case (messenger messages), or as a new report, routed at once where it
// can be. A retried transaction starts afresh.
func (s *Service) intakeTx(ctx context.Context, in *NewReport, now time.Time, rec *Receipt, proc *processing) error {
	return s.withTx(ctx, func(tx pgx.Tx) error {
		*rec = Receipt{}
		proc.JobID, proc.Handover = 0, false
		why := grouping{Reason: ReasonNoRecentCase}
		prev := ""
		if in.Channel == ChannelXMPP {
			// One sender's messages to one address are taken one at a
			// time (on any replica), so that concurrent parts of one
			// report join it instead of each opening a report of its own.
			// Only messenger reports are grouped; an API client's reports
			// (one token sends for a whole fleet) never wait for each other.
			if err := s.lockSender(ctx, tx, in, rec); err != nil {
				return err
			}
			var joined bool
			var err error
			joined, why, prev, err = s.joinCase(ctx, tx, in, now, rec, proc)
			if joined || err != nil {
				return err
			}
		}
		if routed, err := s.insertRouted(ctx, tx, in, now, rec, why, prev, proc); routed || err != nil {
			return err
		}
		return s.insertNew(ctx, tx, in, now, rec, why, prev, proc)
	})
}

// senderLockSQL takes the lock on one sender's messages to one address
// (senderLockKey) until the transaction ends.
const senderLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

// senderLockKey names in's sender and address for senderLockSQL.
func senderLockKey(in *NewReport) string { return in.Channel + "\n" + in.Sender + "\n" + in.Address }

// lockSender takes the lock on in's sender's messages to its address
// until tx ends, then looks up in's idempotency key, in one round trip.
// A used key (a resent stanza: the same XEP-0359 origin-id) is errReplay
// with *rec its first receipt. Looked up after the lock, a resend is
// found also when it arrived while its first was being stored; before
// the lock it found nothing and ran as a message of its own (a resent
// bare "neu" found nothing left to undo and was refused).
func (s *Service) lockSender(ctx context.Context, tx pgx.Tx, in *NewReport, rec *Receipt) error {
	var b pgx.Batch
	b.Queue(senderLockSQL, senderLockKey(in))
	var found Receipt
	var lookup error
	b.Queue(idempotencyKeySQL, in.Channel, in.Sender, in.IdempotencyKey).QueryRow(func(row pgx.Row) error {
		found, lookup = scanIdempotencyKey(row)
		if errors.Is(lookup, ErrNotFound) {
			return nil
		}
		return lookup
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("lock sender: %w", err)
	}
	if lookup == nil {
		*rec = found
		return errReplay
	}
	return nil
}

// Modes of an accepted message.
const (
	ModeNew      = "new"      // opened a new report and incident
	ModeAppended = "appended" // joined the report being assembled
	ModeFollowUp = "followup" // added to an open incident after routing
)

// insertNew opens a new incident with the report, unrouted (its caller
// tried insertRouted first). With tx nil (a report with attachments that
// is not a messenger message, processed right after by this process) its
// batch is its own transaction. A report with attachments processed
// right after the commit by this process (proc.Direct), alone or in a
// transaction (a messenger message), gets no queue job: its row carries a
// processing hand-over time, Config.ProcessFallback ahead by the
// database's clock, and is queued only if it is not processed by then
// (handOverProcessing: its process died or hung) or its direct run
// failed. A report with attachments that found no free direct slot gets
// its processing job, due at once, in its transaction.
func (s *Service) insertNew(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, why grouping, prev string, proc *processing) error {
	if tx == nil && (len(in.Media) == 0 || prev != "" || !proc.Direct) {
		return errors.New("intake: only a report with attachments processed directly is stored without a transaction")
	}
	var q batchSender = s.pool
	if tx != nil {
		q = tx
	}
	rec.ReportID, rec.IncidentID, rec.Mode = mustV7(), mustV7(), ModeNew
	// A report with attachments is processed after the commit: directly,
	// with its hand-over time as the fallback, or by its job. The job is
	// queued before the batch, which draws the case number (every intake
	// waits for the counter row until this transaction commits).
	queued := len(in.Media) > 0
	var handover time.Duration
	proc.Handover = queued && proc.Direct
	if proc.Handover {
		handover = s.cfg.ProcessFallback
	} else if queued {
		var err error
		if proc.JobID, err = s.enqueueProcessing(ctx, tx, rec.ReportID, now, proc.Direct); err != nil {
			return err
		}
	}
	var b pgx.Batch
	queueKeyLock(&b, in)
	s.queueIncident(&b, openIncident{ID: rec.IncidentID, State: StateReceived, Address: in.Address, Priority: priorityFor(in.Urgent)}, now, tx == nil, &rec.CaseNumber)
	queueReport(&b, in, rec.ReportID, rec.IncidentID, "report", now, false, handover)
	rows := queueAttach(&b, in, now, rec.ReportID)
	sql, args, err := eventsInsert(rec.IncidentID, []Event{{At: now, Kind: "received", Actor: in.Sender, Via: in.Channel, To: StateReceived, Detail: receivedDetail(in, why, prev)}})
	if err != nil {
		return err
	}
	b.Queue(sql, args...)
	if tx != nil {
		s.queueCaseNumber(&b, rec.IncidentID, rec.ReportID, now, &rec.CaseNumber)
	}
	if tx == nil {
		err = s.intakes.send(ctx, &b) // with concurrent intakes' (groupcommit.go)
	} else {
		err = sendBatch(ctx, q, &b)
	}
	if err != nil {
		// Alone, nothing is left to undo: if the batch committed after
		// all (its answer was lost), the report is handed over in time.
		proc.Handover = false
		return err
	}
	// The direct run takes the report as written here, not read back.
	proc.Rep = &Report{ID: rec.ReportID, IncidentID: rec.IncidentID, CaseNumber: rec.CaseNumber, Kind: "report",
		Channel: in.Channel, Address: in.Address, Sender: in.Sender, Language: in.Language, Text: in.Text,
		Position: in.Position, PositionSource: in.PositionSource, Urgent: in.Urgent, ReceivedAt: now, Media: rows}
	if prev != "" {
		// Tell the sender why this did not join their previous case.
		if err := s.enqueueChat(ctx, tx, in.Address, in.Sender, notJoinedText(in.Language, why, prev, rec.CaseNumber)); err != nil {
			return err
		}
	}
	if queued {
		return nil
	}
	if routed, err := s.routeAtIntake(ctx, tx, in, rec, now, proc); routed || err != nil {
		return err
	}
	proc.JobID, err = s.enqueueProcessing(ctx, tx, rec.ReportID, now, proc.Direct)
	return err
}

// joinCase attaches the message to the sender's latest case at this
// address as a part, if the grouping rules say so. Otherwise it returns why
// not, and the case it did not join ("" when there was none to consider).
func (s *Service) joinCase(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, proc *processing) (bool, grouping, string, error) {
	facts := partFacts{At: now, Position: in.Position,
		PositionOnly: strings.TrimSpace(in.Text) == "" && len(in.Media) == 0 && in.Position != nil}
	if text, ok := cutNewPrefix(in.Text); ok {
		in.Text, facts.New = text, true
		if strings.TrimSpace(in.Text) == "" && len(in.Media) == 0 && in.Position == nil {
			// A bare "neu": undo the last join, if there is one to undo.
			undone, err := s.undoLastJoin(ctx, tx, in, now, rec)
			if err != nil || undone {
				return undone, grouping{}, "", err
			}
			return false, grouping{}, "", newError(ErrInvalid, msg.Texts.NewNeedsContent)
		}
	}
	var c caseForParts
	var id uuid.UUID
	var caseNumber string
	var lat, lon *float64
	found := false
	if corrects := in.Attributes[AttrCorrects]; corrects != "" && in.Channel == ChannelXMPP && !facts.New {
		// An XEP-0308 correction: the case of the message it corrects, by
		// that message's id (as its idempotency key: origin-id or id).
		err := tx.QueryRow(ctx, `
			SELECT i.id, i.case_number, i.state, coalesce(i.owner,''), m.lat, m.lon, r.received_at
			FROM idempotency_keys k
			JOIN reports r ON r.id = k.report_id
			JOIN incidents i ON i.id = r.incident_id
			JOIN LATERAL (SELECT lat, lon FROM reports WHERE incident_id = i.id AND kind = 'report'
			              ORDER BY received_at LIMIT 1) m ON true
			WHERE k.channel = $1 AND k.sender = $2 AND k.key = ANY($3) AND r.address = $4
			ORDER BY r.received_at DESC LIMIT 1`,
			in.Channel, in.Sender, []string{"origin:" + corrects, "id:" + corrects}, in.Address).Scan(&id, &caseNumber, &c.State, &c.Owner, &lat, &lon, &c.LastPartAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return false, grouping{}, "", fmt.Errorf("find the corrected message's case: %w", err)
		case c.State.Open():
			found, facts.Correction = true, true
		}
	}
	if !found {
		window := max(s.cfg.AssemblyWindow, s.cfg.FollowUpWindow)
		c = caseForParts{}
		lat, lon = nil, nil
		// The case of the sender's latest message within the window: one
		// step back along reports_sender_idx, however many messages the
		// window holds.
		err := tx.QueryRow(ctx, `
			SELECT i.id, i.case_number, i.state, coalesce(i.owner,''), m.lat, m.lon, r.received_at
			FROM (SELECT incident_id, received_at FROM reports
			      WHERE channel = $1 AND sender = $2 AND address = $3 AND received_at > $4
			      ORDER BY received_at DESC LIMIT 1) r
			JOIN incidents i ON i.id = r.incident_id
			JOIN LATERAL (SELECT lat, lon FROM reports WHERE incident_id = i.id AND kind = 'report'
			              ORDER BY received_at LIMIT 1) m ON true`,
			in.Channel, in.Sender, in.Address, now.Add(-window)).Scan(&id, &caseNumber, &c.State, &c.Owner, &lat, &lon, &c.LastPartAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return false, grouping{}, "", fmt.Errorf("find the sender's latest case: %w", err)
		default:
			found = true
		}
	}
	var cp *caseForParts
	if found {
		if lat != nil && lon != nil {
			c.Position = &Position{Lat: *lat, Lon: *lon}
		}
		cp = &c
	}
	g := decideGrouping(cp, facts, s.groupingRules())
	if !g.Join {
		if cp == nil || g.Reason == ReasonWindowPassed || g.Reason == ReasonReporterNew {
			caseNumber = ""
		}
		return false, g, caseNumber, nil
	}
	rec.ReportID, rec.IncidentID, rec.CaseNumber, rec.Mode = mustV7(), id, caseNumber, ModeAppended
	if g.Reason != ReasonWithinWindow {
		rec.Mode = ModeFollowUp
	}
	// A part processed right after the commit by this process carries a
	// hand-over time instead of a fallback job (as insertNew's reports).
	var handover time.Duration
	if proc.Direct {
		proc.Handover, handover = true, s.cfg.ProcessFallback
	}
	if err := s.insertReport(ctx, tx, in, now, rec, "followup", handover); err != nil {
		return false, g, "", err
	}
	if err := insertEvent(ctx, tx, id, Event{At: now, Kind: "grouped", Actor: in.Sender, Via: in.Channel, Detail: map[string]any{
		"reason": g.Reason, "report": rec.ReportID.String(), "media": len(in.Media), "position_source": in.PositionSource,
	}}); err != nil {
		return false, g, "", err
	}
	if proc.Direct {
		return true, g, caseNumber, nil
	}
	jobID, err := s.enqueueProcessing(ctx, tx, rec.ReportID, now, false)
	proc.JobID = jobID
	return true, g, caseNumber, err
}

// ModeSplit is a bare "neu" that split the sender's last part off its case
// (undoLastJoin): the receipt names the part's new case.
const ModeSplit = "split"

// undoLastJoin is the reporter's bare "neu": if their last message to this
// address was a part that joined a case which may still be split
// (undoableJoin), the part becomes a case of its own (splitOff; the case's
// post is corrected, the new case routed and posted, the reporter told its
// number) and rec is its receipt. It reports false when there is nothing
// to undo; a part still being processed is ErrConflict (send "neu" again).
// A last report that the rules merged as a duplicate is unmerged instead
// (undoDuplicate).
// The "neu" message's idempotency key points at the moved part, so a
// resend answers with the same receipt instead of splitting again.
func (s *Service) undoLastJoin(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt) (bool, error) {
	var partID, incID uuid.UUID
	var kind string
	var joinedAt time.Time
	err := tx.QueryRow(ctx, `
		SELECT id, kind, received_at, incident_id FROM reports
		WHERE channel = $1 AND sender = $2 AND address = $3 AND received_at > $4
		ORDER BY received_at DESC LIMIT 1`,
		in.Channel, in.Sender, in.Address, now.Add(-UndoWindow)).Scan(&partID, &kind, &joinedAt, &incID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find the sender's last part: %w", err)
	}
	if kind != "followup" {
		return s.undoDuplicate(ctx, tx, in, now, rec, partID, incID, joinedAt)
	}
	// Lock the case, then decide: a take committed meanwhile wins.
	inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, incID))
	if err != nil {
		return false, err
	}
	if !undoableJoin(caseForParts{State: inc.State, Owner: inc.Owner}, joinedAt, now) {
		return false, nil
	}
	part, err := s.loadReport(ctx, tx, partID)
	if err != nil {
		return false, err
	}
	if part.IncidentID != inc.ID || part.Kind != "followup" {
		return false, nil // moved by a concurrent split
	}
	if part.ProcessedAt == nil {
		return false, newError(ErrConflict, msg.Texts.UndoNotReady)
	}
	id, caseNumber, err := s.splitOff(ctx, tx, inc, part, in.Sender, in.Channel, ReasonReporterNew, msg.Texts.PartSplitByReporter)
	if err != nil {
		return false, err
	}
	if err := s.attach(ctx, tx, &NewReport{Channel: in.Channel, Sender: in.Sender, IdempotencyKey: in.IdempotencyKey}, now, part.ID); err != nil {
		return false, err
	}
	*rec = Receipt{ReportID: part.ID, IncidentID: id, CaseNumber: caseNumber, Mode: ModeSplit}
	return true, nil
}

// undoDuplicate is the reporter's bare "neu" after their last report was
// merged as a duplicate by the rules (duplicate.go), within UndoWindow of
// that report: it is not the same case, the reporter says, so the incident
// is unmerged as a dispatcher's "trennen" would (posted to its team, the
// reporter told). A merge made by a dispatcher stays: the reporter may not
// overrule it. It reports false when there is nothing to undo.
func (s *Service) undoDuplicate(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, reportID, incID uuid.UUID, sentAt time.Time) (bool, error) {
	if age := now.Sub(sentAt); age < 0 || age > UndoWindow {
		return false, nil
	}
	inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, incID))
	if err != nil {
		return false, err
	}
	if inc.State != StateMerged {
		return false, nil
	}
	var byRules bool
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT actor = 'fieldgate' FROM incident_events
		WHERE incident_id = $1 AND kind = 'merged' ORDER BY id DESC LIMIT 1), false)`, inc.ID).Scan(&byRules); err != nil {
		return false, fmt.Errorf("find who merged %s: %w", inc.CaseNumber, err)
	}
	if !byRules {
		return false, nil
	}
	if _, err := s.unmergeTx(ctx, tx, inc, in.Sender, in.Channel); err != nil {
		return false, err
	}
	if err := s.attach(ctx, tx, &NewReport{Channel: in.Channel, Sender: in.Sender, IdempotencyKey: in.IdempotencyKey}, now, reportID); err != nil {
		return false, err
	}
	*rec = Receipt{ReportID: reportID, IncidentID: inc.ID, CaseNumber: inc.CaseNumber, Mode: ModeSplit}
	return true, nil
}

func (s *Service) groupingRules() groupingRules {
	return groupingRules{PartWindow: s.cfg.AssemblyWindow, LocationWindow: s.cfg.FollowUpWindow, Distance: s.cfg.PartDistance}
}

// insertReport inserts a report of an existing incident; handover > 0
// gives it a processing hand-over time that far ahead of the database's
// clock (direct.go, handOverProcessing).
func (s *Service) insertReport(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, kind string, handover time.Duration) error {
	var lat, lon, alt *float64
	if in.Position != nil {
		lat, lon, alt = &in.Position.Lat, &in.Position.Lon, in.Position.Alt
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO reports (id, incident_id, case_number, kind, channel, address, sender,
		                     language, body, lat, lon, alt, position_source, urgent, received_at, attributes,
		                     processing_handover_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,
		        clock_timestamp() + $17::bigint * interval '1 millisecond')`,
		rec.ReportID, rec.IncidentID, rec.CaseNumber, kind, in.Channel, in.Address, in.Sender,
		in.Language, in.Text, lat, lon, alt, in.PositionSource, in.Urgent, now, nilIfEmpty(in.Attributes), handoverMillis(handover)); err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	return s.attach(ctx, tx, in, now, rec.ReportID)
}

// attach stores the message's idempotency key and media for a report.
func (s *Service) attach(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, reportID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (channel, sender, key, report_id, created_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT DO NOTHING`, in.Channel, in.Sender, in.IdempotencyKey, reportID, now)
	if err != nil {
		return fmt.Errorf("record idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errReplay
	}
	for _, m := range in.Media {
		if _, err := tx.Exec(ctx, `
			INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			mustV7(), reportID, m.Key, m.ContentType, m.Size, m.SHA256, now); err != nil {
			return fmt.Errorf("insert media object: %w", err)
		}
	}
	return nil
}

var errReplay = errors.New("idempotency key already used")

func (s *Service) validate(in *NewReport) error {
	in.Address = strings.ToLower(strings.TrimSpace(in.Address))
	if local, _, ok := strings.Cut(in.Address, "@"); ok {
		// The full address ("tiefbau@reports.stadt.example") names the same
		// function address, as in `fieldgate rules explain`.
		in.Address = local
	}
	if in.Address == "" {
		return newError(ErrInvalid, msg.Texts.MissingAddress)
	}
	rs := s.rules.Current()
	addr, ok := rs.Address(in.Address)
	if !ok {
		return newError(ErrNotFound, func(ts msg.Texts) string { return ts.UnknownAddress(in.Address, strings.Join(s.AddressNames(), ", ")) })
	}
	if in.Channel == ChannelXMPP && !addr.Allows(in.Sender) {
		return newError(ErrForbidden, func(ts msg.Texts) string { return ts.AddressNotAllowed(in.Address) })
	}
	if in.Channel != ChannelAPI && in.Channel != ChannelXMPP && in.Channel != ChannelOpen311 {
		return newError(ErrInvalid, func(ts msg.Texts) string { return ts.UnknownChannel(in.Channel) })
	}
	if in.Sender == "" {
		return newError(ErrInvalid, msg.Texts.MissingSender)
	}
	if !utf8.ValidString(in.Text) {
		return newError(ErrInvalid, msg.Texts.TextNotUTF8)
	}
	if strings.ContainsRune(in.Text, 0) {
		return newError(ErrInvalid, msg.Texts.TextHasNUL)
	}
	for k, v := range in.Attributes {
		if !utf8.ValidString(k+v) || strings.ContainsRune(k+v, 0) {
			return newError(ErrInvalid, func(ts msg.Texts) string { return ts.FieldBadText(k) })
		}
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxTextRunes {
		return newError(ErrInvalid, func(ts msg.Texts) string { return ts.TextTooLong(n, MaxTextRunes) })
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Media) == 0 && in.Position == nil {
		return newError(ErrInvalid, msg.Texts.EmptyReport)
	}
	if len(in.Media) > MaxMedia {
		return newError(ErrInvalid, func(ts msg.Texts) string { return ts.TooManyAttachments(len(in.Media), MaxMedia) })
	}
	if p := in.Position; p != nil {
		if !ValidPosition(p.Lat, p.Lon) {
			return newError(ErrInvalid, msg.Texts.PositionOutOfRange)
		}
		if in.PositionSource == "" {
			in.PositionSource = SourceAPI
		}
	} else {
		in.PositionSource = ""
	}
	switch in.Language {
	case "":
		in.Language = addr.Language
		if in.Language == "" {
			in.Language = "de"
		}
	case "de", "en":
	default:
		in.Language = "de"
	}
	if len(in.IdempotencyKey) > 200 {
		return newError(ErrInvalid, func(ts msg.Texts) string { return ts.IdempotencyKeyTooLong(200) })
	}
	if addr.Urgent {
		in.Urgent = true
	}
	return nil
}

// ValidPosition reports whether lat/lon is a usable WGS84 position. 0,0 is
// refused: it is what broken GPS chips and forms send, never a real report.
func ValidPosition(lat, lon float64) bool {
	if lat != lat || lon != lon { // NaN
		return false
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return false
	}
	return !(lat == 0 && lon == 0)
}

// AddressNames lists the function addresses, sorted.
func (s *Service) AddressNames() []string {
	var names []string
	for _, a := range s.rules.Current().Addresses() {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// idempotencyKeySQL finds the report of a channel's, sender's
// idempotency key ($1, $2, $3); scanIdempotencyKey reads its row.
const idempotencyKeySQL = `
	SELECT r.id, r.incident_id, r.case_number FROM idempotency_keys k JOIN reports r ON r.id = k.report_id
	WHERE k.channel = $1 AND k.sender = $2 AND k.key = $3`

func (s *Service) findByIdempotencyKey(ctx context.Context, q querier, in NewReport) (Receipt, error) {
	return scanIdempotencyKey(q.QueryRow(ctx, idempotencyKeySQL, in.Channel, in.Sender, in.IdempotencyKey))
}

// scanIdempotencyKey reads idempotencyKeySQL's row: the first receipt,
// Replayed, or ErrNotFound.
func scanIdempotencyKey(row pgx.Row) (Receipt, error) {
	var r Receipt
	err := row.Scan(&r.ReportID, &r.IncidentID, &r.CaseNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return Receipt{}, ErrNotFound
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("look up idempotency key: %w", err)
	}
	r.Replayed = true
	return r, nil
}

// insertEvent appends e to the incident's audit trail. Empty From/To
// mean "no state change" (stored as NULL).
func insertEvent(ctx context.Context, tx pgx.Tx, incident uuid.UUID, e Event) error {
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode event detail: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO incident_events (incident_id, at, kind, actor, via, from_state, to_state, detail)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, incident, e.At, e.Kind, e.Actor, e.Via, stateOrNil(e.From), stateOrNil(e.To), d); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// nilIfEmpty stores SQL NULL, not JSON null, for a report without
// structured fields.
func nilIfEmpty(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func priorityFor(urgent bool) string {
	if urgent {
		return "urgent"
	}
	return "normal"
}

func mustV7() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		// Only fails when the system's random source fails.
		panic(err)
	}
	return id
}
