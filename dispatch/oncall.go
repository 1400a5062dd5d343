package dispatch

import (
	"cmp"
	"context"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// OnCallDirectory answers who is on call from memory (package oncall's
// Directory). Lookup must not do I/O: escalation asks while it holds the
// incident's row lock.
type OnCallDirectory interface {
	Lookup(rs *routing.RuleSet, s routing.Schedule, at time.Time) (oncall.Answer, bool)
	// Run keeps the directory's calendars fresh until ctx ends.
	Run(ctx context.Context, current func() *routing.RuleSet)
}

var _ OnCallDirectory = (*oncall.Directory)(nil)

// onCallAt resolves who is on call under a schedule from the directory.
// A calendar that is not loaded (yet) is logged; the rotation and
// overrides decide then.
func (s *Service) onCallAt(ctx context.Context, rs *routing.RuleSet, sched routing.Schedule, at time.Time) (string, bool) {
	a, ok := s.oncall.Lookup(rs, sched, at)
	if a.Note != "" {
		s.log.WarnContext(ctx, "on-call lookup without calendar", "schedule", sched.Name, "note", a.Note)
	}
	return a.Person, ok
}

// onCallAnswers maps schedule names to the person on call ("" = nobody),
// as looked up for one escalation step before its row lock.
type onCallAnswers map[string]string

// onCallBeforeLock looks up, without locking the incident, who is on call
// for each "oncall" target of the step's level. The incident is read
// without a lock; if it changes team before the lock is taken, alert
// looks the new schedule up itself (from memory as well).
func (s *Service) onCallBeforeLock(ctx context.Context, rs *routing.RuleSet, a escalateArgs, at time.Time) onCallAnswers {
	var team, policy string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(team,''), policy FROM incidents WHERE id = $1`, a.IncidentID).Scan(&team, &policy); err != nil {
		return nil // gone, or the database is away: the transaction will tell
	}
	pol, ok := rs.Policy(policy)
	if !ok || a.Level >= len(pol.Levels) {
		return nil
	}
	t, _ := rs.Team(team)
	out := onCallAnswers{}
	for _, tg := range pol.Levels[a.Level].Targets {
		if tg.Kind != "oncall" {
			continue
		}
		name := cmp.Or(tg.Ref, t.OnCall)
		if sched, ok := rs.Schedule(name); ok {
			who, _ := s.onCallAt(ctx, rs, sched, at)
			out[name] = who
		}
	}
	return out
}
