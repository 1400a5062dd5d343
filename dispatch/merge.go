package dispatch

import (
	"context"
	"fmt"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
)

// MergeCommand links an incident to another one it duplicates, by hand
// (the console's merge; duplicates found by distance are merged at
// intake). Unmerge reverses it.
type MergeCommand struct {
	Ref   string // case reference of the duplicate
	Into  string // case reference of the incident it duplicates
	Actor string // bare JID or "token:<name>"
	Via   string // "room", "chat", "api"
	// Dispatcher must be true: merging moves a case between teams' views.
	Dispatcher bool
}

// Merge marks the incident Ref as a duplicate of Into: Ref leaves the open
// lists and its escalation stops (its jobs find it merged); incidents
// merged into Ref move to Into, so there are no chains. Both must be open.
func (s *Service) Merge(ctx context.Context, cmd MergeCommand) (CommandResult, error) {
	if !cmd.Dispatcher {
		return CommandResult{}, newError(ErrForbidden, func(ts msg.Texts) string { return ts.DispatcherOnly() })
	}
	var res CommandResult
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		dup, err := incidentByRef(ctx, tx, cmd.Ref, false)
		if err != nil {
			return err
		}
		into, err := incidentByRef(ctx, tx, cmd.Into, false)
		if err != nil {
			return err
		}
		// Lock newer before older, as mergeDuplicate does, so that two
		// merges of the same pair cannot deadlock.
		first, second := dup, into
		if into.CreatedAt.After(dup.CreatedAt) {
			first, second = into, dup
		}
		for _, id := range []Incident{first, second} {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE`, id.ID); err != nil {
				return fmt.Errorf("lock incident: %w", err)
			}
		}
		// Re-read under the locks.
		if dup, err = incidentByRef(ctx, tx, dup.CaseNumber, false); err != nil {
			return err
		}
		if into, err = incidentByRef(ctx, tx, into.CaseNumber, false); err != nil {
			return err
		}
		if dup.ID == into.ID || !dup.State.Open() || !into.State.Open() {
			return newError(ErrConflict, func(ts msg.Texts) string { return ts.MergeInvalid(dup.CaseNumber, into.CaseNumber) })
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE incidents SET state = 'merged', merged_into = $2, updated_at = $3 WHERE id = $1`,
			dup.ID, into.ID, now); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET merged_into = $2, updated_at = $3 WHERE merged_into = $1`,
			dup.ID, into.ID, now); err != nil {
			return fmt.Errorf("merge: move duplicates: %w", err)
		}
		if err := insertEvent(ctx, tx, dup.ID, Event{At: now, Kind: "merged", Actor: cmd.Actor, Via: cmd.Via, From: dup.State, To: StateMerged,
			Detail: map[string]any{"into": into.CaseNumber, "manual": true}}); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, into.ID, Event{At: now, Kind: "duplicate_added", Actor: cmd.Actor, Via: cmd.Via,
			Detail: map[string]any{"case": dup.CaseNumber, "manual": true}}); err != nil {
			return err
		}
		dup.State = StateMerged
		res = CommandResult{Incident: dup, Outcome: OutcomeApplied, Reply: func(t msg.Texts) string { return t.MergedReply(dup.CaseNumber, into.CaseNumber) }}
		return nil
	})
	if err != nil {
		return CommandResult{}, unknownCase(err, cmd.Ref)
	}
	s.log.InfoContext(ctx, "merged by hand", "case", res.Incident.CaseNumber, "via", cmd.Via)
	return res, nil
}
