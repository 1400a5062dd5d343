package oncall

// Reading iCalendar (RFC 5545) shift plans into a Calendar.
//
// Parsing of content lines and components: github.com/arran4/golang-ical.
// Calendars are untrusted input: the size, line length, nesting, event
// count, COUNT and the work per query are bounded, and rules that would
// expand to more than one occurrence per day per event (FREQ finer than
// DAILY, BYHOUR, BYMINUTE, BYSECOND) are refused.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// Limits on a calendar's content.
const (
	maxCalendarEvents = 20_000 // VEVENTs with a person
	maxRecurring      = 500    // of which with an RRULE
	maxDates          = 10_000 // EXDATE/RDATE values in the calendar
	maxWarnings       = 200
)

// Warning is something in a calendar that was not used as written: an
// unsupported or malformed value (only that value is skipped), an event
// that names nobody or several people, an instance that cannot be placed.
type Warning struct {
	Line int    // 1-based line in the calendar file where the value or event starts; 0: not known
	Msg  string // English
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s", w.Line, w.Msg)
	}
	return w.Msg
}

// Selector picks one team's shifts out of a calendar several teams share:
// only events whose Property has Value among its comma-separated values
// (case-insensitively) count.
type Selector struct {
	Property string // default CATEGORIES (RFC 5545 §3.8.1.2); e.g. X-FIELDGATE-TEAM
	Value    string // "" selects every event
}

// Options tell ParseCalendar how to read a calendar.
type Options struct {
	// Location is the zone of floating date-times and of DATE values of
	// events without a zone (the town's zone). Default UTC.
	Location *time.Location
	// Select keeps only one team's events of a shared calendar.
	Select Selector
}

// Calendar is a parsed shift-plan calendar: the events that name a person,
// ready to be expanded into shifts. It is immutable and safe for
// concurrent use.
//
// Who is on call during an event, first match wins:
//  1. an X-FIELDGATE-PERSON property: a JID, or an xmpp:/mailto: URI;
//  2. a JID in SUMMARY, e.g. "Bereitschaft: carla@stadt.localhost" (a
//     SUMMARY naming several people is ambiguous);
//  3. the one ATTENDEE other than the ORGANIZER who takes part: an
//     individual whose PARTSTAT is ACCEPTED (declined, tentative,
//     delegated and needs-action attendees do not count; an exporter
//     that writes no PARTSTAT at all has every attendee count);
//  4. the ORGANIZER, if also such an attendee and nobody else is.
//
// Events naming nobody, or several people, are skipped with a Warning.
// Cancelled events and instances are skipped.
//
// Input (RFC 5545 §3.1, §3.4): UTF-8 with or without a byte order mark,
// or UTF-16 with one; CRLF, LF or CR line ends; one or several
// VCALENDAR objects. A calendar whose METHOD is an iTIP message other
// than PUBLISH, REQUEST or ADD (RFC 5546: CANCEL, REPLY, …) is refused.
// STATUS:TENTATIVE events count, with a Warning.
//
// Times (RFC 5545 §3.3.5, §3.8.5): TZID names an IANA zone (also with a
// prefix such as "/mozilla.org/…/Europe/Berlin"), a common Windows zone
// name, or a VTIMEZONE whose X-LIC-LOCATION is an IANA name or whose
// offsets match Options.Location. Floating DTSTART values are in the
// calendar object's X-WR-TIMEZONE if it names a zone, else in
// Options.Location; DATE values are days in Options.Location. An UNTIL
// written as a DATE in the rule of a DATE-TIME series includes that day. EXDATE, RDATE and RECURRENCE-ID values without TZID
// or Z are read in the event's own zone (its DTSTART's: UTC, the TZID, or
// the floating zone); their DATE values name that date in the event's
// zone. An event's end is kept in wall-clock terms for every occurrence:
// a shift 18:00–06:00 stays 18:00–06:00 local on the nights the clocks
// change (RFC 5545 would make a DTEND-based duration exact, which turns
// that night's shift into 18:00–05:00; shift plans mean the wall clock).
type Calendar struct {
	events   []*calEvent
	Warnings []Warning // at most maxWarnings, then a count
}

// Shifts returns the calendar's shifts overlapping [from, to), unclipped,
// in time order. Expansion is bounded (see the package limits); a hostile
// calendar may lose occurrences, never hang. A nil Calendar has none.
func (c *Calendar) Shifts(from, to time.Time) []Shift {
	if c == nil || !from.Before(to) {
		return nil
	}
	var out []Shift
	budget := maxIterPerQuery
	for _, e := range c.events {
		out = e.occurrences(out, from, to, &budget)
	}
	sortShifts(out)
	return out
}

// Events is the number of events that put somebody on call.
func (c *Calendar) Events() int {
	if c == nil {
		return 0
	}
	return len(c.events)
}

// ParseCalendar reads an iCalendar stream (at most MaxCalendarSize bytes)
// and returns its on-call events. Errors wrap ErrInvalid; problems with
// single events or values are Warnings. See Calendar for the conventions.
func ParseCalendar(r io.Reader, opt Options) (*Calendar, error) {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.Select.Value != "" && opt.Select.Property == "" {
		opt.Select.Property = "CATEGORIES"
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxCalendarSize+1))
	if err != nil {
		return nil, fmt.Errorf("read calendar: %w", err)
	}
	if len(data) > MaxCalendarSize {
		return nil, errorf(ErrInvalid, "calendar: larger than %d bytes; export only the shift calendar, or a shorter period", MaxCalendarSize)
	}
	var extra []string
	if opt.Select.Property != "" {
		extra = append(extra, opt.Select.Property)
	}
	clean, err := sanitize(data, extra...)
	if err != nil {
		return nil, err
	}
	// An iCalendar stream may hold several calendar objects (RFC 5545
	// §3.4, icalstream = 1*icalobject): concatenated exports, or a
	// server's merged feed. Each is parsed on its own.
	var objects []*ics.Calendar
	for _, chunk := range splitObjects(clean) {
		parsed, err := parseICS(chunk)
		if err != nil {
			return nil, errorf(ErrInvalid, "calendar: %v", err)
		}
		if err := checkMethod(parsed); err != nil {
			return nil, err
		}
		objects = append(objects, parsed)
	}
	p := &calParser{loc: opt.Location, sel: opt.Select, tz: map[string]*time.Location{}, vtz: map[string]*ics.VTimezone{}, cal: &Calendar{}}
	return p.build(objects)
}

// splitObjects splits sanitized text after each END:VCALENDAR line;
// text after the last one is kept with it (the parser then reports it).
func splitObjects(clean []byte) [][]byte {
	const end = "END:VCALENDAR\r\n"
	var out [][]byte
	for {
		i := bytes.Index(clean, []byte(end))
		if i < 0 || len(bytes.TrimSpace(clean[i+len(end):])) == 0 {
			return append(out, clean)
		}
		out = append(out, clean[:i+len(end)])
		clean = clean[i+len(end):]
	}
}

// checkMethod refuses iTIP messages (RFC 5546 §1.4) that are not a
// calendar's content: a saved cancellation or reply mail lists events
// that must not be read as shifts.
func checkMethod(c *ics.Calendar) error {
	for _, pr := range c.CalendarProperties {
		if !strings.EqualFold(pr.IANAToken, "METHOD") {
			continue
		}
		switch m := strings.ToUpper(strings.TrimSpace(pr.Value)); m {
		case "", "PUBLISH", "REQUEST", "ADD":
		default:
			return errorf(ErrInvalid, "calendar: METHOD:%s is an iTIP %s message (RFC 5546), not a shift plan; export or subscribe to the calendar itself", m, strings.ToLower(m))
		}
	}
	return nil
}

// floatingZone is the zone of a calendar object's floating date-times:
// its X-WR-TIMEZONE (Apple, Google, Nextcloud) if that names an IANA
// zone, else the town's.
func (p *calParser) floatingZone(c *ics.Calendar) *time.Location {
	for _, pr := range c.CalendarProperties {
		if strings.EqualFold(pr.IANAToken, "X-WR-TIMEZONE") {
			if l := loadIANA(pr.Value); l != nil {
				return l
			}
			if name, ok := windowsZones[strings.TrimSpace(pr.Value)]; ok {
				return loadIANA(name)
			}
			p.warn(lineOf(&ics.IANAProperty{BaseProperty: pr.BaseProperty}), "X-WR-TIMEZONE %q is not a known time zone; floating times are read in %s", pr.Value, p.loc)
		}
	}
	return p.loc
}

// parseICS runs the library parser, turning a panic on crafted input into
// an error.
func parseICS(data []byte) (cal *ics.Calendar, err error) {
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("unparseable (%v)", p)
		}
	}()
	return ics.ParseCalendarWithOptions(bytes.NewReader(data), ics.WithUnknownPropertyHandler(ics.AcceptUnknownPropertyHandler))
}

// calParser turns the parsed components into a Calendar.
type calParser struct {
	loc       *time.Location // the town's zone: DATE values, VTIMEZONE matching
	float     *time.Location // floating date-times of the current calendar object
	sel       Selector
	tz        map[string]*time.Location // resolved TZIDs
	vtz       map[string]*ics.VTimezone
	cal       *Calendar
	warned    int
	dates     int // EXDATE/RDATE values so far
	exChecks  []exCheck
	recurring int // events with an RRULE so far
}

// errLimit marks errors that reject the whole calendar.
var errLimit = errors.New("limit")

func (p *calParser) warn(line int, format string, args ...any) {
	p.warned++
	if len(p.cal.Warnings) < maxWarnings {
		p.cal.Warnings = append(p.cal.Warnings, Warning{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

// describe names an event in warnings: its UID and DTSTART as written.
func describe(cb *ics.ComponentBase) string {
	id := "event"
	if uid := icsValue(cb, "UID"); uid != "" {
		id = "event " + uid
	}
	if v := icsValue(cb, "DTSTART"); v != "" {
		id += " at " + v
	}
	return id
}

// selected reports whether an event belongs to the selected team.
func (p *calParser) selected(cb *ics.ComponentBase) (ok, has bool) {
	if p.sel.Value == "" {
		return true, true
	}
	for _, pr := range icsProps(cb, p.sel.Property) {
		has = true
		for v := range strings.SplitSeq(pr.Value, ",") {
			if strings.EqualFold(strings.TrimSpace(v), p.sel.Value) {
				return true, true
			}
		}
	}
	return false, has
}

// zonedEvent is a VEVENT with the floating zone of its calendar object.
type zonedEvent struct {
	*ics.VEvent
	float *time.Location
}

func (p *calParser) build(objects []*ics.Calendar) (*Calendar, error) {
	var events []zonedEvent
	for _, parsed := range objects {
		float := p.floatingZone(parsed)
		for _, c := range parsed.Components {
			switch c := c.(type) {
			case *ics.VTimezone:
				if id := icsValue(&c.ComponentBase, "TZID"); id != "" {
					p.vtz[id] = c
				}
			case *ics.VEvent:
				events = append(events, zonedEvent{c, float})
			}
		}
	}
	events = p.latestVersions(events)
	masters := map[string]*calEvent{}
	excludedMasters := map[string]bool{} // UIDs of series another team's selector dropped
	var instances []zonedEvent
	for _, zev := range events {
		ev := zev.VEvent
		p.float = zev.float
		cb := &ev.ComponentBase
		if icsProp(cb, "RECURRENCE-ID") != nil {
			instances = append(instances, zev)
			continue
		}
		if ok, _ := p.selected(cb); !ok {
			excludedMasters[icsValue(cb, "UID")] = true
			continue
		}
		if strings.EqualFold(icsValue(cb, "STATUS"), "CANCELLED") {
			continue
		}
		ce, err := p.event(ev, "")
		if errors.Is(err, errLimit) {
			return nil, errorf(ErrInvalid, "calendar: %v", err)
		}
		if err != nil {
			p.warn(eventLine(cb), "%s skipped: %v", describe(cb), err)
			continue
		}
		if ce.uid != "" {
			masters[ce.uid] = ce
		}
		if err := p.add(ce); err != nil {
			return nil, err
		}
	}
	// A changed or cancelled instance replaces the occurrence it names,
	// whether the series comes from RRULE or RDATE (RFC 5545 §3.8.4.4).
	for _, zev := range instances {
		p.float = zev.float
		if err := p.instance(zev.VEvent, masters, excludedMasters); err != nil {
			return nil, err
		}
	}
	p.checkExclusions()
	if n := p.warned - len(p.cal.Warnings); n > 0 {
		p.cal.Warnings = append(p.cal.Warnings, Warning{Msg: fmt.Sprintf("… and %d more warnings", n)})
	}
	return p.cal, nil
}

// instance applies one RECURRENCE-ID component.
func (p *calParser) instance(ev *ics.VEvent, masters map[string]*calEvent, excludedMasters map[string]bool) error {
	cb := &ev.ComponentBase
	uid := icsValue(cb, "UID")
	master := masters[uid]
	rid := icsProp(cb, "RECURRENCE-ID")
	ok, has := p.selected(cb)
	if master == nil && (!ok || excludedMasters[uid] && !has) {
		return nil // an instance of another team's series, or another team's
	}
	if master != nil {
		vals, bad, err := p.parseValues(rid, master.start.Location(), false)
		switch {
		case err != nil:
			p.warn(lineOf(rid), "%s: RECURRENCE-ID: %v; the instance is added but the occurrence it replaces is kept", describe(cb), err)
		case len(bad) > 0 || len(vals) != 1:
			p.warn(lineOf(rid), "%s: RECURRENCE-ID %s; the instance is added but the occurrence it replaces is kept", describe(cb), strings.Join(bad, ", "))
		case vals[0].date:
			master.exDays[vals[0].day] = true
			p.exChecks = append(p.exChecks, exCheck{master, vals[0], lineOf(rid), "RECURRENCE-ID " + strings.TrimSpace(rid.Value), describe(cb)})
		default:
			master.exInst[vals[0].Unix()] = true
			p.exChecks = append(p.exChecks, exCheck{master, vals[0], lineOf(rid), "RECURRENCE-ID " + strings.TrimSpace(rid.Value), describe(cb)})
		}
		if strings.EqualFold(icsParam(rid, "RANGE"), "THISANDFUTURE") {
			p.warn(lineOf(rid), "%s: RANGE=THISANDFUTURE is not supported: only this instance is changed, later ones keep the series' times", describe(cb))
		}
	}
	if strings.EqualFold(icsValue(cb, "STATUS"), "CANCELLED") || !ok && has {
		return nil // cancelled, or moved to another team's shifts
	}
	fallback := ""
	if master != nil {
		fallback = master.person
	}
	ce, err := p.event(ev, fallback)
	if errors.Is(err, errLimit) {
		return errorf(ErrInvalid, "calendar: %v", err)
	}
	if err != nil {
		p.warn(eventLine(cb), "%s (a changed instance) skipped: %v", describe(cb), err)
		return nil
	}
	ce.rules, ce.exrules = nil, nil // an instance does not recur
	return p.add(ce)
}

func (p *calParser) add(ce *calEvent) error {
	if len(p.cal.events) >= maxCalendarEvents {
		return errorf(ErrInvalid, "calendar: more than %d on-call events", maxCalendarEvents)
	}
	if len(ce.rules) > 0 {
		if p.recurring++; p.recurring > maxRecurring {
			return errorf(ErrInvalid, "calendar: more than %d recurring on-call events", maxRecurring)
		}
	}
	p.cal.events = append(p.cal.events, ce)
	return nil
}

// event converts one VEVENT. Errors wrapping errLimit reject the whole
// calendar; other errors skip the event; a bad value of a multi-valued
// property (RRULE, EXDATE, RDATE) costs only that value and a warning.
func (p *calParser) event(ev *ics.VEvent, fallbackPerson string) (*calEvent, error) {
	cb := &ev.ComponentBase
	person, err := eventPerson(cb)
	if err != nil {
		return nil, err
	}
	if person == "" {
		person = fallbackPerson
	}
	if person == "" {
		return nil, errors.New("names nobody on call (X-FIELDGATE-PERSON, a JID in SUMMARY, or one attendee who accepted)")
	}
	ds := icsProp(cb, "DTSTART")
	if ds == nil {
		return nil, errors.New("no DTSTART")
	}
	start, allDay, err := p.single(ds, cmpOr(p.float, p.loc))
	if err != nil {
		return nil, fmt.Errorf("DTSTART (line %d): %w", lineOf(ds), err)
	}
	if allDay && icsParam(ds, "TZID") == "" { // a DATE names a day in the town
		y, m, d := start.Date()
		start = time.Date(y, m, d, 0, 0, 0, 0, p.loc)
	}
	if y := start.Year(); y < 1900 || y > 2200 {
		return nil, fmt.Errorf("DTSTART year %d out of range", y)
	}
	ce := &calEvent{uid: icsValue(cb, "UID"), line: eventLine(cb), person: person, start: start, allDay: allDay,
		exInst: map[int64]bool{}, exDays: map[int]bool{}}
	ce.why = fmt.Sprintf("calendar event %s (line %d)", cmpOr(ce.uid, "without UID"), ce.line)
	switch {
	case icsProp(cb, "DTEND") != nil:
		de := icsProp(cb, "DTEND")
		end, _, err := p.single(de, start.Location())
		if err != nil {
			return nil, fmt.Errorf("DTEND (line %d): %w", lineOf(de), err)
		}
		end = end.In(start.Location())
		ce.endDays = civilDay(end) - civilDay(start)
		ce.endSecs = clockSecs(end) - clockSecs(start)
	case icsProp(cb, "DURATION") != nil:
		days, exact, err := parseDuration(icsValue(cb, "DURATION"))
		if err != nil {
			return nil, fmt.Errorf("DURATION (line %d): %w", lineOf(icsProp(cb, "DURATION")), err)
		}
		ce.endDays, ce.exact = days, exact
	case allDay:
		ce.endDays = 1
	default:
		return nil, errors.New("has no DTEND or DURATION: an event of no length (RFC 5545 §3.6.1) puts nobody on call; give the shift its end")
	}
	if prefix := cancelledPrefix(icsValue(cb, "SUMMARY")); prefix != "" {
		p.warn(ce.line, "%s: SUMMARY begins with %q, as Outlook marks a cancelled meeting, but the event is not STATUS:CANCELLED: %s is counted as on call; delete the event or remove the prefix", describe(cb), prefix, person)
	}
	if strings.EqualFold(icsValue(cb, "STATUS"), "TENTATIVE") {
		p.warn(ce.line, "%s is STATUS:TENTATIVE: %s is counted as on call, but the shift is not confirmed; confirm it (STATUS:CONFIRMED) or remove it", describe(cb), person)
	}
	if e := ce.end(start); !e.After(start) {
		return nil, errors.New("ends before it starts")
	} else if e.Sub(start) > 366*24*time.Hour {
		return nil, errors.New("longer than a year")
	}
	// Several RRULEs are a union: a bad one costs only itself. An event
	// whose every RRULE is unusable is skipped (its DTSTART alone would be
	// a series cut down to one shift).
	rrules := icsProps(cb, "RRULE")
	var firstBad error
	for _, name := range []string{"RRULE", "EXRULE"} {
		for _, pr := range icsProps(cb, name) {
			r, err := parseRule(untilDateInclusive(pr.Value, allDay), start)
			if err != nil {
				err = fmt.Errorf("%s %s (line %d): %v", name, pr.Value, lineOf(pr), err)
				if name == "RRULE" && firstBad == nil {
					firstBad = err
				}
				if name == "EXRULE" || len(rrules) > 1 {
					p.warn(lineOf(pr), "%s: %v; only this rule is not used", describe(cb), err)
				}
				continue
			}
			if name == "RRULE" {
				ce.rules = append(ce.rules, r)
			} else {
				ce.exrules = append(ce.exrules, r)
			}
		}
	}
	if len(rrules) > 0 && len(ce.rules) == 0 {
		return nil, firstBad
	}
	for _, name := range []string{"EXDATE", "RDATE"} {
		for _, pr := range icsProps(cb, name) {
			vals, bad, err := p.parseValues(pr, start.Location(), name == "RDATE")
			if err != nil {
				p.warn(lineOf(pr), "%s: %s not used: %v", describe(cb), name, err)
				continue
			}
			for _, b := range bad {
				p.warn(lineOf(pr), "%s: %s value %s; that value is not used", describe(cb), name, b)
			}
			if p.dates += len(vals); p.dates > maxDates {
				return nil, fmt.Errorf("%w: more than %d EXDATE and RDATE values", errLimit, maxDates)
			}
			for _, v := range vals {
				switch {
				case name == "EXDATE" && v.date:
					ce.exDays[v.day] = true
					p.exChecks = append(p.exChecks, exCheck{ce, v, lineOf(pr), "EXDATE value " + v.Format("20060102"), describe(cb)})
				case name == "EXDATE":
					ce.exInst[v.Unix()] = true
					p.exChecks = append(p.exChecks, exCheck{ce, v, lineOf(pr), "EXDATE value " + v.In(start.Location()).Format("20060102T150405 MST"), describe(cb)})
				case !v.end.IsZero():
					ce.periods = append(ce.periods, v)
				case v.date && !allDay: // the date at DTSTART's time of day
					y, m, d := v.Date()
					hh, mm, ss := start.Clock()
					ce.rdates = append(ce.rdates, firstOccurrence(time.Date(y, m, d, hh, mm, ss, 0, start.Location())))
				case v.date:
					y, m, d := v.Date()
					ce.rdates = append(ce.rdates, time.Date(y, m, d, 0, 0, 0, 0, start.Location()))
				default:
					ce.rdates = append(ce.rdates, v.In(start.Location()))
				}
			}
		}
	}
	return ce, nil
}

// single parses a property with exactly one DATE or DATE-TIME value,
// floating values in loc.
func (p *calParser) single(pr *ics.IANAProperty, loc *time.Location) (time.Time, bool, error) {
	vals, bad, err := p.parseValues(pr, loc, false)
	if err != nil {
		return time.Time{}, false, err
	}
	if len(bad) > 0 {
		return time.Time{}, false, errors.New(bad[0])
	}
	if len(vals) != 1 {
		return time.Time{}, false, errors.New("want exactly one value")
	}
	return vals[0].Time, vals[0].date, nil
}

func clockSecs(t time.Time) int {
	h, m, s := t.Clock()
	return h*3600 + m*60 + s
}

func cmpOr[T comparable](s, def T) T {
	var zero T
	if s == zero {
		return def
	}
	return s
}

// latestVersions drops superseded versions of an event: where a UID
// (and, for a changed instance, RECURRENCE-ID) appears more than once,
// as in two exports of one calendar saved into one file, only the
// copies with the highest SEQUENCE (RFC 5545 §3.8.7.4) count; each
// dropped one gets a Warning. Copies with equal SEQUENCE all count, as
// before: exporters that write one UID for every event exist.
func (p *calParser) latestVersions(events []zonedEvent) []zonedEvent {
	key := func(cb *ics.ComponentBase) string {
		uid := icsValue(cb, "UID")
		if uid == "" {
			return ""
		}
		k := uid + "\x00"
		if rid := icsProp(cb, "RECURRENCE-ID"); rid != nil {
			k += icsParam(rid, "TZID") + "\x00" + strings.TrimSpace(rid.Value)
		}
		return k
	}
	seq := func(cb *ics.ComponentBase) int {
		n, _ := strconv.Atoi(icsValue(cb, "SEQUENCE"))
		return n
	}
	type latest struct{ seq, at int }
	best := map[string]latest{}
	superseded := false
	for i, e := range events {
		k := key(&e.ComponentBase)
		if k == "" {
			continue
		}
		n := seq(&e.ComponentBase)
		b, seen := best[k]
		switch {
		case !seen || n > b.seq:
			superseded = superseded || seen
			best[k] = latest{n, i}
		case n < b.seq:
			superseded = true
		}
	}
	if !superseded {
		return events
	}
	out := events[:0:0]
	for _, e := range events {
		cb := &e.ComponentBase
		k := key(cb)
		if k == "" || seq(cb) == best[k].seq {
			out = append(out, e)
			continue
		}
		b := best[k]
		p.warn(eventLine(cb), "%s (SEQUENCE %d) is an older version of the event at line %d (SEQUENCE %d): ignored",
			describe(cb), seq(cb), eventLine(&events[b.at].ComponentBase), b.seq)
	}
	return out
}

// exCheck is an EXDATE value or RECURRENCE-ID to be matched against the
// occurrences of its series.
type exCheck struct {
	ev   *calEvent
	at   icsTime
	line int
	what string // as the warning names it
	desc string // the event, see describe
}

// checkExclusions warns about each EXDATE value and RECURRENCE-ID that
// names no occurrence of its series (a different time of day or zone
// than the series', as some exporters write them): the occurrence it
// was meant to remove or replace stays, and only a person reading the
// warning can tell which one was meant.
func (p *calParser) checkExclusions() {
	budget := maxIterPerQuery
	for _, c := range p.exChecks {
		if c.ev.hasOccurrence(c.at, &budget) || budget <= 0 {
			continue
		}
		effect := "nothing is removed"
		if strings.HasPrefix(c.what, "RECURRENCE-ID") {
			effect = "the changed instance is added, but no occurrence is replaced"
		}
		if c.at.date {
			p.warn(c.line, "%s: %s names a day without an occurrence of the series; %s", c.desc, c.what, effect)
		} else {
			p.warn(c.line, "%s: %s matches no occurrence of the series (they start at %s); %s: write it with the series' time and zone",
				c.desc, c.what, c.ev.start.Format("15:04 MST"), effect)
		}
	}
}

// cancelledPrefixes are the SUMMARY prefixes Outlook and Exchange put on
// a cancelled meeting left in a calendar, by language.
var cancelledPrefixes = []string{"Abgesagt:", "Canceled:", "Cancelled:", "Storniert:", "Annulé :", "Annulé:", "Geannuleerd:", "Cancelado:", "Annullato:"}

// cancelledPrefix returns the prefix a SUMMARY begins with, or "".
func cancelledPrefix(summary string) string {
	summary = strings.TrimSpace(summary)
	for _, p := range cancelledPrefixes {
		if len(summary) >= len(p) && strings.EqualFold(summary[:len(p)], p) {
			return p
		}
	}
	return ""
}
