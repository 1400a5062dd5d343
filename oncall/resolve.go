package oncall

import (
	"slices"
	"strings"
	"time"
)

// candidate is a candidate shift with its precedence.
type candidate struct {
	Shift
	rank  int // 0 rotation, 1 calendar, 2 override
	order int // position among its rank's candidates, for ties
}

// beats reports whether a takes precedence over b where both apply: the
// higher source first; within a source the one starting last, on equal
// starts the later one in its file.
func (a *candidate) beats(b *candidate) bool {
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if !a.From.Equal(b.From) {
		return a.From.After(b.From)
	}
	return a.order > b.order
}

// resolveShifts sweeps over the candidates and picks the winner of every
// stretch between two consecutive boundaries; adjacent stretches of the
// same person and source merge.
func resolveShifts(ivs []candidate, from, to time.Time) []Shift {
	if len(ivs) == 0 {
		return nil
	}
	slices.SortStableFunc(ivs, func(a, b candidate) int { return a.From.Compare(b.From) })
	bounds := []time.Time{from, to}
	for _, iv := range ivs {
		if iv.From.After(from) && iv.From.Before(to) {
			bounds = append(bounds, iv.From)
		}
		if iv.To.After(from) && iv.To.Before(to) {
			bounds = append(bounds, iv.To)
		}
	}
	slices.SortFunc(bounds, func(a, b time.Time) int { return a.Compare(b) })
	bounds = slices.CompactFunc(bounds, func(a, b time.Time) bool { return a.Equal(b) })

	var out []Shift
	var active []*candidate
	next := 0
	for i := 0; i+1 < len(bounds); i++ {
		b, e := bounds[i], bounds[i+1]
		for next < len(ivs) && !ivs[next].From.After(b) {
			active = append(active, &ivs[next])
			next++
		}
		active = slices.DeleteFunc(active, func(iv *candidate) bool { return !iv.To.After(b) })
		var win *candidate
		for _, iv := range active {
			if win == nil || iv.beats(win) {
				win = iv
			}
		}
		if win == nil {
			continue
		}
		if n := len(out); n > 0 && out[n-1].To.Equal(b) && out[n-1].Person == win.Person && out[n-1].Source == win.Source {
			out[n-1].To = e
			continue
		}
		out = append(out, Shift{From: b, To: e, Person: win.Person, Source: win.Source, Why: win.Why})
	}
	return out
}

// sortShifts orders shifts by start, then end, then person.
func sortShifts(sh []Shift) {
	slices.SortStableFunc(sh, func(a, b Shift) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := a.To.Compare(b.To); c != 0 {
			return c
		}
		return strings.Compare(a.Person, b.Person)
	})
}
