package oncall

// Resolving TZID parameters (RFC 5545 §3.2.19) to time zones.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

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
			return nil, p.unknownZone(id)
		}
		return l, nil
	}
	l := p.resolveZone(id)
	p.tz[id] = l
	if l == nil {
		return nil, p.unknownZone(id)
	}
	return l, nil
}

// unknownZone explains why a TZID could not be used.
func (p *calParser) unknownZone(id string) error {
	if p.vtz[id] != nil {
		return fmt.Errorf("unknown time zone %q: its VTIMEZONE names no IANA zone (X-LIC-LOCATION) and its offsets are not those of the town's zone %s; export the calendar in %s or with IANA zone names", id, p.loc, p.loc)
	}
	return fmt.Errorf("unknown time zone %q: neither an IANA nor a known Windows zone name, and the calendar has no VTIMEZONE for it; export it with IANA zone names (Europe/Berlin) or in UTC", id)
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
