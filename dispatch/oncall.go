package dispatch

import (
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// Sources of a shift, in increasing precedence.
const (
	SourceRotation = "rotation" // the weekly (or other period) rotation in the rules file
	SourceCalendar = "calendar" // an event of the schedule's imported iCalendar
	SourceOverride = "override" // an override in the rules file: a person takes a shift
)

// Shift is a stretch of time during which Person is on call.
type Shift struct {
	From, To time.Time // [From, To)
	Person   string    // bare JID
	Source   string    // SourceRotation, SourceCalendar or SourceOverride
}

// OnCall is the answer to "who is on call at an instant".
type OnCall struct {
	Person string    // bare JID
	Source string    // where the answer at the instant came from
	Until  time.Time // when somebody else (or nobody) takes over; zero: not within maxLookahead
}

// maxLookahead bounds how far OnCallAt looks for the end of the current
// person's duty. For a person on call for longer (a one-person rotation)
// the until time is zero.
const maxLookahead = 400 * 24 * time.Hour

// maxRotationShifts bounds the rotation shifts generated for one plan, so a
// one-second period over a century cannot exhaust memory.
const maxRotationShifts = 100_000

// OnCallAt reports who is on call at the instant at under schedule s and its
// imported calendar (nil if none), and until when that person stays on call
// (across consecutive shifts of different sources; zero when no handover
// comes within 400 days). ok is false when nobody is on call at that
// instant.
//
// Precedence: an override beats a calendar event, which beats the rotation.
func OnCallAt(s routing.Schedule, cal *Calendar, at time.Time) (person string, until time.Time, ok bool) {
	oc, ok := LookupOnCall(s, cal, at)
	return oc.Person, oc.Until, ok
}

// LookupOnCall is OnCallAt with the source of the answer.
func LookupOnCall(s routing.Schedule, cal *Calendar, at time.Time) (OnCall, bool) {
	window := 8 * 24 * time.Hour
	for {
		end := at.Add(window)
		plan := OnCallPlan(s, cal, at, end)
		if len(plan) == 0 || !plan[0].From.Equal(at) {
			return OnCall{}, false
		}
		oc := OnCall{Person: plan[0].Person, Source: plan[0].Source, Until: plan[0].To}
		for _, sh := range plan[1:] {
			if sh.Person != oc.Person || !sh.From.Equal(oc.Until) {
				break
			}
			oc.Until = sh.To
		}
		if oc.Until.Before(end) {
			return oc, true
		}
		if window >= maxLookahead {
			oc.Until = time.Time{}
			return oc, true
		}
		window = min(2*window, maxLookahead)
	}
}

// OnCallPlan returns who is on call between from and to, as shifts in time
// order clipped to [from, to). Adjacent shifts of the same person and source
// are merged; times nobody is on call are left out (gaps between shifts).
//
// The rotation hands over every Period from Start, cycling through
// Rotation (and also before Start, as if it had always run). A period of
// whole days is counted in calendar days of Start's time zone, so a weekly
// handover at 08:00 stays at 08:00 local time across DST changes; other
// periods are exact durations. Overlapping overrides: the one starting last
// wins (on equal starts, the later one in the file). Overlapping calendar
// events: likewise the one starting last.
func OnCallPlan(s routing.Schedule, cal *Calendar, from, to time.Time) []Shift {
	if !from.Before(to) {
		return nil
	}
	var ivs []candidate
	for _, sh := range rotationShifts(s, from, to) {
		ivs = append(ivs, candidate{Shift: sh, rank: 0})
	}
	if cal != nil {
		for i, sh := range cal.Shifts(from, to) {
			ivs = append(ivs, candidate{Shift: sh, rank: 1, order: i})
		}
	}
	for i, o := range s.Overrides {
		if o.To.After(from) && o.From.Before(to) && o.To.After(o.From) {
			ivs = append(ivs, candidate{Shift: Shift{From: o.From, To: o.To, Person: o.Person, Source: SourceOverride}, rank: 2, order: i})
		}
	}
	return resolveShifts(ivs, from, to)
}

// candidate is a candidate shift with its precedence.
type candidate struct {
	Shift
	rank  int // 0 rotation, 1 calendar, 2 override
	order int // position among its rank's candidates, for ties
}

// beats reports whether a takes precedence over b where both apply.
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
// stretch between two consecutive boundaries.
func resolveShifts(ivs []candidate, from, to time.Time) []Shift {
	if len(ivs) == 0 {
		return nil
	}
	slices.SortFunc(ivs, func(a, b candidate) int { return a.From.Compare(b.From) })
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
		out = append(out, Shift{From: b, To: e, Person: win.Person, Source: win.Source})
	}
	return out
}

// rotationShifts returns the rotation's shifts overlapping [from, to),
// unclipped.
func rotationShifts(s routing.Schedule, from, to time.Time) []Shift {
	n := len(s.Rotation)
	if n == 0 || s.Period <= 0 {
		return nil
	}
	var out []Shift
	if s.Period%(24*time.Hour) == 0 {
		days := int(s.Period / (24 * time.Hour))
		start := s.Start
		loc := start.Location()
		y, m, d := start.Date()
		hh, mm, ss := start.Clock()
		boundary := func(k int) time.Time {
			return time.Date(y, m, d+k*days, hh, mm, ss, start.Nanosecond(), loc)
		}
		k := floorDiv(civilDay(from.In(loc))-civilDay(start), days)
		for boundary(k).After(from) {
			k--
		}
		for !boundary(k + 1).After(from) {
			k++
		}
		for ; boundary(k).Before(to) && len(out) < maxRotationShifts; k++ {
			out = append(out, Shift{From: boundary(k), To: boundary(k + 1), Person: s.Rotation[modPos(k, n)], Source: SourceRotation})
		}
		return out
	}
	// Exact periods: k = floor((from-start)/period) in big integers, since
	// a zero Start lies further back than time.Duration reaches.
	p := big.NewInt(int64(s.Period))
	diff := new(big.Int).Sub(bigNanos(from), bigNanos(s.Start))
	k := new(big.Int).Div(diff, p) // Euclidean: floor for p > 0
	idx := int(new(big.Int).Mod(k, big.NewInt(int64(n))).Int64())
	off := new(big.Int).Add(bigNanos(s.Start), new(big.Int).Mul(k, p))
	sec, ns := new(big.Int).DivMod(off, big.NewInt(1e9), new(big.Int))
	b := time.Unix(sec.Int64(), ns.Int64())
	for ; b.Before(to) && len(out) < maxRotationShifts; idx = (idx + 1) % n {
		e := b.Add(s.Period)
		out = append(out, Shift{From: b, To: e, Person: s.Rotation[idx], Source: SourceRotation})
		b = e
	}
	return out
}

// bigNanos is t as nanoseconds since the Unix epoch, without overflow.
func bigNanos(t time.Time) *big.Int {
	b := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	return b.Add(b, big.NewInt(int64(t.Nanosecond())))
}

// civilDay numbers t's calendar date (in t's zone) as days since 1970-01-01.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func modPos(a, n int) int {
	return ((a % n) + n) % n
}

// sortShifts orders shifts by start, then end, then person.
func sortShifts(sh []Shift) {
	slices.SortFunc(sh, func(a, b Shift) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := a.To.Compare(b.To); c != 0 {
			return c
		}
		return strings.Compare(a.Person, b.Person)
	})
}
