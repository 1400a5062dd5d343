package dispatch

// iCalendar (RFC 5545) import of on-call shift plans.
//
// Parsing: github.com/arran4/golang-ical (content lines, components).
// Recurrence: github.com/teambition/rrule-go (RRULE expansion in the
// event's own time zone, so wall-clock times survive DST changes).
//
// Calendars are untrusted input: the size, line length, nesting, event
// count, COUNT and the work per query are bounded, and rules that would
// expand to more than one occurrence per day per event (FREQ finer than
// DAILY, BYHOUR, BYMINUTE, BYSECOND) are refused.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"
)

// Limits for imported calendars.
const (
	MaxCalendarSize   = 2 << 20 // bytes of iCalendar text
	maxCalendarEvents = 20_000  // VEVENTs with a person
	maxRecurring      = 500     // of which with an RRULE
	maxLineLen        = 4096    // bytes of one unfolded content line we keep
	maxLineSemicolons = 64      // parameters and rule parts in one line
	maxNesting        = 8       // BEGIN depth
	maxCount          = 10_000  // RRULE COUNT
	maxIterPerEvent   = 100_000 // rule iterations per event and query
	maxIterPerQuery   = 2_000_000
	maxExdates        = 10_000 // EXDATE/RDATE values in the calendar
	maxIgnoredNotes   = 20
	calendarTimeout   = 30 * time.Second // for fetching when no client is given
)

// Calendar is a parsed shift-plan calendar: the events that name a person,
// ready to be expanded into shifts. It is immutable and safe for
// concurrent use.
//
// Convention for who is on call during an event, first match wins:
//  1. an X-FIELDGATE-PERSON property: a JID, or an xmpp:/mailto: URI;
//  2. a JID in SUMMARY, e.g. "Bereitschaft: carla@stadt.localhost";
//  3. the one ATTENDEE (xmpp: or mailto: URI) other than the ORGANIZER;
//  4. the ORGANIZER, when there are no other attendees.
//
// A mailto: address is taken as the person's JID (towns that use the same
// address for mail and XMPP). Events naming nobody, or several attendees,
// are ignored and listed in Ignored. Cancelled events and instances are
// skipped.
//
// Times: TZID names an IANA zone ("Europe/Berlin", also with a prefix such
// as "/mozilla.org/…/Europe/Berlin"), a common Windows zone name, or a
// VTIMEZONE whose X-LIC-LOCATION is an IANA name or whose offsets match
// the calendar's default zone. Floating times and dates are in the default
// zone. An event's end is kept in wall-clock terms for every occurrence:
// a shift 18:00–06:00 stays 18:00–06:00 local on the nights the clocks
// change (RFC 5545 would make a DTEND-based duration exact, which turns
// that night's shift into 18:00–05:00; shift plans mean the wall clock).
type Calendar struct {
	events  []*calEvent
	Ignored []string // why events were ignored (at most maxIgnoredNotes, then a count)
}

// calEvent is one VEVENT that names a person.
type calEvent struct {
	uid     string
	person  string
	start   time.Time     // DTSTART in its zone
	allDay  bool          // DTSTART is a DATE
	endDays int           // end = start's date + endDays, at start's clock + endSecs, + endExact
	endSecs int           //
	exact   time.Duration //
	rule    *rrule.ROption
	last    time.Time // last occurrence of a rule with COUNT (zero: none)
	rdates  []time.Time
	exInst  map[int64]bool // excluded instants (Unix seconds)
	exDays  map[int]bool   // excluded local dates (civilDay), from EXDATE;VALUE=DATE
}

// end is the end of the occurrence starting at o.
func (e *calEvent) end(o time.Time) time.Time {
	y, m, d := o.Date()
	hh, mm, ss := o.Clock()
	return time.Date(y, m, d+e.endDays, hh, mm, ss+e.endSecs, o.Nanosecond(), o.Location()).Add(e.exact)
}

// span is an upper bound of end(o)-o.
func (e *calEvent) span() time.Duration {
	s := time.Duration(e.endDays+1)*24*time.Hour + e.exact
	if e.endSecs > 0 {
		s += time.Duration(e.endSecs) * time.Second
	}
	return s + 2*time.Hour
}

// Shifts returns the calendar's shifts overlapping [from, to), unclipped,
// in time order. Expansion is bounded (see the package limits); a hostile
// calendar may lose occurrences, never hang.
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

// occurrences appends e's occurrences overlapping [from, to).
func (e *calEvent) occurrences(out []Shift, from, to time.Time, budget *int) []Shift {
	lookFrom := from.Add(-e.span())
	add := func(o time.Time) {
		if o.Before(lookFrom) || !o.Before(to) || e.exInst[o.Unix()] || e.exDays[civilDay(o)] {
			return
		}
		if end := e.end(o); end.After(from) && end.After(o) {
			out = append(out, Shift{From: o, To: end, Person: e.person, Source: SourceCalendar})
		}
	}
	for _, r := range e.rdates {
		add(r)
	}
	if e.rule == nil {
		add(e.start)
		return out
	}
	if e.rule.Count > 0 && e.last.Before(lookFrom) {
		return out
	}
	opt := *e.rule
	opt.Dtstart = fastForward(e.rule, e.start, lookFrom)
	r, err := rrule.NewRRule(opt)
	if err != nil { // validated at parse time
		return out
	}
	next := r.Iterator()
	for n := 0; n < maxIterPerEvent && *budget > 0; n++ {
		*budget--
		o, ok := next()
		if !ok || !o.Before(to) {
			break
		}
		add(o)
	}
	return out
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

// LoadCalendar reads a calendar from a file path or an https:// (or
// webcal://, fetched as https) URL and parses it with ParseCalendar.
// Other URL schemes are refused. client nil means a client with a 30 s
// timeout; the response must be 200 and at most MaxCalendarSize bytes.
func LoadCalendar(ctx context.Context, src string, loc *time.Location, client *http.Client) (*Calendar, error) {
	lower := strings.ToLower(src)
	if rest, ok := strings.CutPrefix(lower, "webcal://"); ok {
		src, lower = "https://"+src[len("webcal://"):], "https://"+rest
	}
	switch {
	case strings.HasPrefix(lower, "https://"):
		return fetchCalendar(ctx, src, loc, client)
	case strings.Contains(src, "://"), strings.HasPrefix(lower, "http:"), strings.HasPrefix(lower, "file:"):
		return nil, errorf(ErrInvalid, "calendar %q: only a file path or an https:// URL can be imported", src)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, errorf(ErrInvalid, "calendar %s: not a regular file", src)
	}
	cal, err := ParseCalendar(f, loc)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", src, err)
	}
	return cal, nil
}

func fetchCalendar(ctx context.Context, url string, loc *time.Location, client *http.Client) (*Calendar, error) {
	if client == nil {
		client = &http.Client{Timeout: calendarTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, errorf(ErrInvalid, "calendar URL: %v", err)
	}
	req.Header.Set("Accept", "text/calendar")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch calendar: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch calendar: %s: %w", resp.Status, ErrUnavailable)
	}
	if resp.ContentLength > MaxCalendarSize {
		return nil, errorf(ErrInvalid, "calendar: larger than %d bytes", MaxCalendarSize)
	}
	cal, err := ParseCalendar(resp.Body, loc)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", req.URL.Redacted(), err)
	}
	return cal, nil
}

// CalendarCache loads the calendars that schedules import and keeps each
// for TTL, so escalations do not fetch a calendar for every alert. The
// zero value is not usable: set Dir and Loc, the rest has defaults.
type CalendarCache struct {
	Dir    string           // base of relative paths: the rules file's directory
	Loc    *time.Location   // zone of floating times (the town's zone; default UTC)
	Client *http.Client     // for https calendars (nil: LoadCalendar's default)
	TTL    time.Duration    // how long a loaded calendar is used (default 15 min)
	Now    func() time.Time // clock (default time.Now)

	mu      sync.Mutex
	entries map[string]cachedCalendar
}

type cachedCalendar struct {
	cal    *Calendar
	loaded time.Time
}

// Calendar returns the calendar at src (a schedule's ICS), loading it when
// it was not loaded within TTL. When reloading fails and an older copy
// exists, it returns that copy together with the error: a town's calendar
// server being down must not leave the on-call person unknown. After a
// failure it retries at most once a minute.
func (c *CalendarCache) Calendar(ctx context.Context, src string) (*Calendar, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	c.mu.Lock()
	e, ok := c.entries[src]
	c.mu.Unlock()
	if ok && now().Sub(e.loaded) < ttl {
		return e.cal, nil
	}
	path := src
	if !strings.Contains(src, "://") && !filepath.IsAbs(src) {
		path = filepath.Join(c.Dir, src)
	}
	cal, err := LoadCalendar(ctx, path, c.Loc, c.Client)
	if err != nil {
		if !ok {
			return nil, err
		}
		// Keep the old copy and retry in a minute, not on every call.
		c.mu.Lock()
		c.entries[src] = cachedCalendar{cal: e.cal, loaded: now().Add(min(ttl, time.Minute) - ttl)}
		c.mu.Unlock()
		return e.cal, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedCalendar{}
	}
	c.entries[src] = cachedCalendar{cal: cal, loaded: now()}
	c.mu.Unlock()
	return cal, nil
}

// ParseCalendar reads an iCalendar stream (at most MaxCalendarSize bytes)
// and returns its on-call events; loc is the zone of floating times and
// dates (the town's zone). Errors wrap ErrInvalid. See Calendar for the
// conventions.
func ParseCalendar(r io.Reader, loc *time.Location) (*Calendar, error) {
	if loc == nil {
		loc = time.UTC
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxCalendarSize+1))
	if err != nil {
		return nil, fmt.Errorf("read calendar: %w", err)
	}
	if len(data) > MaxCalendarSize {
		return nil, errorf(ErrInvalid, "calendar: larger than %d bytes", MaxCalendarSize)
	}
	clean, err := sanitize(data)
	if err != nil {
		return nil, err
	}
	parsed, err := parseICS(clean)
	if err != nil {
		return nil, errorf(ErrInvalid, "calendar: %v", err)
	}
	p := &calParser{loc: loc, tz: map[string]*time.Location{}, vtz: map[string]*ics.VTimezone{}, cal: &Calendar{}}
	return p.build(parsed)
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

// keptProps are the properties the import reads; the others (descriptions,
// alarms, attachments) are dropped before parsing, which keeps the
// library's work proportional to what matters.
var keptProps = map[string]bool{
	"BEGIN": true, "END": true, "UID": true, "SUMMARY": true, "STATUS": true,
	"DTSTART": true, "DTEND": true, "DURATION": true, "RRULE": true, "EXDATE": true,
	"RDATE": true, "RECURRENCE-ID": true, "ATTENDEE": true, "ORGANIZER": true,
	"X-FIELDGATE-PERSON": true, "TZID": true, "X-LIC-LOCATION": true,
	"TZOFFSETFROM": true, "TZOFFSETTO": true,
}

// sanitize unfolds content lines, drops the properties not read, checks the
// structural limits and returns the lines with upper-case names.
func sanitize(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out bytes.Buffer
	depth, lineNo := 0, 0
	var cur []byte
	curLine := 0
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		line := cur
		cur = nil
		i := bytes.IndexAny(line, ";:")
		if i <= 0 {
			return errorf(ErrInvalid, "calendar: line %d: not a content line (NAME:value)", curLine)
		}
		name := strings.ToUpper(string(line[:i]))
		if !keptProps[name] {
			return nil
		}
		if len(line) > maxLineLen {
			return errorf(ErrInvalid, "calendar: line %d: %s longer than %d bytes", curLine, name, maxLineLen)
		}
		if bytes.Count(line, []byte(";")) > maxLineSemicolons {
			return errorf(ErrInvalid, "calendar: line %d: too many parameters", curLine)
		}
		rest := line[i:]
		switch name {
		case "BEGIN", "END":
			rest = bytes.ToUpper(bytes.TrimSpace(rest))
			if name == "BEGIN" {
				depth++
				if depth > maxNesting {
					return errorf(ErrInvalid, "calendar: line %d: components nested deeper than %d", curLine, maxNesting)
				}
			} else {
				depth--
			}
		}
		out.WriteString(name)
		out.Write(rest)
		out.WriteString("\r\n")
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxCalendarSize+1)
	for sc.Scan() {
		lineNo++
		l := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			if len(cur)+len(l) > MaxCalendarSize {
				return nil, errorf(ErrInvalid, "calendar: line %d too long", lineNo)
			}
			cur = append(cur, l[1:]...)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if len(l) == 0 {
			continue
		}
		cur, curLine = append(cur[:0:0], l...), lineNo
	}
	if err := sc.Err(); err != nil {
		return nil, errorf(ErrInvalid, "calendar: %v", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if out.Len() == 0 {
		return nil, errorf(ErrInvalid, "calendar: empty")
	}
	return out.Bytes(), nil
}

// calParser turns the parsed components into a Calendar.
type calParser struct {
	loc       *time.Location
	tz        map[string]*time.Location // resolved TZIDs
	vtz       map[string]*ics.VTimezone
	cal       *Calendar
	ignored   int
	dates     int // EXDATE/RDATE values so far
	recurring int // events with an RRULE so far
}

func (p *calParser) ignore(e *ics.VEvent, format string, args ...any) {
	p.ignored++
	if len(p.cal.Ignored) < maxIgnoredNotes {
		id := "event"
		if uid := icsValue(&e.ComponentBase, "UID"); uid != "" {
			id = "event " + uid
		}
		if v := icsValue(&e.ComponentBase, "DTSTART"); v != "" {
			id += " at " + v
		}
		p.cal.Ignored = append(p.cal.Ignored, id+": "+fmt.Sprintf(format, args...))
	}
}

func (p *calParser) build(parsed *ics.Calendar) (*Calendar, error) {
	var events []*ics.VEvent
	for _, c := range parsed.Components {
		switch c := c.(type) {
		case *ics.VTimezone:
			if id := icsValue(&c.ComponentBase, "TZID"); id != "" {
				p.vtz[id] = c
			}
		case *ics.VEvent:
			events = append(events, c)
		}
	}
	byUID := map[string]*calEvent{}
	type instance struct {
		ev  *ics.VEvent
		rid time.Time
	}
	var instances []instance
	for _, ev := range events {
		if rid := icsProp(&ev.ComponentBase, "RECURRENCE-ID"); rid != nil {
			t, _, err := p.parseTime(rid)
			if err != nil {
				p.ignore(ev, "RECURRENCE-ID: %v", err)
				continue
			}
			instances = append(instances, instance{ev, t})
			continue
		}
		if strings.EqualFold(icsValue(&ev.ComponentBase, "STATUS"), "CANCELLED") {
			continue
		}
		ce, err := p.event(ev, "")
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				return nil, err
			}
			p.ignore(ev, "%v", err)
			continue
		}
		if uid := icsValue(&ev.ComponentBase, "UID"); uid != "" && ce.rule != nil {
			byUID[uid] = ce
		}
		if err := p.add(ce); err != nil {
			return nil, err
		}
	}
	// A changed or cancelled instance of a recurring event replaces the
	// occurrence it names.
	for _, in := range instances {
		master := byUID[icsValue(&in.ev.ComponentBase, "UID")]
		if master != nil {
			master.exInst[in.rid.Unix()] = true
		}
		if strings.EqualFold(icsValue(&in.ev.ComponentBase, "STATUS"), "CANCELLED") {
			continue
		}
		fallback := ""
		if master != nil {
			fallback = master.person
		}
		ce, err := p.event(in.ev, fallback)
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				return nil, err
			}
			p.ignore(in.ev, "%v", err)
			continue
		}
		ce.rule = nil // an instance does not recur
		if err := p.add(ce); err != nil {
			return nil, err
		}
	}
	if n := p.ignored - len(p.cal.Ignored); n > 0 {
		p.cal.Ignored = append(p.cal.Ignored, fmt.Sprintf("… and %d more ignored events", n))
	}
	return p.cal, nil
}

func (p *calParser) add(ce *calEvent) error {
	if len(p.cal.events) >= maxCalendarEvents {
		return errorf(ErrInvalid, "calendar: more than %d on-call events", maxCalendarEvents)
	}
	if ce.rule != nil {
		if p.recurring++; p.recurring > maxRecurring {
			return errorf(ErrInvalid, "calendar: more than %d recurring on-call events", maxRecurring)
		}
	}
	p.cal.events = append(p.cal.events, ce)
	return nil
}

// event converts one VEVENT. Errors wrapping ErrInvalid reject the whole
// calendar (limits); others only skip the event.
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
		return nil, errors.New("names no person (X-FIELDGATE-PERSON, a JID in SUMMARY, or one ATTENDEE)")
	}
	ds := icsProp(cb, "DTSTART")
	if ds == nil {
		return nil, errors.New("no DTSTART")
	}
	start, allDay, err := p.parseTime(ds)
	if err != nil {
		return nil, fmt.Errorf("DTSTART: %w", err)
	}
	if y := start.Year(); y < 1900 || y > 2200 {
		return nil, fmt.Errorf("DTSTART year %d out of range", y)
	}
	ce := &calEvent{uid: icsValue(cb, "UID"), person: person, start: start, allDay: allDay, exInst: map[int64]bool{}, exDays: map[int]bool{}}
	switch {
	case icsProp(cb, "DTEND") != nil:
		end, _, err := p.parseTime(icsProp(cb, "DTEND"))
		if err != nil {
			return nil, fmt.Errorf("DTEND: %w", err)
		}
		end = end.In(start.Location())
		ce.endDays = civilDay(end) - civilDay(start)
		ce.endSecs = clockSecs(end) - clockSecs(start)
	case icsProp(cb, "DURATION") != nil:
		days, exact, err := parseICSDuration(icsValue(cb, "DURATION"))
		if err != nil {
			return nil, fmt.Errorf("DURATION: %w", err)
		}
		ce.endDays, ce.exact = days, exact
	case allDay:
		ce.endDays = 1
	}
	if e := ce.end(start); !e.After(start) {
		return nil, errors.New("ends before it starts")
	} else if e.Sub(start) > 366*24*time.Hour {
		return nil, errors.New("longer than a year")
	}
	if rr := icsProp(cb, "RRULE"); rr != nil {
		opt, err := p.rule(rr.Value, start)
		if err != nil {
			return nil, fmt.Errorf("RRULE: %w", err)
		}
		ce.rule = opt
		if opt.Count > 0 {
			r, err := newRRule(*opt)
			if err != nil {
				return nil, fmt.Errorf("RRULE: %w", err)
			}
			for next, n := r.Iterator(), 0; n < maxCount; n++ {
				o, ok := next()
				if !ok {
					break
				}
				ce.last = o
			}
		}
	}
	for _, pr := range icsProps(cb, "EXDATE") {
		ts, err := p.parseTimes(pr)
		if err != nil {
			return nil, fmt.Errorf("EXDATE: %w", err)
		}
		if p.dates += len(ts); p.dates > maxExdates {
			return nil, errorf(ErrInvalid, "calendar: more than %d EXDATE and RDATE values", maxExdates)
		}
		for _, t := range ts {
			if t.allDay && !allDay {
				ce.exDays[civilDay(t.Time.In(start.Location()))] = true
			} else {
				ce.exInst[t.Unix()] = true
			}
		}
	}
	for _, pr := range icsProps(cb, "RDATE") {
		ts, err := p.parseTimes(pr)
		if err != nil {
			return nil, fmt.Errorf("RDATE: %w", err)
		}
		if p.dates += len(ts); p.dates > maxExdates {
			return nil, errorf(ErrInvalid, "calendar: more than %d EXDATE and RDATE values", maxExdates)
		}
		for _, t := range ts {
			ce.rdates = append(ce.rdates, t.Time)
		}
	}
	return ce, nil
}

// rule parses and bounds an RRULE.
func (p *calParser) rule(value string, start time.Time) (*rrule.ROption, error) {
	if strings.ContainsAny(value, "\n\r") {
		return nil, errors.New("malformed")
	}
	opt, err := rrule.StrToROptionInLocation(value, start.Location())
	if err != nil {
		return nil, err
	}
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY:
	default:
		return nil, errors.New("FREQ finer than DAILY is not supported for shifts")
	}
	if len(opt.Byhour) > 0 || len(opt.Byminute) > 0 || len(opt.Bysecond) > 0 {
		return nil, errors.New("BYHOUR, BYMINUTE and BYSECOND are not supported for shifts")
	}
	if opt.Count > maxCount || opt.Count < 0 {
		return nil, fmt.Errorf("COUNT above %d", maxCount)
	}
	if opt.Interval < 0 || opt.Interval > 1000 {
		return nil, errors.New("INTERVAL out of range")
	}
	opt.Dtstart = start
	if _, err := newRRule(*opt); err != nil {
		return nil, err
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
		return nil, err
	}
	if _, ok := r.Iterator()(); !ok {
		return nil, errors.New("no occurrence in twelve years (an impossible date?)")
	}
	explicitDefaults(opt, start)
	return opt, nil
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

// icsTime is a parsed date or date-time.
type icsTime struct {
	time.Time
	allDay bool
}

// parseTime parses a DTSTART-like property: DATE, floating, UTC or TZID.
func (p *calParser) parseTime(pr *ics.IANAProperty) (time.Time, bool, error) {
	ts, err := p.parseTimes(pr)
	if err != nil {
		return time.Time{}, false, err
	}
	if len(ts) != 1 {
		return time.Time{}, false, errors.New("want exactly one value")
	}
	return ts[0].Time, ts[0].allDay, nil
}

// parseTimes parses a comma-separated list of dates or date-times.
func (p *calParser) parseTimes(pr *ics.IANAProperty) ([]icsTime, error) {
	loc := p.loc
	if id := icsParam(pr, "TZID"); id != "" {
		l, err := p.zone(id)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	isDate := strings.EqualFold(icsParam(pr, "VALUE"), "DATE")
	var out []icsTime
	for v := range strings.SplitSeq(pr.Value, ",") {
		v = strings.TrimSpace(v)
		var t time.Time
		var err error
		switch {
		case isDate || len(v) == 8:
			t, err = time.ParseInLocation("20060102", v, p.loc)
			out = append(out, icsTime{t, true})
		case strings.HasSuffix(v, "Z"):
			t, err = time.Parse("20060102T150405Z", v)
			out = append(out, icsTime{Time: t})
		default:
			t, err = time.ParseInLocation("20060102T150405", v, loc)
			out = append(out, icsTime{Time: t})
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not a date or date-time", v)
		}
	}
	return out, nil
}

// windowsZones maps the Windows zone names Outlook and Exchange write as
// TZID to IANA zones (the common European ones).
var windowsZones = map[string]string{
	"W. Europe Standard Time":        "Europe/Berlin",
	"Central Europe Standard Time":   "Europe/Budapest",
	"Central European Standard Time": "Europe/Warsaw",
	"Romance Standard Time":          "Europe/Paris",
	"GMT Standard Time":              "Europe/London",
	"E. Europe Standard Time":        "Europe/Chisinau",
	"FLE Standard Time":              "Europe/Kiev",
	"GTB Standard Time":              "Europe/Bucharest",
	"UTC":                            "UTC",
}

// zone resolves a TZID (see Calendar).
func (p *calParser) zone(id string) (*time.Location, error) {
	if l, ok := p.tz[id]; ok {
		if l == nil {
			return nil, fmt.Errorf("unknown time zone %q", id)
		}
		return l, nil
	}
	l := p.resolveZone(id)
	p.tz[id] = l
	if l == nil {
		return nil, fmt.Errorf("unknown time zone %q", id)
	}
	return l, nil
}

func (p *calParser) resolveZone(id string) *time.Location {
	if len(p.tz) > 100 {
		return nil // a calendar with this many zones is not a shift plan
	}
	if l := loadIANA(id); l != nil {
		return l
	}
	if name, ok := windowsZones[id]; ok {
		return loadIANA(name)
	}
	vt := p.vtz[id]
	if vt == nil {
		return nil
	}
	if l := loadIANA(icsValue(&vt.ComponentBase, "X-LIC-LOCATION")); l != nil {
		return l
	}
	// A VTIMEZONE by another name: accept it as the default zone when its
	// standard and daylight offsets are the default zone's.
	var std, dst []int
	for _, c := range vt.Components {
		switch c := c.(type) {
		case *ics.Standard:
			if o, ok := parseOffset(icsValue(&c.ComponentBase, "TZOFFSETTO")); ok {
				std = append(std, o)
			}
		case *ics.Daylight:
			if o, ok := parseOffset(icsValue(&c.ComponentBase, "TZOFFSETTO")); ok {
				dst = append(dst, o)
			}
		}
	}
	if len(std) == 0 {
		return nil
	}
	year := time.Now().Year()
	_, jan := time.Date(year, 1, 15, 12, 0, 0, 0, p.loc).Zone()
	_, jul := time.Date(year, 7, 15, 12, 0, 0, 0, p.loc).Zone()
	winter, summer := min(jan, jul), max(jan, jul)
	allEq := func(xs []int, v int) bool {
		for _, x := range xs {
			if x != v {
				return false
			}
		}
		return true
	}
	if allEq(std, winter) && ((len(dst) == 0 && winter == summer) || (len(dst) > 0 && allEq(dst, summer))) {
		return p.loc
	}
	if len(dst) == 0 && allEq(std, std[0]) {
		return time.FixedZone(id, std[0])
	}
	return nil
}

// loadIANA loads an IANA zone by name, also from the tail of a prefixed
// TZID ("/mozilla.org/20070129_1/Europe/Berlin"); nil if there is none.
func loadIANA(id string) *time.Location {
	id = strings.Trim(id, "\" ")
	if id == "" || id == "Local" || len(id) > 200 {
		return nil
	}
	for {
		if l, err := time.LoadLocation(id); err == nil && id != "Local" {
			return l
		}
		i := strings.IndexByte(id, '/')
		if i < 0 {
			return nil
		}
		id = id[i+1:]
		if id == "" {
			return nil
		}
	}
}

// parseOffset parses a UTC offset such as "+0100" or "-053000" to seconds.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	if len(s) == 5 {
		n *= 100
	}
	h, m, sec := n/10000, n/100%100, n%100
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}

// parseICSDuration parses an RFC 5545 duration ("PT12H", "P1D", "P1W",
// "P1DT6H") into nominal days and an exact remainder.
func parseICSDuration(s string) (days int, exact time.Duration, err error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration", s)
	s = strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, "-") || !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, 0, bad
	}
	s = s[1:]
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, 0, bad
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		switch {
		case unit == 'W' && !inTime:
			days += 7 * n
		case unit == 'D' && !inTime:
			days += n
		case unit == 'H' && inTime:
			exact += time.Duration(n) * time.Hour
		case unit == 'M' && inTime:
			exact += time.Duration(n) * time.Minute
		case unit == 'S' && inTime:
			exact += time.Duration(n) * time.Second
		default:
			return 0, 0, bad
		}
	}
	if days > 366 || exact > 366*24*time.Hour {
		return 0, 0, bad
	}
	return days, exact, nil
}

// eventPerson finds the person an event names (see Calendar).
func eventPerson(cb *ics.ComponentBase) (string, error) {
	if v := icsValue(cb, "X-FIELDGATE-PERSON"); v != "" {
		if j := normalizePerson(v); j != "" {
			return j, nil
		}
		return "", fmt.Errorf("X-FIELDGATE-PERSON %q is not a JID", v)
	}
	if j := jidInText(icsValue(cb, "SUMMARY")); j != "" {
		return j, nil
	}
	org := normalizePerson(icsValue(cb, "ORGANIZER"))
	var att []string
	for _, a := range icsProps(cb, "ATTENDEE") {
		j := normalizePerson(a.Value)
		if j == "" || j == org || slices.Contains(att, j) {
			continue
		}
		att = append(att, j)
	}
	switch {
	case len(att) == 1:
		return att[0], nil
	case len(att) > 1:
		return "", fmt.Errorf("%d attendees; name the person on call with X-FIELDGATE-PERSON or in SUMMARY", len(att))
	}
	return org, nil
}

// jidInText finds the first bare JID in free text.
func jidInText(s string) string {
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return strings.ContainsRune(" \t,;:()<>[]\"'", r)
	}) {
		if !strings.Contains(f, "@") {
			continue
		}
		f = strings.TrimRight(f, ".")
		if j := normalizePerson(f); j != "" {
			return j
		}
	}
	return ""
}

// normalizePerson turns "carla@stadt.localhost", "xmpp:carla@…" or
// "mailto:Carla@…" into a lower-case bare JID, or "" if it is none.
func normalizePerson(s string) string {
	s = strings.TrimSpace(s)
	for _, scheme := range []string{"xmpp:", "mailto:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, "?/"); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 || len(s) > 1023 {
		return ""
	}
	domain := s[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"&'/:<>\\", r) {
			return ""
		}
	}
	return s
}

func clockSecs(t time.Time) int {
	h, m, s := t.Clock()
	return h*3600 + m*60 + s
}

// icsProps returns the properties named name of a component.
func icsProps(cb *ics.ComponentBase, name string) []*ics.IANAProperty {
	var out []*ics.IANAProperty
	for i := range cb.Properties {
		if strings.EqualFold(cb.Properties[i].IANAToken, name) {
			out = append(out, &cb.Properties[i])
		}
	}
	return out
}

// icsProp returns the first property named name, or nil.
func icsProp(cb *ics.ComponentBase, name string) *ics.IANAProperty {
	for i := range cb.Properties {
		if strings.EqualFold(cb.Properties[i].IANAToken, name) {
			return &cb.Properties[i]
		}
	}
	return nil
}

func icsValue(cb *ics.ComponentBase, name string) string {
	if p := icsProp(cb, name); p != nil {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

// icsParam returns a property parameter's first value (names are
// case-insensitive).
func icsParam(pr *ics.IANAProperty, name string) string {
	for k, v := range pr.ICalParameters {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
