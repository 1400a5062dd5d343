package oncall

import (
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// Sources of a shift, in increasing precedence.
const (
	SourceRotation = "rotation" // the weekly (or other period) rotation in the rules file
	SourceCalendar = "calendar" // an event of the schedule's imported iCalendar
	SourceOverride = "override" // an override in the rules file: a person takes a shift
)

// Shift is a stretch of time [From, To) during which Person (a bare JID)
// is on call.
type Shift struct {
	From, To time.Time
	Person   string
	Source   string // SourceRotation, SourceCalendar or SourceOverride
	Why      string // where it comes from: the rotation, an override, or an event with its calendar line
}

// Answer is the answer to "who is on call at an instant, and why".
type Answer struct {
	Person string    // bare JID
	Source string    // where the answer at the instant came from
	Why    string    // the rotation slot, the override or the calendar event (with its line)
	Until  time.Time // when somebody else (or nobody) takes over; zero: not within maxLookahead
	Note   string    // a caveat, e.g. that the calendar is not loaded yet (Directory.Lookup)
}

// maxLookahead bounds how far At looks for the end of the current
// person's duty. For a person on call for longer (a one-person rotation)
// Until is zero.
const maxLookahead = 400 * 24 * time.Hour

// At reports who is on call at the instant at under schedule s and its
// imported calendar (nil if none), why, and until when that person stays
// on call (across consecutive shifts of different sources). ok is false
// when nobody is on call at that instant.
//
// Precedence: an override beats a calendar event, which beats the rotation.
func At(s routing.Schedule, cal *Calendar, at time.Time) (Answer, bool) {
	window := 8 * 24 * time.Hour
	for {
		end := at.Add(window)
		plan := Plan(s, cal, at, end)
		if len(plan) == 0 || !plan[0].From.Equal(at) {
			return Answer{}, false
		}
		a := Answer{Person: plan[0].Person, Source: plan[0].Source, Why: plan[0].Why, Until: plan[0].To}
		for _, sh := range plan[1:] {
			if sh.Person != a.Person || !sh.From.Equal(a.Until) {
				break
			}
			a.Until = sh.To
		}
		if a.Until.Before(end) {
			return a, true
		}
		if window >= maxLookahead {
			a.Until = time.Time{}
			return a, true
		}
		window = min(2*window, maxLookahead)
	}
}

// Plan returns who is on call between from and to, as shifts in time
// order clipped to [from, to). Adjacent shifts of the same person and
// source are merged; times nobody is on call are left out (gaps between
// shifts).
//
// Overlapping overrides: the one starting last wins (on equal starts, the
// later one in the file). Overlapping calendar events: likewise the one
// starting last. See rotationShifts for how the rotation hands over.
func Plan(s routing.Schedule, cal *Calendar, from, to time.Time) []Shift {
	if !from.Before(to) {
		return nil
	}
	var ivs []candidate
	for _, sh := range rotationShifts(s, from, to) {
		ivs = append(ivs, candidate{Shift: sh, rank: 0})
	}
	for i, sh := range cal.Shifts(from, to) {
		ivs = append(ivs, candidate{Shift: sh, rank: 1, order: i})
	}
	for i, sh := range overrideShifts(s, from, to) {
		ivs = append(ivs, candidate{Shift: sh, rank: 2, order: i})
	}
	return resolveShifts(ivs, from, to)
}
