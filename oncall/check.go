package oncall

import (
	"slices"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// Report is what `fieldgate oncall check` shows for a stretch of time.
type Report struct {
	From, To time.Time
	Shifts   []Shift   // who is on call, clipped to [From, To), as Plan gives it
	Gaps     []Gap     // stretches with nobody on call
	Overlaps []Overlap // calendar events of different people at the same time
	Warnings []Warning // the calendar's (nil calendar: none)
}

// Gap is a stretch [From, To) with nobody on call.
type Gap struct{ From, To time.Time }

// Overlap is a stretch [From, To) where two calendar shifts of different
// people overlap; Plan takes the one starting later (B).
type Overlap struct {
	From, To time.Time
	A, B     Shift
}

// maxOverlaps bounds the overlaps a report lists.
const maxOverlaps = 1000

// Check builds the Report of schedule s with its calendar cal (nil if
// none) for [from, to).
func Check(s routing.Schedule, cal *Calendar, from, to time.Time) Report {
	r := Report{From: from, To: to, Shifts: Plan(s, cal, from, to)}
	if cal != nil {
		r.Warnings = cal.Warnings
	}
	cur := from
	for _, sh := range r.Shifts {
		if sh.From.After(cur) {
			r.Gaps = append(r.Gaps, Gap{From: cur, To: sh.From})
		}
		cur = sh.To
	}
	if cur.Before(to) {
		r.Gaps = append(r.Gaps, Gap{From: cur, To: to})
	}
	var active []Shift
	for _, sh := range cal.Shifts(from, to) { // in start order
		active = slices.DeleteFunc(active, func(a Shift) bool { return !a.To.After(sh.From) })
		for _, a := range active {
			if a.Person == sh.Person || len(r.Overlaps) >= maxOverlaps {
				continue
			}
			r.Overlaps = append(r.Overlaps, Overlap{From: maxTime(sh.From, from), To: minTime(minTime(a.To, sh.To), to), A: a, B: sh})
		}
		active = append(active, sh)
	}
	return r
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
