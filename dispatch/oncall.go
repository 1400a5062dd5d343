package dispatch

import (
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
