package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/fieldgate/fieldgate/routing"
)

// Escalation
//
// An incident with an escalation policy escalates in rounds. Routing starts
// round 1; an acknowledged incident that passes its policy's ack timeout,
// a reassignment and an unmerge start the next round. A round is a chain of
// scheduled jobs, one per step: step (level, repeat) is due at the round's
// origin + level.After + repeat·level.RepeatEvery. A round's first step
// due later than exactTimerHorizon is first armed on the incident row and
// queued by a replica's hand-over about a minute before it is due
// (escalation_handover.go): a new report costs no queue insert. Each job is unique by
// (incident, round, level, repeat), so however many replicas insert it,
// it exists once; its worker locks the incident row, re-checks that the
// incident is still open, unacknowledged and in the same round, sends the
// alerts through the durable message queue, inserts the next step and
// completes itself, all in one transaction. A crash before the commit
// leaves the job to be rescued and retried (Config.RescueStuckJobsAfter);
// a crash after it leaves nothing to redo. An acknowledgement needs no
// cancellation: the next step finds the incident acknowledged and ends the
// chain. Under a policy with two confirmers the first "ok" leaves the
// state as it was (only the owner is set), so the steps go on until the
// second confirmation acknowledges the incident.

// escalateArgs is one step of an incident's escalation.
type escalateArgs struct {
	IncidentID uuid.UUID `json:"incident_id" river:"unique"`
	Round      int       `json:"round" river:"unique"`
	Level      int       `json:"level" river:"unique"`  // index into Policy.Levels
	Repeat     int       `json:"repeat" river:"unique"` // 0 = the level's first alert
}

func (escalateArgs) Kind() string { return "escalate" }
func (escalateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueEscalation, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ackTimeoutArgs checks, when an acknowledgement's policy time is up,
// whether the incident is resolved; if not it returns to unacknowledged.
type ackTimeoutArgs struct {
	IncidentID uuid.UUID `json:"incident_id" river:"unique"`
	Round      int       `json:"round" river:"unique"`
}

func (ackTimeoutArgs) Kind() string { return "ack_timeout" }
func (ackTimeoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueEscalation, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type escalateWorker struct {
	river.WorkerDefaults[escalateArgs]
	s *Service
}

func (w *escalateWorker) Work(ctx context.Context, job *river.Job[escalateArgs]) error {
	err := w.s.escalate(ctx, job)
	if errors.Is(err, errIncidentNotYet) {
		return river.JobSnooze(500 * time.Millisecond)
	}
	return err
}

type ackTimeoutWorker struct {
	river.WorkerDefaults[ackTimeoutArgs]
	s *Service
}

func (w *ackTimeoutWorker) Work(ctx context.Context, job *river.Job[ackTimeoutArgs]) error {
	return w.s.ackTimeout(ctx, job)
}

// startEscalation begins a new escalation round for the incident under
// policy (which may be "" or unknown: then the round only ends any earlier
// chain). With immediate set the first level is due now instead of after
// its delay, and later levels keep their spacing to it.
func (s *Service) startEscalation(ctx context.Context, tx pgx.Tx, incident uuid.UUID, policy string, now time.Time, immediate bool) error {
	pol, ok := s.rules.Current().Policy(policy)
	origin := now
	if ok && immediate && len(pol.Levels) > 0 {
		origin = now.Add(-pol.Levels[0].After)
	}
	// The first step is armed on the incident if it is due later than
	// exactTimerHorizon (escalation_handover.go), else queued now; a step
	// armed for the previous round is disarmed either way.
	steps := ok && len(pol.Levels) > 0
	var armed *time.Time
	if steps && armOnIncident(origin.Add(pol.Levels[0].After).Sub(now)) {
		due := origin.Add(pol.Levels[0].After)
		armed = &due
	}
	var round int
	if err := tx.QueryRow(ctx, `
		UPDATE incidents SET escalation_round = escalation_round + 1, escalation_started_at = $2, escalation_due_at = $3
		WHERE id = $1 RETURNING escalation_round`, incident, origin, armed).Scan(&round); err != nil {
		return fmt.Errorf("start escalation round: %w", err)
	}
	if !steps || armed != nil {
		return nil
	}
	return s.enqueueStep(ctx, tx, escalateArgs{IncidentID: incident, Round: round}, origin.Add(pol.Levels[0].After))
}

func (s *Service) enqueueStep(ctx context.Context, tx pgx.Tx, a escalateArgs, at time.Time) error {
	opts := a.InsertOpts()
	opts.ScheduledAt = at
	if _, err := s.queue.InsertTx(ctx, tx, a, &opts); err != nil {
		return fmt.Errorf("schedule escalation: %w", err)
	}
	return nil
}

// nextStep is the step after a within pol, and when it is due.
func nextStep(pol routing.Policy, a escalateArgs, origin time.Time) (escalateArgs, time.Time, bool) {
	lv := pol.Levels[a.Level]
	if a.Repeat < lv.Repeat {
		a.Repeat++
		return a, origin.Add(lv.After + time.Duration(a.Repeat)*lv.RepeatEvery), true
	}
	if a.Level+1 >= len(pol.Levels) {
		return a, time.Time{}, false
	}
	a.Level, a.Repeat = a.Level+1, 0
	return a, origin.Add(pol.Levels[a.Level].After), true
}

// lockIncident loads and row-locks an incident with its escalation round.
func lockIncident(ctx context.Context, tx pgx.Tx, id uuid.UUID) (inc Incident, round int, origin time.Time, err error) {
	inc, err = scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return inc, 0, origin, err
	}
	var o *time.Time
	if err := tx.QueryRow(ctx, `SELECT escalation_round, escalation_started_at FROM incidents WHERE id = $1`, id).Scan(&round, &o); err != nil {
		return inc, 0, origin, fmt.Errorf("load escalation round: %w", err)
	}
	if o != nil {
		origin = *o
	}
	return inc, round, origin, nil
}

// escalate works one step. Everything it does, including completing the
// job, commits in one transaction.
// orphanTimerGrace is how long after its creation an escalation step
// waits for an incident it does not find: its batch may not have
// committed yet (insertRouted queues the job just before it, and the
// batch is given up after poolBatchTimeout;
// one that failed deletes it, dropJobs). After that the incident is gone
// (retention) or was never stored (its process died between the two, or
// the database went away with the batch's outcome unknown), and the job
// ends. The margin covers clocks that disagree by some seconds (the job's
// creation is the database's, now the process's).
const orphanTimerGrace = poolBatchTimeout + 10*time.Second

var errIncidentNotYet = errors.New("incident not committed yet")

func (s *Service) escalate(ctx context.Context, job *river.Job[escalateArgs]) error {
	a := job.Args
	now := s.now()
	var fired bool
	var firedPolicy string
	// Who is on call is looked up before the row lock is taken (from
	// memory: calendars are fetched by their own loop, never here).
	onCall := s.onCallBeforeLock(ctx, s.rules.Current(), a, now)
	err := s.withJobTx(ctx, func(tx pgx.Tx) error {
		inc, round, origin, err := lockIncident(ctx, tx, a.IncidentID)
		if errors.Is(err, ErrNotFound) && time.Since(job.CreatedAt) < orphanTimerGrace {
			// The timer of a report routed at intake is queued just
			// before its incident's batch commits (insertRouted).
			return errIncidentNotYet
		}
		if errors.Is(err, ErrNotFound) { // deleted by retention, or never committed
			return completeTx(ctx, tx, job)
		}
		if err != nil {
			return err
		}
		if round != a.Round || !inc.State.Open() || inc.State == StateAcknowledged {
			return completeTx(ctx, tx, job)
		}
		rs := s.rules.Current()
		pol, ok := rs.Policy(inc.Policy)
		if !ok || a.Level >= len(pol.Levels) {
			return completeTx(ctx, tx, job) // the policy changed under us
		}
		targets, err := s.alert(ctx, tx, rs, inc, pol, a, now.Sub(inc.CreatedAt), onCall)
		if err != nil {
			return err
		}
		if _, err := setState(ctx, tx, inc.ID, inc.State, StateEscalated, now, `, escalation_level = $5`, a.Level+1); err != nil {
			return fmt.Errorf("mark escalated: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "escalated", Actor: "fieldgate", Via: "escalation", From: inc.State, To: StateEscalated, Detail: map[string]any{
			"level": a.Level + 1, "repeat": a.Repeat, "round": a.Round, "policy": pol.Name, "targets": targets,
			"due": job.ScheduledAt.UTC(), "late_ms": now.Sub(job.ScheduledAt).Milliseconds(),
		}}); err != nil {
			return err
		}
		if next, at, ok := nextStep(pol, a, origin); ok {
			if err := s.enqueueStep(ctx, tx, next, at); err != nil {
				return err
			}
		}
		fired, firedPolicy = true, pol.Name
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("escalate: %w", err)
	}
	if fired {
		s.metric.escalated(firedPolicy, a.Level+1)
		s.log.InfoContext(ctx, "escalated", "incident", a.IncidentID, "level", a.Level+1, "repeat", a.Repeat,
			"late", now.Sub(job.ScheduledAt))
	}
	return nil
}

// completeTx completes the running job in tx, so that the job's effects
// and its completion commit or roll back together.
func completeTx[T river.JobArgs](ctx context.Context, tx pgx.Tx, job *river.Job[T]) error {
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("complete job: %w", err)
	}
	return nil
}

// alert sends one level's messages and records who was alerted; it returns
// the targets for the audit trail.
func (s *Service) alert(ctx context.Context, tx pgx.Tx, rs *routing.RuleSet, inc Incident, pol routing.Policy, a escalateArgs, age time.Duration, onCall onCallAnswers) ([]string, error) {
	team, _ := rs.Team(inc.Team)
	lang := cmp.Or(team.Language, "de")
	teamName := cmp.Or(team.Name, inc.Team)
	n := caseSeq(inc.CaseNumber)
	since := fmtDuration(lang, age)
	summary, err := s.summary(ctx, tx, inc, lang)
	if err != nil {
		return nil, err
	}
	if inc.Owner != "" && inc.State != StateAcknowledged {
		// Two-person policy: one has confirmed, the second is missing.
		summary += "\n" + msg.For(lang).EscSecondMissing(inc.Owner)
	}
	var done []string
	lookup := func(sched routing.Schedule) (string, bool) {
		if who, looked := onCall[sched.Name]; looked {
			return who, true
		}
		// The incident moved to another team since the look-up before the lock.
		return s.onCallAt(ctx, rs, sched, s.now())
	}
	for _, t := range planAlerts(rs, inc, pol.Levels[a.Level], lookup) {
		if t.Note != "" {
			done = append(done, t.Note)
		}
		if t.JID == "" {
			continue
		}
		switch t.Kind {
		case alertReminder:
			err = s.enqueueRoomPost(ctx, tx, inc.ID, t.JID, msg.For(lang).EscReminder(inc.CaseNumber, since, n))
		case alertNobodyOnCall:
			err = s.enqueueRoomPost(ctx, tx, inc.ID, t.JID, msg.For(lang).EscNobody(inc.CaseNumber, a.Level+1, t.Schedule))
		case alertTeamRoom:
			olang := cmp.Or(t.Language, "de")
			err = s.enqueueRoomPost(ctx, tx, inc.ID, t.JID, msg.For(olang).EscRoom(a.Level+1, inc.CaseNumber, teamName, fmtDuration(olang, age), summary, n))
		case alertPerson:
			err = s.enqueueChatFor(ctx, tx, inc.ID, inc.Address, t.JID, msg.For(lang).EscChat(a.Level+1, inc.CaseNumber, teamName, since, summary, n))
		}
		if err != nil {
			return nil, err
		}
		if t.Kind == alertPerson {
			done = append(done, "person:"+t.JID)
		} else {
			done = append(done, "room:"+t.JID)
		}
		if t.Record {
			if err := recordAlert(ctx, tx, inc.ID, t.JID, t.Kind.recorded(), a.Level+1, s.now()); err != nil {
				return nil, err
			}
		}
	}
	return done, nil
}

// Kinds of alertTarget.
const (
	alertReminder     alertKind = iota // a reminder in the incident's own team room
	alertTeamRoom                      // the alert in a team's room (policy target "team")
	alertPerson                        // a 1:1 alert (policy target "person", or the on-call person)
	alertNobodyOnCall                  // nobody is on call: said in the team's room
	alertMissing                       // a target that does not exist: only noted
)

type alertKind int

// recorded is the kind stored with a delivery-evidence alert row.
func (k alertKind) recorded() string {
	if k == alertPerson {
		return "person"
	}
	return "room"
}

// alertTarget is one recipient of an escalation level.
type alertTarget struct {
	Kind     alertKind
	JID      string // lower case; "" when nothing is sent (alertMissing, or a room already alerted)
	Language string // of the team whose room it is (alertTeamRoom)
	Schedule string // the schedule nobody is on call for (alertNobodyOnCall)
	// Record says whether the alert is kept as an alert row (delivery
	// evidence): people, and rooms of other teams.
	Record bool
	// Note is the audit-trail entry for a target that could not be
	// alerted: "missing:team:<id>", "nobody_on_call:<schedule>".
	Note string
}

// planAlerts lists whom one escalation level alerts for inc, in the
// order of the level's targets, each room or person once. onCall answers
// who is on call under a schedule now. It does no I/O.
func planAlerts(rs *routing.RuleSet, inc Incident, lv routing.Level, onCall func(routing.Schedule) (string, bool)) []alertTarget {
	team, _ := rs.Team(inc.Team)
	var out []alertTarget
	seen := map[string]bool{}
	add := func(t alertTarget) {
		t.JID = strings.ToLower(t.JID)
		if t.JID == "" || seen[t.JID] {
			if t.Note == "" {
				return // nothing to send, nothing to note
			}
			t.JID, t.Record = "", false
		}
		seen[t.JID] = t.JID != ""
		out = append(out, t)
	}
	for _, tg := range lv.Targets {
		switch tg.Kind {
		case "room":
			add(alertTarget{Kind: alertReminder, JID: team.Room})
		case "team":
			other, ok := rs.Team(tg.Ref)
			if !ok || other.Room == "" {
				out = append(out, alertTarget{Kind: alertMissing, Note: "missing:team:" + tg.Ref})
				continue
			}
			add(alertTarget{Kind: alertTeamRoom, JID: other.Room, Language: other.Language, Record: !strings.EqualFold(other.Room, team.Room)})
		case "oncall":
			name := cmp.Or(tg.Ref, team.OnCall)
			sched, ok := rs.Schedule(name)
			who := ""
			if ok {
				who, ok = onCall(sched)
			}
			if !ok || who == "" {
				add(alertTarget{Kind: alertNobodyOnCall, JID: team.Room, Schedule: name, Note: "nobody_on_call:" + name})
				continue
			}
			add(alertTarget{Kind: alertPerson, JID: who, Record: true})
		case "person":
			add(alertTarget{Kind: alertPerson, JID: tg.Ref, Record: true})
		}
	}
	return out
}

func recordAlert(ctx context.Context, tx pgx.Tx, incident uuid.UUID, target, kind string, level int, at time.Time) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO incident_alerts (incident_id, target, kind, level, at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (incident_id, target) DO UPDATE SET level = excluded.level, at = excluded.at`,
		incident, target, kind, level, at); err != nil {
		return fmt.Errorf("record alert: %w", err)
	}
	return nil
}

// summary is the one-paragraph description of an incident for alerts and
// hand-overs: the report text (shortened), the district and a map link.
func (s *Service) summary(ctx context.Context, q querier, inc Incident, lang string) (string, error) {
	var body string
	var lat, lon *float64
	err := q.QueryRow(ctx, `SELECT body, lat, lon FROM reports WHERE incident_id = $1 AND kind = 'report' ORDER BY received_at LIMIT 1`,
		inc.ID).Scan(&body, &lat, &lon)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("load report for summary: %w", err)
	}
	var parts []string
	if b := strings.TrimSpace(body); b != "" {
		parts = append(parts, shorten(b, 200))
	}
	if lat != nil && lon != nil {
		la, lo := strconv.FormatFloat(*lat, 'f', 6, 64), strconv.FormatFloat(*lon, 'f', 6, 64)
		loc := "📍 "
		if inc.District != "" {
			loc += msg.For(lang).DistrictLabel(inc.District) + " · "
		}
		parts = append(parts, loc+"https://www.openstreetmap.org/?mlat="+la+"&mlon="+lo+"#map=18/"+la+"/"+lo)
	}
	return strings.Join(parts, "\n"), nil
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fmtDuration renders a delay as people say it: "45 Sek.", "30 Min.", "2 Std. 5 Min.".
func fmtDuration(lang string, d time.Duration) string {
	sec, mins, hours := msg.For(lang).UnitS(), msg.For(lang).UnitMin(), msg.For(lang).UnitH()
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d %s", int(d.Seconds()), sec)
	case d < time.Hour:
		return fmt.Sprintf("%d %s", int(d.Minutes()), mins)
	default:
		h := int(d.Hours())
		m := int(d.Minutes()) % 60
		if m == 0 {
			return fmt.Sprintf("%d %s", h, hours)
		}
		return fmt.Sprintf("%d %s %d %s", h, hours, m, mins)
	}
}

// scheduleAckTimeout arms the policy's ack timeout for an incident that
// was just acknowledged (in tx, at now).
func (s *Service) scheduleAckTimeout(ctx context.Context, tx pgx.Tx, inc Incident, now time.Time) error {
	pol, ok := s.rules.Current().Policy(inc.Policy)
	if !ok || pol.AckTimeout <= 0 {
		return nil
	}
	var round int
	if err := tx.QueryRow(ctx, `SELECT escalation_round FROM incidents WHERE id = $1`, inc.ID).Scan(&round); err != nil {
		return fmt.Errorf("load escalation round: %w", err)
	}
	a := ackTimeoutArgs{IncidentID: inc.ID, Round: round}
	opts := a.InsertOpts()
	opts.ScheduledAt = now.Add(pol.AckTimeout)
	if _, err := s.queue.InsertTx(ctx, tx, a, &opts); err != nil {
		return fmt.Errorf("schedule ack timeout: %w", err)
	}
	return nil
}

// ackTimeout returns an incident that is still acknowledged but not
// resolved in the same round to unacknowledged and escalates it again,
// starting with the policy's first level at once.
func (s *Service) ackTimeout(ctx context.Context, job *river.Job[ackTimeoutArgs]) error {
	a := job.Args
	now := s.now()
	return s.withJobTx(ctx, func(tx pgx.Tx) error {
		inc, round, _, err := lockIncident(ctx, tx, a.IncidentID)
		if errors.Is(err, ErrNotFound) {
			return completeTx(ctx, tx, job)
		}
		if err != nil {
			return err
		}
		if round != a.Round || inc.State != StateAcknowledged {
			return completeTx(ctx, tx, job)
		}
		rs := s.rules.Current()
		team, _ := rs.Team(inc.Team)
		lang := cmp.Or(team.Language, "de")
		held := now.Sub(inc.CreatedAt)
		if inc.AcknowledgedAt != nil {
			held = now.Sub(*inc.AcknowledgedAt)
		}
		if _, err := setState(ctx, tx, inc.ID, StateAcknowledged, StateRouted, now, `, owner = NULL, acknowledged_at = NULL`); err != nil {
			return fmt.Errorf("release incident: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "ack_timeout", Actor: "fieldgate", Via: "escalation", From: StateAcknowledged, To: StateRouted, Detail: map[string]any{"owner": inc.Owner, "held_s": int(held.Seconds()), "round": a.Round}}); err != nil {
			return err
		}
		if team.Room != "" {
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room,
				msg.For(lang).AckTimeoutRoom(inc.CaseNumber, inc.Owner, fmtDuration(lang, held), caseSeq(inc.CaseNumber))); err != nil {
				return err
			}
		}
		if strings.Contains(inc.Owner, "@") {
			if err := s.enqueueChat(ctx, tx, inc.Address, inc.Owner, msg.For(lang).AckTimeoutOwner(inc.CaseNumber, fmtDuration(lang, held))); err != nil {
				return err
			}
		}
		if err := s.startEscalation(ctx, tx, inc.ID, inc.Policy, now, true); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
}

// checkActor decides whether actor (a bare JID, or "token:<name>" for the
// API) may act on inc from where the command came:
//   - a dispatcher always;
//   - in the incident's team room, only a member of the incident's current
//     team: a room shared by several teams (the demo's jugendamt and
//     jugendamt-bereitschaft) does not let one team act on the other's
//     cases, and two people of the other team cannot satisfy a two-person
//     rule;
//   - in a room that was alerted for it (a higher room), a member of a team
//     that uses that room;
//   - in a 1:1 chat, a member of the incident's team or a person who was
//     alerted for it (e.g. the on-call person answering the alert).
//
// API callers are authorised by the API edge. A refusal is ErrForbidden
// with the reply as a msg.Text (lang is not used).
func checkActor(ctx context.Context, tx pgx.Tx, inc Incident, team routing.Team, rs *routing.RuleSet, lang, via, room, actor string, dispatcher bool) error {
	if dispatcher {
		return nil
	}
	switch {
	case room != "" && strings.EqualFold(team.Room, room):
		if isMember(team, actor) {
			return nil
		}
		return newError(ErrForbidden, func(ts msg.Texts) string { return ts.NotYourTeam(inc.CaseNumber, cmp.Or(team.Name, inc.Team)) })
	case room != "":
		alerted, err := wasAlerted(ctx, tx, inc, room)
		if err != nil {
			return err
		}
		if alerted && memberOfRoomTeam(rs, room, actor) {
			return nil
		}
		return newError(ErrForbidden, func(ts msg.Texts) string { return ts.NotYourRoom(inc.CaseNumber) })
	case via == "chat":
		if isMember(team, actor) {
			return nil
		}
		alerted, err := wasAlerted(ctx, tx, inc, actor)
		if err != nil {
			return err
		}
		if alerted {
			return nil
		}
		return newError(ErrForbidden, func(ts msg.Texts) string { return ts.NotAlerted(inc.CaseNumber) })
	}
	return nil
}

// isMember reports whether actor is one of team's members (bare JIDs,
// compared case-insensitively).
func isMember(team routing.Team, actor string) bool {
	return actor != "" && slices.ContainsFunc(team.Members, func(m string) bool { return strings.EqualFold(m, actor) })
}

// memberOfRoomTeam reports whether actor is a member of a team whose room
// is room.
func memberOfRoomTeam(rs *routing.RuleSet, room, actor string) bool {
	for _, t := range rs.Teams() {
		if strings.EqualFold(t.Room, room) && isMember(t, actor) {
			return true
		}
	}
	return false
}

// wasAlerted reports whether target (a room or a person) was alerted for
// inc outside its team room.
func wasAlerted(ctx context.Context, tx pgx.Tx, inc Incident, target string) (bool, error) {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_alerts WHERE incident_id = $1 AND target = $2)`,
		inc.ID, strings.ToLower(target)).Scan(&ok); err != nil {
		return false, fmt.Errorf("check alerts: %w", err)
	}
	return ok, nil
}

// notifyAlerted tells everyone who was alerted outside the team room (a
// higher room, on-call and named persons) what became of the incident, so
// nobody sets out for a case that is taken. The actor is not told.
func (s *Service) notifyAlerted(ctx context.Context, tx pgx.Tx, inc Incident, actor, text string) error {
	return s.tellAlerted(ctx, tx, inc, actor, text)
}

// tellAlerted sends body to everyone alerted outside the team room except
// the actor.
func (s *Service) tellAlerted(ctx context.Context, tx pgx.Tx, inc Incident, actor, body string) error {
	rows, err := tx.Query(ctx, `SELECT target, kind FROM incident_alerts WHERE incident_id = $1 ORDER BY at, target`, inc.ID)
	if err != nil {
		return fmt.Errorf("load alerted: %w", err)
	}
	type alerted struct{ target, kind string }
	var all []alerted
	for rows.Next() {
		var a alerted
		if err := rows.Scan(&a.target, &a.kind); err != nil {
			rows.Close()
			return fmt.Errorf("scan alerted: %w", err)
		}
		all = append(all, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range all {
		switch {
		case strings.EqualFold(a.target, actor):
		case a.kind == "room":
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, a.target, body); err != nil {
				return err
			}
		default:
			if err := s.enqueueChat(ctx, tx, inc.Address, a.target, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergedReply is the answer to a command on a merged incident.
func mergedReply(ctx context.Context, tx pgx.Tx, inc Incident) (msg.Text, error) {
	var target string
	err := tx.QueryRow(ctx, `SELECT o.case_number FROM incidents i JOIN incidents o ON o.id = i.merged_into WHERE i.id = $1`, inc.ID).Scan(&target)
	if errors.Is(err, pgx.ErrNoRows) {
		return func(t msg.Texts) string { return t.AlreadyClosed(inc.CaseNumber, string(inc.State)) }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load merge target: %w", err)
	}
	return func(t msg.Texts) string { return t.MergedClosed(inc.CaseNumber, target, caseSeq(target)) }, nil
}

// exactTimers inserts every job scheduled for later (escalation steps, ack
// timeouts, reports waiting for their assembly window) as available with a
// future scheduled_at instead of river's "scheduled" state. river moves
// scheduled jobs to available only when its leader's scheduler runs (every
// 5s, and not at all until a new leader is elected after the old one
// died), so a timer could fire up to 5s late, and over 15s late after a
// failover. Every producer's fetch already skips available jobs that are
// not yet due, so such a job is picked up at the first fetch after it is
// due (within Config.PollInterval) by whichever replica polls first.
//
// Only jobs due within exactTimerHorizon, and not tagged tagFallback, are
// made exact: every available job's insert notifies its queue's producers,
// which then fetch at once, for nothing when the job is due in half an
// hour (an escalation step after every report) or is a fallback that
// normally never runs (a processing job after every photo report). A timer
// further ahead is at most a few seconds late (15s after a failover), a
// small part of its wait.
type exactTimers struct{ river.HookDefaults }

// exactTimerHorizon: jobs due later than this are left to river's
// scheduler.
const exactTimerHorizon = time.Minute

// tagFallback marks a job whose timer nobody waits for (exactTimers).
const tagFallback = "fallback"

var _ rivertype.HookInsertBegin = (*exactTimers)(nil)

func (*exactTimers) InsertBegin(_ context.Context, p *rivertype.JobInsertParams) error {
	if p.State == rivertype.JobStateScheduled && !slices.Contains(p.Tags, tagFallback) &&
		(p.ScheduledAt == nil || time.Until(*p.ScheduledAt) <= exactTimerHorizon) {
		p.State = rivertype.JobStateAvailable
	}
	return nil
}
