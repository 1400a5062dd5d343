package oncall

// Expanding an event's recurrence set (RFC 5545 §3.8.5): DTSTART, the
// union of its RRULEs and RDATEs, minus EXDATEs and EXRULEs, with
// RECURRENCE-ID instances replacing the ones they name.
//
// Recurrence rules are expanded by github.com/teambition/rrule-go in the
// event's own time zone, so wall-clock times survive DST changes.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Bounds of the work recurrence may cause.
const (
	maxCount        = 10_000  // RRULE COUNT
	maxIterPerEvent = 100_000 // rule iterations per event and query
	maxIterPerQuery = 2_000_000
)

// calEvent is one VEVENT that names a person.
type calEvent struct {
	uid     string
	line    int // of BEGIN:VEVENT
	person  string
	why     string
	start   time.Time     // DTSTART in its zone (the event's zone)
	allDay  bool          // DTSTART is a DATE
	endDays int           // end = start's date + endDays, at start's clock + endSecs, + exact
	endSecs int           //
	exact   time.Duration //
	rules   []recurRule   // RRULEs: their union
	exrules []recurRule   // EXRULEs (RFC 2445, deprecated by RFC 5545 but still exported)
	rdates  []time.Time
	periods []icsTime      // RDATE;VALUE=PERIOD: instances with their own end
	exInst  map[int64]bool // excluded instants (Unix seconds)
	exDays  map[int]bool   // excluded dates in the event's zone (dayNumber), from DATE values
}

// recurRule is a parsed, bounded rule.
type recurRule struct {
	opt  *rrule.ROption
	last time.Time // last occurrence of a rule with COUNT (zero: none)
}

// end is the end of the occurrence starting at o. An event's end is kept
// in wall-clock terms for every occurrence: a shift 18:00–06:00 stays
// 18:00–06:00 local on the nights the clocks change.
func (e *calEvent) end(o time.Time) time.Time {
	y, m, d := o.Date()
	hh, mm, ss := o.Clock()
	return firstOccurrence(time.Date(y, m, d+e.endDays, hh, mm, ss+e.endSecs, o.Nanosecond(), o.Location())).Add(e.exact)
}

// span is an upper bound of end(o)-o.
func (e *calEvent) span() time.Duration {
	s := time.Duration(e.endDays+1)*24*time.Hour + e.exact
	if e.endSecs > 0 {
		s += time.Duration(e.endSecs) * time.Second
	}
	return s + 2*time.Hour
}

// excluded reports whether the instance starting at o is excluded by an
// EXDATE (or an instance that replaces it).
func (e *calEvent) excluded(o time.Time) bool {
	return e.exInst[o.Unix()] || e.exDays[civilDay(o.In(e.start.Location()))]
}

// occurrences appends e's occurrences overlapping [from, to).
func (e *calEvent) occurrences(out []Shift, from, to time.Time, budget *int) []Shift {
	lookFrom := from.Add(-e.span())
	var exruled map[int64]bool
	for _, r := range e.exrules {
		r.each(e.start, lookFrom, to, budget, func(o time.Time) {
			if exruled == nil {
				exruled = map[int64]bool{}
			}
			exruled[o.Unix()] = true
		})
	}
	seen := map[int64]bool{}
	shift := func(o, end time.Time) {
		if seen[o.Unix()] || e.excluded(o) || exruled[o.Unix()] {
			return
		}
		seen[o.Unix()] = true
		if end.After(from) && end.After(o) && o.Before(to) {
			out = append(out, Shift{From: o, To: end, Person: e.person, Source: SourceCalendar, Why: e.why})
		}
	}
	for _, p := range e.periods {
		shift(p.Time, p.end)
	}
	add := func(o time.Time) {
		if !o.Before(lookFrom) && o.Before(to) {
			shift(o, e.end(o))
		}
	}
	add(e.start) // DTSTART is always the first instance (RFC 5545 §3.8.5.3)
	for _, r := range e.rdates {
		add(r)
	}
	for _, r := range e.rules {
		r.each(e.start, lookFrom, to, budget, add)
	}
	return out
}

// each calls f with the rule's occurrences from about lookFrom (earlier
// ones may come too) to before to, within the work budget.
func (r recurRule) each(start, lookFrom, to time.Time, budget *int, f func(time.Time)) {
	if r.opt.Count > 0 && r.last.Before(lookFrom) {
		return
	}
	opt := *r.opt
	opt.Dtstart = fastForward(r.opt, start, lookFrom)
	rr, err := rrule.NewRRule(opt)
	if err != nil { // validated at parse time
		return
	}
	next := rr.Iterator()
	for n := 0; n < maxIterPerEvent && *budget > 0; n++ {
		*budget--
		o, ok := next()
		if !ok || !o.Before(to) {
			break
		}
		f(firstOccurrence(o))
	}
}

// fastForward moves a rule's start by whole intervals to before lookFrom,
// which leaves the occurrences from there on unchanged (the defaults
// rrule-go derives from DTSTART are explicit, see explicitDefaults).
// Rules with COUNT start where they start.
func fastForward(r *rrule.ROption, start, lookFrom time.Time) time.Time {
	if r.Count > 0 || !start.Before(lookFrom) {
		return start
	}
	loc := start.Location()
	n := max(r.Interval, 1)
	y, m, d := start.Date()
	ly, lm, _ := lookFrom.In(loc).Date()
	switch r.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		step := n
		if r.Freq == rrule.WEEKLY {
			step *= 7
		}
		if k := (civilDay(lookFrom.In(loc))-civilDay(start))/step - 1; k > 0 {
			return time.Date(y, m, d+k*step, 0, 0, 0, 0, loc)
		}
	case rrule.MONTHLY:
		if k := ((ly*12+int(lm))-(y*12+int(m)))/n - 1; k > 0 {
			return time.Date(y, m+time.Month(k*n), 1, 0, 0, 0, 0, loc)
		}
	case rrule.YEARLY:
		if k := (ly-y)/n - 1; k > 0 {
			return time.Date(y+k*n, 1, 1, 0, 0, 0, 0, loc)
		}
	}
	return start
}

// parseRule parses and bounds an RRULE or EXRULE value (RFC 5545
// §3.3.10) for an event starting at start.
func parseRule(value string, start time.Time) (recurRule, error) {
	if strings.ContainsAny(value, "\n\r") {
		return recurRule{}, errors.New("malformed")
	}
	// Rule part names and values are case-insensitive (RFC 5545 §3.1,
	// §3.3.10: ABNF literals); rrule-go reads upper case only.
	value = strings.ToUpper(value)
	opt, err := rrule.StrToROptionInLocation(value, start.Location())
	if err != nil {
		return recurRule{}, err
	}
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY:
	default:
		return recurRule{}, errors.New("FREQ finer than DAILY is not supported for shifts")
	}
	if len(opt.Byhour) > 0 || len(opt.Byminute) > 0 || len(opt.Bysecond) > 0 {
		return recurRule{}, errors.New("BYHOUR, BYMINUTE and BYSECOND are not supported for shifts")
	}
	if opt.Count > maxCount || opt.Count < 0 {
		return recurRule{}, fmt.Errorf("COUNT above %d", maxCount)
	}
	if opt.Interval < 0 || opt.Interval > 1000 {
		return recurRule{}, errors.New("INTERVAL out of range")
	}
	opt.Dtstart = start
	if _, err := newRRule(*opt); err != nil {
		return recurRule{}, err
	}
	// rrule-go scans forward to year 9999 for a rule that never matches
	// (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30), inside one step of its
	// iterator. Probe the rule from 9988 (a leap year, so every DTSTART
	// date exists): a rule without an occurrence in those twelve years is
	// refused, so every query steps at most about a decade past its end.
	probe := *opt
	probe.Count, probe.Until = 0, time.Time{}
	probe.Dtstart = time.Date(9988, start.Month(), start.Day(), start.Hour(), start.Minute(), start.Second(), 0, start.Location())
	r, err := newRRule(probe)
	if err != nil {
		return recurRule{}, err
	}
	if _, ok := r.Iterator()(); !ok {
		return recurRule{}, errors.New("no occurrence in twelve years (an impossible date?)")
	}
	explicitDefaults(opt, start)
	rr := recurRule{opt: opt}
	if opt.Count > 0 {
		r, err := newRRule(*opt)
		if err != nil {
			return recurRule{}, err
		}
		for next, n := r.Iterator(), 0; n < maxCount; n++ {
			o, ok := next()
			if !ok {
				break
			}
			rr.last = o
		}
	}
	return rr, nil
}

// newRRule is rrule.NewRRule turning a panic on crafted input into an error.
func newRRule(opt rrule.ROption) (r *rrule.RRule, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("invalid rule (%v)", p)
		}
	}()
	return rrule.NewRRule(opt)
}

// explicitDefaults writes down what rrule-go would derive from DTSTART
// (the day, weekday, month and time of day of occurrences), so that
// fastForward may move DTSTART.
func explicitDefaults(opt *rrule.ROption, start time.Time) {
	if len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 && len(opt.Byweekday) == 0 && len(opt.Byeaster) == 0 {
		switch opt.Freq {
		case rrule.YEARLY:
			if len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(start.Month())}
			}
			opt.Bymonthday = []int{start.Day()}
		case rrule.MONTHLY:
			opt.Bymonthday = []int{start.Day()}
		case rrule.WEEKLY:
			opt.Byweekday = []rrule.Weekday{[]rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}[(int(start.Weekday())+6)%7]}
		}
	}
	opt.Byhour = []int{start.Hour()}
	opt.Byminute = []int{start.Minute()}
	opt.Bysecond = []int{start.Second()}
}

// untilDateInclusive rewrites an UNTIL written as a DATE in the rule of an
// event whose DTSTART is a DATE-TIME (RFC 5545 §3.3.10 wants the same
// value type; some exporters write the date alone) to the end of that
// day, as libical-based calendars (Thunderbird, Evolution) read it: a
// series "until 14 December" includes that day's shift.
func untilDateInclusive(rule string, allDay bool) string {
	if allDay {
		return rule
	}
	parts := strings.Split(rule, ";")
	for i, part := range parts {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "UNTIL") && len(strings.TrimSpace(v)) == 8 {
			parts[i] = k + "=" + strings.TrimSpace(v) + "T235959"
		}
	}
	return strings.Join(parts, ";")
}

// hasOccurrence reports whether the series (DTSTART, RDATEs and RRULEs,
// before exclusions) has an occurrence starting at v, or for a DATE value
// on that day in the event's zone.
func (e *calEvent) hasOccurrence(v icsTime, budget *int) bool {
	loc := e.start.Location()
	from, to := v.Time, v.Time.Add(time.Second)
	match := func(o time.Time) bool { return o.Equal(v.Time) }
	if v.date {
		y, m, d := v.Date()
		from, to = time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		match = func(o time.Time) bool { return civilDay(o.In(loc)) == v.day }
	}
	found := match(e.start)
	for _, r := range e.rdates {
		found = found || match(r)
	}
	for _, pd := range e.periods {
		found = found || match(pd.Time)
	}
	for _, r := range e.rules {
		if found {
			break
		}
		r.each(e.start, from, to, budget, func(o time.Time) {
			if !o.Before(from) {
				found = found || match(o)
			}
		})
	}
	return found
}

// firstOccurrence resolves a wall-clock time that occurs twice (the hour
// the clocks go back) to its first occurrence, as RFC 5545 §3.3.5 asks:
// 02:30 on the last Sunday of October in Europe/Berlin is 02:30 CEST
// (00:30 UTC), not CET. time.Date picks the later one. Times in the gap
// of a forward change already come out as RFC 5545 wants (read with the
// offset before the gap).
func firstOccurrence(t time.Time) time.Time {
	zoneStart, _ := t.ZoneBounds()
	if zoneStart.IsZero() || t.Sub(zoneStart) >= 3*time.Hour {
		return t // no change of offset in the last three hours
	}
	_, off := t.Zone()
	_, before := zoneStart.Add(-time.Second).Zone()
	if before <= off {
		return t
	}
	e := t.Add(-time.Duration(before-off) * time.Second)
	if _, eo := e.Zone(); eo != before {
		return t
	}
	ey, em, ed := e.Date()
	y, m, d := t.Date()
	if ey == y && em == m && ed == d && clockSecs(e) == clockSecs(t) {
		return e
	}
	return t
}
