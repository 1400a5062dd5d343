package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/routing"
)

// Action is what a team member does with an incident.
type Action string

// Actions.
const (
	ActionTake    Action = "take"
	ActionResolve Action = "resolve"
	// ActionRelease gives a take back ("zurück 42"): the incident is open
	// again and its escalation starts over. Only the owner or a dispatcher.
	ActionRelease Action = "release"
)

// Command is a team member's take or resolve, from a room, a 1:1 chat or the API.
type Command struct {
	Action Action
	Ref    string // case reference as typed ("42", "2026-000042")
	Actor  string // bare JID or "token:<name>"
	Via    string // "room", "chat", "api"
	Room   string // the room it was written in; must be the incident's team room unless Dispatcher
	// Dispatcher may act on any team's incident.
	Dispatcher bool
	// Claim is the room message the command was written in, claimed in
	// the command's transaction (zero: none; see RoomClaim).
	Claim RoomClaim
}

// Outcome says what a command did.
type Outcome string

// Outcomes.
const (
	OutcomeApplied      Outcome = "applied"
	OutcomeAlreadyTaken Outcome = "already_taken"
	OutcomeClosed       Outcome = "closed"
	// OutcomeAlreadyConfirmed: the actor has already confirmed an incident
	// whose policy needs a second, different person.
	OutcomeAlreadyConfirmed Outcome = "already_confirmed"
	// OutcomeNotYours: a release by someone who does not hold the incident.
	OutcomeNotYours Outcome = "not_yours"
)

// CommandResult is the incident after the command, and what happened.
type CommandResult struct {
	Incident Incident
	Outcome  Outcome
	// Reply is the short text for the person who sent the command, rendered
	// by the edge in its reader's language (the room's team, the chat
	// address, the API client). Nil when the room is told through the queue.
	Reply msg.Text
}

// Execute applies a take, resolve or release. The incident row is locked
// for the decision, so of any number of concurrent takes exactly one is
// applied and the others learn who has it. Under a policy with two
// confirmers a take is a confirmation (see confirm); a release is release's.
func (s *Service) Execute(ctx context.Context, cmd Command) (CommandResult, error) {
	var res CommandResult
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		if err := claimInTx(ctx, tx, cmd.Claim); err != nil {
			return err
		}
		inc, err := incidentByRef(ctx, tx, cmd.Ref, true)
		if err != nil {
			return err
		}
		rs := s.rules.Current()
		team, _ := rs.Team(inc.Team)
		lang := team.Language
		if lang == "" {
			lang = "de"
		}
		if err := checkActor(ctx, tx, inc, team, rs, lang, cmd.Via, cmd.Room, cmd.Actor, cmd.Dispatcher); err != nil {
			return err
		}
		res.Incident = inc
		switch {
		case inc.State == StateMerged:
			res.Outcome = OutcomeClosed
			reply, err := mergedReply(ctx, tx, inc)
			res.Reply = reply
			return err
		case !inc.State.Open():
			res.Outcome = OutcomeClosed
			res.Reply = func(t msg.Texts) string { return t.AlreadyClosed(inc.CaseNumber, string(inc.State)) }
			return nil
		case cmd.Action == ActionTake && inc.State == StateAcknowledged:
			res.Outcome = OutcomeAlreadyTaken
			res.Reply = func(t msg.Texts) string { return t.AlreadyTaken(inc.CaseNumber, inc.Owner) }
			return nil
		}
		if cmd.Action == ActionRelease {
			res, err = s.release(ctx, tx, cmd, inc, team, lang)
			return err
		}
		if pol, ok := rs.Policy(inc.Policy); ok && pol.Confirmers > 1 && cmd.Action == ActionTake {
			res, err = s.confirm(ctx, tx, cmd, inc, team, lang, pol.Confirmers)
			return err
		}
		now := s.now()
		to := StateAcknowledged
		roomText := msg.For(lang).TakenRoom
		reporterText := func(t msg.Texts) string { return t.TakenReporter(inc.CaseNumber, team.Name) }
		set := `, owner = $5, acknowledged_at = $3`
		if cmd.Action == ActionResolve {
			to = StateResolved
			roomText = msg.For(lang).ResolvedRoom
			reporterText = func(t msg.Texts) string { return t.ResolvedReporter(inc.CaseNumber) }
			set = `, owner = coalesce(owner, $5), resolved_at = $3`
		}
		if _, err := setState(ctx, tx, inc.ID, inc.State, to, now, set, cmd.Actor); err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: string(cmd.Action), Actor: cmd.Actor, Via: cmd.Via, From: inc.State, To: to, Detail: map[string]any{"room": cmd.Room}}); err != nil {
			return err
		}
		res.Outcome = OutcomeApplied
		res.Incident.State = to
		if cmd.Action == ActionTake {
			res.Incident.Owner = cmd.Actor
			if err := s.scheduleAckTimeout(ctx, tx, inc, now); err != nil {
				return err
			}
		}
		if team.Room != "" {
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, roomText(inc.CaseNumber, cmd.Actor)); err != nil {
				return err
			}
		}
		if err := s.notifyAlerted(ctx, tx, inc, cmd.Actor, roomText(inc.CaseNumber, cmd.Actor)); err != nil {
			return err
		}
		_, err = s.notifyReporters(ctx, tx, inc.ID, func(reportLang string) string {
			return reporterText(msg.For(reportLang))
		})
		return err
	})
	if errors.Is(err, ErrClaimed) {
		return CommandResult{}, err // carried out before: nothing done, nothing to count
	}
	var de *Error
	if errors.As(err, &de) && errors.Is(err, ErrNotFound) {
		de.Text = func(t msg.Texts) string { return t.UnknownCase(cmd.Ref) }
	}
	outcome := string(res.Outcome)
	if err != nil {
		outcome = "error"
	}
	s.metric.acks.WithLabelValues(string(cmd.Action), outcome).Inc()
	if err != nil {
		return CommandResult{}, err
	}
	s.metric.commandApplied(res, s.now())
	s.log.InfoContext(ctx, "command", "action", cmd.Action, "case", res.Incident.CaseNumber, "outcome", res.Outcome, "via", cmd.Via)
	return res, nil
}

// confirm applies a take under a policy that needs more than one
// confirmer, with the incident row locked. The first confirmation makes the
// actor the owner but leaves the state (and so the escalation, whose steps
// go on while the incident is not acknowledged) as it is; the confirmation
// that completes the count, by a different person, acknowledges it.
// Confirmations count within the current escalation round, so a restart
// (ack timeout, reassignment, unmerge) asks for new ones.
func (s *Service) confirm(ctx context.Context, tx pgx.Tx, cmd Command, inc Incident, team routing.Team, lang string, needed int) (CommandResult, error) {
	res := CommandResult{Incident: inc}
	var round int
	if err := tx.QueryRow(ctx, `SELECT escalation_round FROM incidents WHERE id = $1`, inc.ID).Scan(&round); err != nil {
		return res, fmt.Errorf("load escalation round: %w", err)
	}
	rows, _ := tx.Query(ctx, `SELECT actor FROM incident_confirmations WHERE incident_id = $1 AND round = $2`, inc.ID, round)
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return res, fmt.Errorf("load confirmations: %w", err)
	}
	actor := strings.ToLower(cmd.Actor)
	if slices.Contains(done, actor) {
		res.Outcome = OutcomeAlreadyConfirmed
		res.Reply = func(t msg.Texts) string { return t.AlreadyConfirmed() }
		return res, nil
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `INSERT INTO incident_confirmations (incident_id, round, actor, via, at) VALUES ($1,$2,$3,$4,$5)`,
		inc.ID, round, actor, cmd.Via, now); err != nil {
		return res, fmt.Errorf("record confirmation: %w", err)
	}
	n := len(done) + 1
	detail := map[string]any{"room": cmd.Room, "confirmations": n, "needed": needed}
	res.Outcome = OutcomeApplied
	if n < needed {
		owner := inc.Owner
		if n == 1 || owner == "" {
			owner = cmd.Actor
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET owner = $2, updated_at = $3 WHERE id = $1`, inc.ID, owner, now); err != nil {
			return res, fmt.Errorf("update incident: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: string(ActionTake), Actor: cmd.Actor, Via: cmd.Via, From: inc.State, To: inc.State, Detail: detail}); err != nil {
			return res, err
		}
		res.Incident.Owner = owner
		body := msg.For(lang).TakenFirstRoom(inc.CaseNumber, cmd.Actor, caseSeq(inc.CaseNumber))
		// The reporter hears "wird jetzt bearbeitet" only once the last
		// confirmation is given.
		return res, s.tellConfirmation(ctx, tx, inc, team, cmd.Actor, body)
	}
	owner := cmp.Or(inc.Owner, cmd.Actor)
	if _, err := setState(ctx, tx, inc.ID, inc.State, StateAcknowledged, now, `, owner = $5, acknowledged_at = $3`, owner); err != nil {
		return res, fmt.Errorf("update incident: %w", err)
	}
	detail["owner"] = owner
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "confirm", Actor: cmd.Actor, Via: cmd.Via, From: inc.State, To: StateAcknowledged, Detail: detail}); err != nil {
		return res, err
	}
	res.Incident.State, res.Incident.Owner = StateAcknowledged, owner
	if err := s.scheduleAckTimeout(ctx, tx, inc, now); err != nil {
		return res, err
	}
	if _, err := s.notifyReporters(ctx, tx, inc.ID, func(reportLang string) string {
		return msg.For(reportLang).TakenReporter(inc.CaseNumber, team.Name)
	}); err != nil {
		return res, err
	}
	return res, s.tellConfirmation(ctx, tx, inc, team, cmd.Actor, msg.For(lang).ConfirmedRoom(inc.CaseNumber, cmd.Actor, owner))
}

// release gives the owner's take back (a 👍 or "ok" by mistake, or
// someone who cannot go after all), with the incident row locked: it is
// open again (routed, no owner), the room and everyone alerted are told,
// and the escalation starts over from its first level, as for a new
// incident. Only the owner or a dispatcher may; anyone else learns that
// it is not theirs.
func (s *Service) release(ctx context.Context, tx pgx.Tx, cmd Command, inc Incident, team routing.Team, lang string) (CommandResult, error) {
	res := CommandResult{Incident: inc}
	if inc.State != StateAcknowledged || !(cmd.Dispatcher || strings.EqualFold(inc.Owner, cmd.Actor)) {
		res.Outcome = OutcomeNotYours
		res.Reply = func(t msg.Texts) string { return t.NotYourTake(inc.CaseNumber) }
		return res, nil
	}
	now := s.now()
	if _, err := setState(ctx, tx, inc.ID, StateAcknowledged, StateRouted, now, `, owner = NULL, acknowledged_at = NULL`); err != nil {
		return res, fmt.Errorf("release incident: %w", err)
	}
	if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: string(ActionRelease), Actor: cmd.Actor, Via: cmd.Via, From: StateAcknowledged, To: StateRouted,
		Detail: map[string]any{"room": cmd.Room, "owner": inc.Owner}}); err != nil {
		return res, err
	}
	body := msg.For(lang).ReleasedRoom(inc.CaseNumber, cmd.Actor, caseSeq(inc.CaseNumber))
	if err := s.tellConfirmation(ctx, tx, inc, team, cmd.Actor, body); err != nil {
		return res, err
	}
	if err := s.startEscalation(ctx, tx, inc.ID, inc.Policy, now, false); err != nil {
		return res, err
	}
	res.Outcome = OutcomeApplied
	res.Incident.State, res.Incident.Owner, res.Incident.AcknowledgedAt = StateRouted, "", nil
	return res, nil
}

// tellConfirmation posts body in the team room and to everyone alerted
// for the incident except the actor.
func (s *Service) tellConfirmation(ctx context.Context, tx pgx.Tx, inc Incident, team routing.Team, actor, body string) error {
	if team.Room != "" {
		if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, body); err != nil {
			return err
		}
	}
	return s.tellAlerted(ctx, tx, inc, actor, body)
}

// notifyReporters queues a status message to every XMPP reporter of the
// incident, once per sender (a follow-up is a report row of its own), and
// returns their JIDs.
func (s *Service) notifyReporters(ctx context.Context, tx pgx.Tx, incident any, text func(lang string) string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT DISTINCT ON (sender) address, sender, language FROM reports
		WHERE incident_id = $1 AND channel = 'xmpp' ORDER BY sender, received_at`, incident)
	if err != nil {
		return nil, fmt.Errorf("load reporters: %w", err)
	}
	type rcpt struct{ addr, to, lang string }
	var rcpts []rcpt
	for rows.Next() {
		var r rcpt
		if err := rows.Scan(&r.addr, &r.to, &r.lang); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan reporter: %w", err)
		}
		rcpts = append(rcpts, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sent := make([]string, 0, len(rcpts))
	for _, r := range rcpts {
		if err := s.enqueueChat(ctx, tx, r.addr, r.to, text(r.lang)); err != nil {
			return nil, err
		}
		sent = append(sent, r.to)
	}
	return sent, nil
}
