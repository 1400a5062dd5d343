package oncall

// Reading property values: dates, date-times, periods and durations
// (RFC 5545 §3.3.4, §3.3.5, §3.3.6, §3.3.9), and property access.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// icsTime is one parsed DATE, DATE-TIME or PERIOD value.
type icsTime struct {
	time.Time           // the instant; for a DATE, midnight in the zone it was read in
	date      bool      // a DATE value
	day       int       // a DATE value's calendar date (dayNumber)
	end       time.Time // a PERIOD value's end (zero otherwise)
}

// parseValues parses a property's comma-separated values. Floating
// date-times are read in loc, unless the property names a TZID; DATE
// values are calendar dates (midnight in loc). PERIOD values
// (start/end or start/duration) are accepted when periods is true.
//
// A value that cannot be read is returned in bad (the rest is kept); err
// is set when no value can be read at all (an unknown TZID).
func (p *calParser) parseValues(pr *ics.IANAProperty, loc *time.Location, periods bool) (vals []icsTime, bad []string, err error) {
	if id := icsParam(pr, "TZID"); id != "" {
		l, err := p.zone(id)
		if err != nil {
			return nil, nil, err
		}
		loc = l
	}
	kind := strings.ToUpper(icsParam(pr, "VALUE"))
	for v := range strings.SplitSeq(pr.Value, ",") {
		v = strings.TrimSpace(v)
		t, err := parseValue(v, kind, loc, periods)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q %v", v, err))
			continue
		}
		vals = append(vals, t)
	}
	return vals, bad, nil
}

// parseValue parses one value of the given VALUE kind ("" = DATE-TIME,
// or DATE if it looks like one).
func parseValue(v, kind string, loc *time.Location, periods bool) (icsTime, error) {
	if a, b, ok := strings.Cut(v, "/"); ok || kind == "PERIOD" {
		if !periods {
			return icsTime{}, errors.New("is a PERIOD, not allowed here")
		}
		if !ok {
			return icsTime{}, errors.New("is not a PERIOD (start/end or start/duration)")
		}
		start, err := parseDateTime(a, loc)
		if err != nil {
			return icsTime{}, err
		}
		var end time.Time
		if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") {
			days, exact, err := parseDuration(b)
			if err != nil {
				return icsTime{}, err
			}
			end = start.AddDate(0, 0, days).Add(exact)
		} else if end, err = parseDateTime(b, loc); err != nil {
			return icsTime{}, err
		}
		if !end.After(start) {
			return icsTime{}, errors.New("ends before it starts")
		}
		if end.Sub(start) > 366*24*time.Hour {
			return icsTime{}, errors.New("is longer than a year")
		}
		return icsTime{Time: start, end: end}, nil
	}
	if kind == "DATE" || (kind == "" && len(v) == 8) {
		d, err := time.ParseInLocation("20060102", v, loc)
		if err != nil || len(v) != 8 {
			return icsTime{}, errors.New("is not a DATE (YYYYMMDD)")
		}
		return icsTime{Time: d, date: true, day: civilDay(d)}, nil
	}
	if kind != "" && kind != "DATE-TIME" {
		return icsTime{}, fmt.Errorf("has VALUE=%s, which is not supported here", kind)
	}
	t, err := parseDateTime(v, loc)
	if err != nil {
		return icsTime{}, err
	}
	return icsTime{Time: t}, nil
}

// parseDateTime reads a DATE-TIME: UTC with "Z", else in loc.
func parseDateTime(v string, loc *time.Location) (time.Time, error) {
	var t time.Time
	var err error
	if strings.HasSuffix(v, "Z") {
		t, err = time.Parse("20060102T150405Z", v)
	} else {
		t, err = time.ParseInLocation("20060102T150405", v, loc)
		t = firstOccurrence(t)
	}
	if err != nil {
		return time.Time{}, errors.New("is not a DATE-TIME (YYYYMMDDTHHMMSS, optionally Z)")
	}
	return t, nil
}

// parseDuration parses an RFC 5545 duration ("PT12H", "P1D", "P1W",
// "P1DT6H") into nominal days and an exact remainder.
func parseDuration(s string) (days int, exact time.Duration, err error) {
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

// lineOf is the line number sanitize tagged the property with (0: unknown).
func lineOf(pr *ics.IANAProperty) int {
	if pr == nil {
		return 0
	}
	if v := pr.ICalParameters[lineParam]; len(v) > 0 {
		n, _ := strconv.Atoi(v[0])
		return n
	}
	return 0
}

// eventLine is the line of an event's BEGIN:VEVENT (0: unknown).
func eventLine(cb *ics.ComponentBase) int {
	n, _ := strconv.Atoi(icsValue(cb, beginProp))
	return n
}
