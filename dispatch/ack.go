package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Action is what a team member does with an incident.
type Action string

// Actions.
const (
	ActionTake    Action = "take"
	ActionResolve Action = "resolve"
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
}

// Outcome says what a command did.
type Outcome string

// Outcomes.
const (
	OutcomeApplied      Outcome = "applied"
	OutcomeAlreadyTaken Outcome = "already_taken"
	OutcomeClosed       Outcome = "closed"
)

// CommandResult is the incident after the command, and what happened.
type CommandResult struct {
	Incident Incident
	Outcome  Outcome
	// Reply is the short text for the person who sent the command, in the
	// team's language. Empty when the room is told through the queue.
	Reply string
}

// Execute applies a take or resolve. The incident row is locked for the
// decision, so of any number of concurrent takes exactly one is applied and
// the others learn who has it.
func (s *Service) Execute(ctx context.Context, cmd Command) (CommandResult, error) {
	var res CommandResult
	err := s.withTx(ctx, func(tx pgx.Tx) error {
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
		if err := checkActor(ctx, tx, inc, team, lang, cmd.Via, cmd.Room, cmd.Actor, cmd.Dispatcher); err != nil {
			return err
		}
		res.Incident = inc
		switch {
		case inc.State == StateMerged:
			res.Outcome = OutcomeClosed
			res.Reply, err = mergedReply(ctx, tx, inc, lang)
			return err
		case !inc.State.Open():
			res.Outcome = OutcomeClosed
			res.Reply = T(lang, "closed", inc.CaseNumber, string(inc.State))
			return nil
		case cmd.Action == ActionTake && inc.State == StateAcknowledged:
			res.Outcome = OutcomeAlreadyTaken
			res.Reply = T(lang, "already_taken", inc.CaseNumber, inc.Owner)
			return nil
		}
		now := s.now()
		to := StateAcknowledged
		roomKey, reporterKey := "taken_room", "taken_reporter"
		q := `UPDATE incidents SET state = 'acknowledged', owner = $2, acknowledged_at = $3, updated_at = $3 WHERE id = $1`
		if cmd.Action == ActionResolve {
			to = StateResolved
			roomKey, reporterKey = "resolved_room", "resolved_reporter"
			q = `UPDATE incidents SET state = 'resolved', owner = coalesce(owner, $2), resolved_at = $3, updated_at = $3 WHERE id = $1`
		}
		if _, err := tx.Exec(ctx, q, inc.ID, cmd.Actor, now); err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, now, string(cmd.Action), cmd.Actor, cmd.Via, inc.State, to,
			map[string]any{"room": cmd.Room}); err != nil {
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
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, T(lang, roomKey, inc.CaseNumber, cmd.Actor)); err != nil {
				return err
			}
		}
		if err := s.notifyAlerted(ctx, tx, inc, cmd.Actor, lang, roomKey); err != nil {
			return err
		}
		return s.notifyReporters(ctx, tx, inc.ID, func(reportLang string) string {
			if cmd.Action == ActionTake {
				return T(reportLang, reporterKey, inc.CaseNumber, team.Name)
			}
			return T(reportLang, reporterKey, inc.CaseNumber)
		})
	})
	var de *Error
	if errors.As(err, &de) && errors.Is(err, ErrNotFound) {
		de.Message = T("de", "unknown_case", cmd.Ref)
	}
	outcome := string(res.Outcome)
	if err != nil {
		outcome = "error"
	}
	s.metric.acks.WithLabelValues(string(cmd.Action), outcome).Inc()
	if err != nil {
		return CommandResult{}, err
	}
	s.log.InfoContext(ctx, "command", "action", cmd.Action, "case", res.Incident.CaseNumber, "outcome", res.Outcome, "via", cmd.Via)
	return res, nil
}

// notifyReporters queues a status message to every XMPP reporter of the incident.
func (s *Service) notifyReporters(ctx context.Context, tx pgx.Tx, incident any, text func(lang string) string) error {
	rows, err := tx.Query(ctx, `SELECT address, sender, language FROM reports WHERE incident_id = $1 AND channel = 'xmpp'`, incident)
	if err != nil {
		return fmt.Errorf("load reporters: %w", err)
	}
	type rcpt struct{ addr, to, lang string }
	var rcpts []rcpt
	for rows.Next() {
		var r rcpt
		if err := rows.Scan(&r.addr, &r.to, &r.lang); err != nil {
			rows.Close()
			return fmt.Errorf("scan reporter: %w", err)
		}
		rcpts = append(rcpts, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := s.enqueueChat(ctx, tx, r.addr, r.to, text(r.lang)); err != nil {
			return err
		}
	}
	return nil
}
