package oncall

import (
	"fmt"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// overrideShifts returns the schedule's overrides overlapping [from, to),
// unclipped, in file order: a person takes a stretch of someone else's
// duty.
func overrideShifts(s routing.Schedule, from, to time.Time) []Shift {
	var out []Shift
	for i, o := range s.Overrides {
		if o.To.After(from) && o.From.Before(to) && o.To.After(o.From) {
			out = append(out, Shift{From: o.From, To: o.To, Person: o.Person, Source: SourceOverride,
				Why: fmt.Sprintf("override %d of schedule %s in the rules file", i+1, s.Name)})
		}
	}
	return out
}
