package dispatch

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/routing"
)

// ReassignCommand moves an incident to another team.
type ReassignCommand struct {
	Ref    string // case reference as typed ("42", "2026-000042")
	Team   string // team id or display name, case- and umlaut-insensitive ("gruenflaechen", "Grünflächen")
	Actor  string // bare JID or "token:<name>"
	Via    string // "room", "chat", "api"
	Reason string // optional, shown to both rooms and kept in the audit trail
	// FromTeam, when set, is the team id the caller saw the incident with:
	// if it is with another team by now (two dispatchers reassigning it at
	// once), the command fails with ErrConflict instead of moving it again.
	FromTeam string
	// Dispatcher must be true: the gateway sets it from rs.IsDispatcher, the
	// API from the token's dispatcher role.
	Dispatcher bool
	// Claim is the room message the command was written in, claimed in
	// the command's transaction (zero: none; see RoomClaim).
	Claim RoomClaim
}

// Reassign gives an open incident to another team: the new team gets a
// fresh post and the history, the old room and everyone alerted for the
// old team are told (and their alerts end), ownership is cleared,
// escalation restarts under the new team's policy, and the reporters
// learn where their report went. The incident goes to state routed.
func (s *Service) Reassign(ctx context.Context, cmd ReassignCommand) (CommandResult, error) {
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
		rs := s.rules.Current()
		old, _ := rs.Team(inc.Team)
		lang := cmp.Or(old.Language, "de")
		if inc.State == StateMerged {
			reply, err := mergedReply(ctx, tx, inc)
			if err != nil {
				return err
			}
			return newError(ErrConflict, reply)
		}
		if !inc.State.Open() {
			return newError(ErrConflict, func(ts msg.Texts) string { return ts.AlreadyClosed(inc.CaseNumber, string(inc.State)) })
		}
		if cmd.FromTeam != "" && cmd.FromTeam != inc.Team {
			cur, _ := rs.Team(inc.Team)
			return newError(ErrConflict, func(ts msg.Texts) string { return ts.ReassignedMeanwhile(inc.CaseNumber, cmp.Or(cur.Name, inc.Team)) })
		}
		nt, ok := findTeam(rs, cmd.Team)
		if !ok {
			var names []string
			for _, t := range rs.Teams() {
				names = append(names, t.ID)
			}
			return newError(ErrNotFound, func(ts msg.Texts) string { return ts.UnknownTeam(cmd.Team, strings.Join(names, ", ")) })
		}
		if nt.ID == inc.Team {
			return newError(ErrConflict, func(ts msg.Texts) string { return ts.SameTeam(inc.CaseNumber, cmp.Or(nt.Name, nt.ID)) })
		}
		newLang := cmp.Or(nt.Language, "de")
		history, err := s.history(ctx, tx, inc, newLang)
		if err != nil {
			return err
		}
		policy := cmp.Or(nt.Policy, inc.Policy)
		now := s.now()
		if _, err := setState(ctx, tx, inc.ID, inc.State, StateRouted, now,
			`, team = $5, policy = $6, owner = NULL, acknowledged_at = NULL, escalation_level = 0`, nt.ID, policy); err != nil {
			return fmt.Errorf("reassign: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "reassigned", Actor: cmd.Actor, Via: cmd.Via, From: inc.State, To: StateRouted, Detail: map[string]any{
			"from_team": inc.Team, "to_team": nt.ID, "reason": cmd.Reason, "previous_owner": inc.Owner,
		}}); err != nil {
			return err
		}
		reason := func(l string) string {
			if strings.TrimSpace(cmd.Reason) == "" {
				return ""
			}
			return msg.For(l).ReasonSuffix(strings.TrimSpace(cmd.Reason))
		}
		if nt.Room != "" {
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, nt.Room, ""); err != nil {
				return err
			}
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, nt.Room, msg.For(newLang).ReassignedNew(inc.CaseNumber, cmp.Or(nt.Name, nt.ID), cmd.Actor, cmp.Or(old.Name, inc.Team), reason(newLang), history)); err != nil {
				return err
			}
		}
		if old.Room != "" && !strings.EqualFold(old.Room, nt.Room) {
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, old.Room,
				msg.For(lang).ReassignedOld(inc.CaseNumber, cmp.Or(nt.Name, nt.ID), cmd.Actor, reason(lang))); err != nil {
				return err
			}
		}
		// Whoever was alerted for the old team (on-call and named persons,
		// a higher room) learns where the case went; their alert no longer
		// lets them act on it (checkActor) nor tells them what the new team
		// does with it. The new team's escalation alerts afresh.
		if err := s.tellAlerted(ctx, tx, inc, cmd.Actor, msg.For(lang).ReassignedOld(inc.CaseNumber, cmp.Or(nt.Name, nt.ID), cmd.Actor, reason(lang))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM incident_alerts WHERE incident_id = $1`, inc.ID); err != nil {
			return fmt.Errorf("reassign: end the old team's alerts: %w", err)
		}
		if err := s.startEscalation(ctx, tx, inc.ID, policy, now, false); err != nil {
			return err
		}
		if _, err := s.notifyReporters(ctx, tx, inc.ID, func(l string) string {
			return msg.For(l).ReassignedReporter(inc.CaseNumber, cmp.Or(nt.Name, nt.ID))
		}); err != nil {
			return err
		}
		inc.Team, inc.Policy, inc.State, inc.Owner, inc.AcknowledgedAt, inc.EscalationLevel = nt.ID, policy, StateRouted, "", nil, 0
		res = CommandResult{Incident: inc, Outcome: OutcomeApplied, Reply: func(t msg.Texts) string { return t.ReassignedReply(inc.CaseNumber, cmp.Or(nt.Name, nt.ID)) }}
		return nil
	})
	if err != nil {
		return CommandResult{}, unknownCase(err, cmd.Ref)
	}
	s.log.InfoContext(ctx, "reassigned", "case", res.Incident.CaseNumber, "team", res.Incident.Team, "via", cmd.Via)
	return res, nil
}

// RejectCommand declares an incident not the town's responsibility.
type RejectCommand struct {
	Ref    string
	Reason string // required; told to the reporter
	Actor  string
	Via    string // "room", "chat", "api"
	Room   string // where it was written; the team room (or an alerted room) unless Dispatcher
	// Dispatcher may reject any team's incident.
	Dispatcher bool
	// Claim is the room message the command was written in, claimed in
	// the command's transaction (zero: none; see RoomClaim).
	Claim RoomClaim
}

// Reject closes an open incident as "not our responsibility" with a
// reason, which the room and the reporters are told.
func (s *Service) Reject(ctx context.Context, cmd RejectCommand) (CommandResult, error) {
	reason := strings.TrimSpace(cmd.Reason)
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
		lang := cmp.Or(team.Language, "de")
		if err := checkActor(ctx, tx, inc, team, rs, lang, cmd.Via, cmd.Room, cmd.Actor, cmd.Dispatcher); err != nil {
			return err
		}
		if reason == "" {
			return newError(ErrInvalid, func(ts msg.Texts) string { return ts.RejectNeedsReason(caseSeq(inc.CaseNumber)) })
		}
		res.Incident = inc
		if inc.State == StateMerged {
			res.Outcome = OutcomeClosed
			reply, err := mergedReply(ctx, tx, inc)
			res.Reply = reply
			return err
		}
		if !inc.State.Open() {
			res.Outcome = OutcomeClosed
			res.Reply = func(t msg.Texts) string { return t.AlreadyClosed(inc.CaseNumber, string(inc.State)) }
			return nil
		}
		now := s.now()
		if _, err := setState(ctx, tx, inc.ID, inc.State, StateRejected, now, `, reject_reason = $5`, reason); err != nil {
			return fmt.Errorf("reject: %w", err)
		}
		if err := insertEvent(ctx, tx, inc.ID, Event{At: now, Kind: "rejected", Actor: cmd.Actor, Via: cmd.Via, From: inc.State, To: StateRejected, Detail: map[string]any{"reason": reason, "room": cmd.Room}}); err != nil {
			return err
		}
		if team.Room != "" {
			if err := s.enqueueRoomPost(ctx, tx, inc.ID, team.Room, msg.For(lang).RejectedRoom(inc.CaseNumber, cmd.Actor, reason)); err != nil {
				return err
			}
		}
		if _, err := s.notifyReporters(ctx, tx, inc.ID, func(l string) string { return msg.For(l).RejectedReporter(inc.CaseNumber, reason) }); err != nil {
			return err
		}
		res.Incident.State = StateRejected
		res.Outcome = OutcomeApplied
		res.Reply = func(t msg.Texts) string { return t.RejectedReply(inc.CaseNumber) }
		return nil
	})
	if err != nil {
		return CommandResult{}, unknownCase(err, cmd.Ref)
	}
	s.log.InfoContext(ctx, "command", "action", "reject", "case", res.Incident.CaseNumber, "outcome", res.Outcome, "via", cmd.Via)
	return res, nil
}

// findTeam finds a team by id or display name, ignoring case, umlaut
// spelling (ü = ue = u), spaces and dashes.
func findTeam(rs *routing.RuleSet, name string) (routing.Team, bool) {
	a1, a2 := foldName(name)
	if a1 == "" {
		return routing.Team{}, false
	}
	for _, t := range rs.Teams() {
		for _, n := range []string{t.ID, t.Name} {
			b1, b2 := foldName(n)
			if a1 == b1 || a1 == b2 || a2 == b1 || a2 == b2 {
				return t, true
			}
		}
	}
	return routing.Team{}, false
}

// foldName returns two foldings of a name, umlauts spelled "ae" and "a",
// with only lower-case letters and digits kept.
func foldName(s string) (string, string) {
	var long, short strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'ä', 'ö', 'ü':
			base := map[rune]string{'ä': "a", 'ö': "o", 'ü': "u"}[r]
			long.WriteString(base + "e")
			short.WriteString(base)
		case 'ß':
			long.WriteString("ss")
			short.WriteString("ss")
		default:
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				long.WriteRune(r)
				short.WriteRune(r)
			}
		}
	}
	return long.String(), short.String()
}

// history renders an incident's audit trail for a team room: time, what
// happened, and who, except reporters (Event.FromReporter), whose JIDs
// the room never sees.
func (s *Service) history(ctx context.Context, tx pgx.Tx, inc Incident, lang string) (string, error) {
	rows, err := tx.Query(ctx, `
		SELECT e.at, e.kind, e.actor, e.detail, `+reporterActorSQL+`
		FROM incident_events e WHERE e.incident_id = $1 ORDER BY e.id`, inc.ID)
	if err != nil {
		return "", fmt.Errorf("load history: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var ev Event
		var d []byte
		if err := rows.Scan(&ev.At, &ev.Kind, &ev.Actor, &d, &ev.ReporterActor); err != nil {
			return "", fmt.Errorf("scan history: %w", err)
		}
		_ = json.Unmarshal(d, &ev.Detail)
		line := ev.At.In(s.cfg.TimeZone).Format("02.01. 15:04") + " " + EventName(lang, ev.Kind)
		switch {
		case ev.FromReporter():
		case ev.Actor != "" && ev.Actor != "fieldgate":
			line += " · " + ev.Actor
		}
		for _, k := range []string{"team", "to_team", "level", "reason", "room"} {
			if v, ok := ev.Detail[k]; ok && fmt.Sprint(v) != "" {
				line += fmt.Sprintf(" · %s=%v", k, v)
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
