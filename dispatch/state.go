package dispatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// transitions is the incident state machine: every state change goes
// through setState, which refuses what this table does not list.
//
//	received       → needs_location (routed without position), routed (posted),
//	                 merged (duplicate), escalated, acknowledged, resolved, rejected
//	needs_location → routed (a location arrived), escalated, acknowledged, resolved, rejected
//	routed         → escalated, acknowledged, resolved, rejected, routed (reassigned)
//	escalated      → escalated (next level), acknowledged, resolved, rejected, routed (reassigned)
//	acknowledged   → resolved, rejected, routed (ack timeout, reassigned)
//	merged         → received (unmerged)
//	resolved, rejected: final
var transitions = map[State][]State{
	StateReceived:      {StateNeedsLocation, StateRouted, StateMerged, StateEscalated, StateAcknowledged, StateResolved, StateRejected},
	StateNeedsLocation: {StateRouted, StateEscalated, StateAcknowledged, StateResolved, StateRejected},
	StateRouted:        {StateEscalated, StateAcknowledged, StateResolved, StateRejected, StateRouted},
	StateEscalated:     {StateEscalated, StateAcknowledged, StateResolved, StateRejected, StateRouted},
	StateAcknowledged:  {StateResolved, StateRejected, StateRouted},
	StateMerged:        {StateReceived},
}

// CanTransition reports whether an incident may move from one state to another.
func CanTransition(from, to State) bool {
	return slices.Contains(transitions[from], to)
}

// setState moves an incident from one state to another and sets updated_at
// to now. set adds more assignments (", owner = $5"), whose arguments args
// are numbered from $5 on. It does nothing and reports false when the
// incident is no longer in from (another transaction moved it first), and
// fails with ErrConflict for a transition the table does not allow.
func setState(ctx context.Context, tx pgx.Tx, id uuid.UUID, from, to State, now time.Time, set string, args ...any) (bool, error) {
	if !CanTransition(from, to) {
		return false, newError(ErrConflict, func(ts msg.Texts) string { return ts.StateTransition(string(from), string(to)) })
	}
	tag, err := tx.Exec(ctx, `UPDATE incidents SET state = $2, updated_at = $3`+set+` WHERE id = $1 AND state = $4`,
		append([]any{id, string(to), now, string(from)}, args...)...)
	if err != nil {
		return false, fmt.Errorf("set state %s → %s: %w", from, to, err)
	}
	return tag.RowsAffected() == 1, nil
}
