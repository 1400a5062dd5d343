package dispatch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
)

// insertRouted opens the incident of a new report without attachments
// already routed, when the report is processed in this process
// (proc.Direct) and posted from here: the routing is decided before
// anything is written, so the incident, the report, its idempotency key,
// its trail and its room posts go to the database as one batch of
// statements (one round trip), and the timers and replies as one queue
// insert. It stores what routeAtIntake would, without the savepoint, the
// lock and the updates. It returns false, having written nothing, when the
// report takes the general way (insertNew): the rules fail, the report
// may be a duplicate, or posts cannot be sent from here. A messenger
// message that did not join the sender's previous case (prev) is told
// why in its reply.
//
// With tx nil (a report that is not a messenger message, so never grouped
// with others), the batch is its own transaction (implicit, committed
// with the batch: no round trip for the commit while the case number's
// counter row is held), and the escalation timer is queued just before
// it: deleted again if the server rolled the batch back (dropJobs); if
// the outcome is unknown (the connection broke) or the process dies in
// between, the timer waits for its incident a while, then ends.
func (s *Service) insertRouted(ctx context.Context, tx pgx.Tx, in *NewReport, now time.Time, rec *Receipt, why grouping, prev string, proc *processing) (bool, error) {
	if !proc.Direct || len(in.Media) > 0 || !s.canPostDirect() || (tx == nil && in.Channel == ChannelXMPP) {
		return false, nil
	}
	var q interface {
		rowQuerier
		batchSender
	} = s.pool
	if tx != nil {
		q = tx
	}
	rep := Report{ID: mustV7(), IncidentID: mustV7(), Kind: "report",
		Channel: in.Channel, Address: in.Address, Sender: in.Sender, Language: in.Language, Text: in.Text,
		Position: in.Position, PositionSource: in.PositionSource, Urgent: in.Urgent, ReceivedAt: now}
	plan, err := s.planRoute(rep, rep.Position)
	if err != nil {
		return false, nil // routeAtIntake logs it
	}
	rs, dec, team := plan.rs, plan.dec, plan.team
	if s.cfg.DuplicateDistance > 0 && rep.Position != nil {
		dup, _, err := s.findDuplicate(ctx, q, team.ID, cmp.Or(dec.Category, team.ID), *rep.Position, now, rep.IncidentID,
			reporter{rep.Channel, rep.Sender}, why.Reason == ReasonReporterNew)
		if err != nil {
			return false, err
		}
		if dup != uuid.Nil {
			return false, nil // mergeDuplicate merges it
		}
	}
	state := StateReceived
	events := []Event{
		{At: now, Kind: "received", Actor: in.Sender, Via: in.Channel, To: StateReceived, Detail: receivedDetail(in, why, prev)},
		{At: now, Kind: "routed", Actor: "fieldgate", Via: "rules", Detail: map[string]any{
			"team": team.ID, "rule": dec.Rule, "priority": plan.priority, "district": dec.District,
			"rules_version": rs.Version(), "position_source": rep.PositionSource,
		}},
	}
	if rep.Channel == ChannelXMPP && rep.Position == nil {
		// Routed by the rules that need no position, posted, and the
		// sender is asked; a location sent later completes it.
		state = StateNeedsLocation
		events = append(events, Event{At: now, Kind: "location_requested", Actor: "fieldgate", Via: "xmpp", From: StateReceived, To: StateNeedsLocation})
	}

	// The escalation timer. Due later than exactTimerHorizon (the usual
	// case: minutes), it is armed on the incident row the batch writes
	// (escalation_handover.go). Due sooner, it is queued before the
	// batch: the batch draws the case number, whose counter row every
	// intake waits for until this transaction commits, so nothing but the
	// commit (and, in the same round trip, the messenger report's reply,
	// which names the case number) may follow it; for a messenger report
	// the timer is queued after the batch.
	var timers []river.InsertManyParams
	var queuedBefore []int64 // jobs committed before the batch
	var armed *time.Time
	if pol, ok := rs.Policy(dec.Policy); ok && len(pol.Levels) > 0 {
		due := now.Add(pol.Levels[0].After)
		if armOnIncident(pol.Levels[0].After) {
			armed = &due
		} else {
			a := escalateArgs{IncidentID: rep.IncidentID, Round: 1}
			opts := a.InsertOpts()
			opts.ScheduledAt = due
			timers = append(timers, river.InsertManyParams{Args: a, InsertOpts: &opts})
		}
	}
	switch {
	case rep.Channel == ChannelXMPP:
	case len(timers) > 0 && tx == nil:
		res, err := s.queue.InsertMany(ctx, timers)
		if err != nil {
			return false, fmt.Errorf("enqueue escalation: %w", err)
		}
		for _, r := range res {
			queuedBefore = append(queuedBefore, r.Job.ID)
		}
	case len(timers) > 0:
		if _, err := s.queue.InsertManyTx(ctx, tx, timers); err != nil {
			return false, fmt.Errorf("enqueue escalation: %w", err)
		}
	}

	// One batch (one round trip); in a transaction, the case number is
	// drawn last (queueIncident).
	var b pgx.Batch
	var caseNumber string
	queueKeyLock(&b, in)
	s.queueIncident(&b, openIncident{ID: rep.IncidentID, State: state, Address: in.Address, Team: team.ID, Priority: plan.priority,
		Policy: dec.Policy, Rule: dec.Rule, District: dec.District, Category: dec.Category, Escalating: true, EscalationDue: armed}, now, tx == nil, &caseNumber)
	queueReport(&b, in, rep.ID, rep.IncidentID, "report", now, true, 0)
	_ = queueAttach(&b, in, now, rep.ID) // no media here
	sql, args, err := eventsInsert(rep.IncidentID, events)
	if err != nil {
		return false, err
	}
	b.Queue(sql, args...)
	var posts []*pendingPost
	for _, room := range postRooms(rs, team, dec) {
		posts = append(posts, s.queueDirectPost(&b, rep.IncidentID, room))
	}
	if tx != nil {
		s.queueCaseNumber(&b, rep.IncidentID, rep.ID, now, &caseNumber)
	}
	var reply *queuedChat
	if rep.Channel == ChannelXMPP {
		// The reply, written in the same round trip, after the case
		// number's draw (outbox.go: sent right after the commit).
		token := pendingCaseNumber(rep.IncidentID)
		text := acceptedText(rep.Language, token, team, dec.District)
		if prev != "" {
			// Why it did not join the sender's previous case, in the
			// same message.
			text = notJoinedText(rep.Language, why, prev, token) + "\n" + text
		}
		if rep.Position == nil {
			text += "\n" + msg.For(rep.Language).NeedLocation(token)
		}
		reply = s.queueChatRow(&b, tx, rep.Address, rep.Sender, text, token, rep.IncidentID)
	}
	if tx == nil {
		err = s.intakes.send(ctx, &b) // with concurrent intakes' (groupcommit.go)
	} else {
		err = sendBatch(ctx, tx, &b)
	}
	if err != nil {
		if batchRolledBack(err) {
			s.dropJobs(ctx, queuedBefore)
		}
		return false, err
	}
	if reply != nil {
		if err := s.addQueuedChat(ctx, tx, reply); err != nil {
			return false, err
		}
		if len(timers) > 0 {
			if _, err := s.queue.InsertManyTx(ctx, tx, timers); err != nil {
				return false, fmt.Errorf("enqueue escalation: %w", err)
			}
		}
	}
	rep.CaseNumber = caseNumber
	rec.ReportID, rec.IncidentID, rec.CaseNumber, rec.Mode = rep.ID, rep.IncidentID, caseNumber, ModeNew
	proc.Routed = &routedAtIntake{rep: rep, plan: plan, posts: posts}
	return true, nil
}

// openIncident is a new incident as queueIncident inserts it; Team ""
// leaves it unrouted, Escalating starts its first escalation round now,
// EscalationDue (if set) arms the round's first step on the incident
// (escalation_handover.go).
type openIncident struct {
	ID                               uuid.UUID
	State                            State
	Address, Team, Priority          string
	Policy, Rule, District, Category string
	Escalating                       bool
	EscalationDue                    *time.Time
}

// queueIncident queues the insert of a new incident. With drawNow its
// case number is drawn in the same statement and scanned into caseNumber:
// for a batch that is its own transaction, where the commit follows the
// batch's last statement on the server, without a round trip. Otherwise
// it is a placeholder until queueCaseNumber, which must then be the
// batch's last statement.
func (s *Service) queueIncident(b *pgx.Batch, inc openIncident, now time.Time, drawNow bool, caseNumber *string) {
	var team *string
	if inc.Team != "" {
		team = &inc.Team
	}
	round := 0
	var started *time.Time
	if inc.Escalating {
		round, started = 1, &now
	}
	if !drawNow {
		b.Queue(`
			INSERT INTO incidents (id, case_number, state, address, team, priority, policy, rule, district, category,
			                       escalation_round, escalation_started_at, escalation_due_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $13, $13)`,
			inc.ID, pendingCaseNumber(inc.ID), string(inc.State), inc.Address, team, inc.Priority,
			inc.Policy, inc.Rule, inc.District, inc.Category, round, started, now, inc.EscalationDue)
		return
	}
	b.Queue(`
		WITH c AS (
			INSERT INTO case_counters (year, last) VALUES ($1, 1)
			ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1
			RETURNING last
		)
		INSERT INTO incidents (id, case_number, state, address, team, priority, policy, rule, district, category,
		                       escalation_round, escalation_started_at, escalation_due_at, created_at, updated_at)
		SELECT $2, `+caseNumberSQL+`, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $13, $13
		FROM c RETURNING case_number`,
		now.In(s.cfg.TimeZone).Year(), inc.ID, string(inc.State), inc.Address, team, inc.Priority,
		inc.Policy, inc.Rule, inc.District, inc.Category, round, started, now, inc.EscalationDue,
	).QueryRow(func(row pgx.Row) error { return row.Scan(caseNumber) })
}

// caseNumberSQL formats year $1 and the counter c.last as a case number
// (2026-000042; more digits past 999999).
const caseNumberSQL = `$1::text || '-' || CASE WHEN c.last < 1000000 THEN lpad(c.last::text, 6, '0') ELSE c.last::text END`

// pendingCaseNumber stands in for a new incident's case number within its
// intake transaction, until queueCaseNumber draws it.
func pendingCaseNumber(incident uuid.UUID) string { return "pending-" + incident.String() }

// queueCaseNumber queues the draw of the next case number of now's year (in
// Config.TimeZone) for a new incident and its report, scanned into
// caseNumber. Case numbers have no gaps, so every intake waits for the
// counter row until the transaction before it commits: this is the
// batch's last statement but for the statements that need the number in
// the same round trip (a messenger report's reply), and only the commit
// may follow the batch.
func (s *Service) queueCaseNumber(b *pgx.Batch, incident, report uuid.UUID, now time.Time, caseNumber *string) {
	b.Queue(`
		WITH c AS (
			INSERT INTO case_counters (year, last) VALUES ($1, 1)
			ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1
			RETURNING last
		), i AS (
			UPDATE incidents SET case_number = `+caseNumberSQL+`
			FROM c WHERE id = $2 RETURNING case_number
		)
		UPDATE reports r SET case_number = i.case_number FROM i WHERE r.id = $3 RETURNING i.case_number`,
		now.In(s.cfg.TimeZone).Year(), incident, report,
	).QueryRow(func(row pgx.Row) error { return row.Scan(caseNumber) })
}

// queueReport queues the insert of a report of a new incident, with the
// incident's case number (or its placeholder); processed marks it
// processed now; handover > 0 gives it a processing hand-over time that
// far ahead of the database's clock (direct.go, handOverProcessing).
func queueReport(b *pgx.Batch, in *NewReport, id, incident uuid.UUID, kind string, now time.Time, processed bool, handover time.Duration) {
	var lat, lon, alt *float64
	if in.Position != nil {
		lat, lon, alt = &in.Position.Lat, &in.Position.Lon, in.Position.Alt
	}
	var processedAt *time.Time
	if processed {
		processedAt = &now
	}
	b.Queue(`
		INSERT INTO reports (id, incident_id, case_number, kind, channel, address, sender,
		                     language, body, lat, lon, alt, position_source, urgent, received_at, attributes, processed_at,
		                     processing_handover_at)
		SELECT $1, $2, i.case_number, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
		       clock_timestamp() + $17::bigint * interval '1 millisecond'
		FROM incidents i WHERE i.id = $2`,
		id, incident, kind, in.Channel, in.Address, in.Sender,
		in.Language, in.Text, lat, lon, alt, in.PositionSource, in.Urgent, now, nilIfEmpty(in.Attributes), processedAt, handoverMillis(handover))
}

// handoverMillis is a processing hand-over delay as the statements that
// write it take it: milliseconds after the database's clock_timestamp(),
// nil (no hand-over time) for 0.
func handoverMillis(handover time.Duration) *int64 {
	if handover <= 0 {
		return nil
	}
	ms := handover.Milliseconds()
	return &ms
}

// queueAttach queues attach's statements: the message's idempotency key
// (errReplay from sendBatch if it was used before: the batch fails) and
// its media, whose rows it returns.
func queueAttach(b *pgx.Batch, in *NewReport, now time.Time, reportID uuid.UUID) []MediaObject {
	// A used key fails the statement on the server, so that the whole
	// batch is rolled back there even where it is its own (implicit)
	// transaction; sendBatch turns the violation into errReplay.
	b.Queue(`INSERT INTO idempotency_keys (channel, sender, key, report_id, created_at) VALUES ($1,$2,$3,$4,$5)`,
		in.Channel, in.Sender, in.IdempotencyKey, reportID, now)
	var rows []MediaObject
	for _, m := range in.Media {
		id := mustV7()
		b.Queue(`
			INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			id, reportID, m.Key, m.ContentType, m.Size, m.SHA256, now)
		rows = append(rows, MediaObject{ID: id, Object: m})
	}
	return rows
}

// queueKeyLock queues, as a batch's first statements, a lock on the
// message's idempotency key until the commit, and the key's check: a used
// key fails the batch there (errReplay), before the case number is drawn,
// so that a retry neither waits for the case counter nor holds it (the
// statement re-inserts the key's own row, a unique violation, only if it
// exists). It is for channels whose new reports may be stored either by
// a batch that is its own transaction (the case number drawn first, then
// the key written) or in a transaction (the key written, then the case
// number drawn last): without the lock, two
// attempts with one key, one on each path, would wait for each other (a
// deadlock, and one attempt failed instead of answered with the other's
// receipt). Messenger messages are only stored in transactions, and a
// generated key is never retried.
func queueKeyLock(b *pgx.Batch, in *NewReport) {
	if in.Channel == ChannelXMPP || strings.HasPrefix(in.IdempotencyKey, "generated:") {
		return
	}
	b.Queue(keyLockSQL, in.Channel+"\n"+in.Sender+"\n"+in.IdempotencyKey)
	b.Queue(keyCheckSQL, in.Channel, in.Sender, in.IdempotencyKey)
}

// keyLockSQL and keyCheckSQL are queueKeyLock's statements (a group takes
// its batches' key locks first, groupcommit.go).
const (
	keyLockSQL  = `SELECT pg_advisory_xact_lock(hashtextextended($1, 1))`
	keyCheckSQL = `INSERT INTO idempotency_keys (channel, sender, key, report_id, created_at)
		SELECT channel, sender, key, report_id, created_at FROM idempotency_keys
		WHERE channel = $1 AND sender = $2 AND key = $3`
)

// dropJobs deletes jobs queued just before a batch that failed (a
// replay): they would find nothing. Best effort: a job left over waits
// for its incident or report a while, then ends.
func (s *Service) dropJobs(ctx context.Context, ids []int64) {
	for _, id := range ids {
		if _, err := s.queue.JobDelete(context.WithoutCancel(ctx), id); err != nil {
			s.log.WarnContext(ctx, "job of a report not stored left in the queue; it ends by itself", "job", id, "err", err)
		}
	}
}

// poolBatchTimeout bounds a batch that is its own transaction (sent by
// Service.intakes, groupcommit.go). Such a batch runs to its end even if
// its caller's context ends (the client hung up): once sent, it may commit
// on the server while its answer is lost, and then its report is accepted,
// but the caller would take it for failed.
const poolBatchTimeout = 30 * time.Second

// batchRolledBack reports whether a batch's error says that the server
// rolled it back (a statement failed: a replay, a constraint), so that
// jobs queued for it may be deleted. Any other error (the connection
// broke, a context ended) leaves the outcome unknown: the batch may have
// committed, and its jobs must stay (a job that finds nothing ends by
// itself after orphanTimerGrace).
func batchRolledBack(err error) bool {
	if errors.Is(err, errMaybeStoredByGroup) {
		return false // groupcommit.go: the group may have committed it
	}
	var pe *pgconn.PgError
	return errors.Is(err, errReplay) || errors.As(err, &pe)
}

// batchSender sends a batch: a transaction, or the pool (then the batch
// is one implicit transaction, committed at its end).
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// sendBatch sends b as one round trip; a used idempotency key is errReplay.
func sendBatch(ctx context.Context, q batchSender, b *pgx.Batch) error {
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "idempotency_keys" {
			return errReplay
		}
		return fmt.Errorf("insert report: %w", err)
	}
	return nil
}

// receivedDetail is the detail of a new report's "received" event.
func receivedDetail(in *NewReport, why grouping, prev string) map[string]any {
	detail := map[string]any{"address": in.Address, "media": len(in.Media), "grouping": why.Reason}
	if prev != "" {
		detail["not_joined"] = prev
	}
	if why.DistanceM > 0 {
		detail["distance_m"] = int(why.DistanceM)
	}
	return detail
}

// eventsInsert is one INSERT of an incident's events, in their order.
func eventsInsert(incident any, events []Event) (string, []any, error) {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO incident_events (incident_id, at, kind, actor, via, from_state, to_state, detail) VALUES `)
	args := []any{incident}
	for i, e := range events {
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		d, err := json.Marshal(detail)
		if err != nil {
			return "", nil, fmt.Errorf("encode event detail: %w", err)
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "($1, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, e.At, e.Kind, e.Actor, e.Via, stateOrNil(e.From), stateOrNil(e.To), d)
	}
	return sb.String(), args, nil
}

func stateOrNil(s State) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}
