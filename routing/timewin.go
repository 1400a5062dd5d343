package routing

import (
	"fmt"
	"strings"
	"time"
)

// Window is a weekly time window in the town's time zone. A window whose
// To is not after From runs past midnight and belongs to the day it
// starts on ("fri 22:00-06:00" covers Saturday 05:00). Clocks are wall
// clocks, so on the night the clocks go back, 02:30 happens twice and is
// inside "01:00-03:00" both times.
type Window struct {
	Days uint8 // bit d for time.Weekday(d); bit 7 (DayHoliday) for public holidays
	From int   // minutes after midnight, 0..1439
	To   int   // minutes after midnight, 1..1440
	Line int   // where it was written
}

// DayHoliday is the Days bit of public holidays. On a public holiday
// listed in the rules file the day counts as "holiday" and not as its
// weekday, so "mon-fri" does not match on holidays and "[sat, sun,
// holiday]" does.
const DayHoliday = 7

const allDays = 0xff

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "holiday"}

func (w Window) String() string {
	var b strings.Builder
	switch w.Days {
	case allDays:
		b.WriteString("every day")
	case 0b0111110:
		b.WriteString("mon-fri")
	default:
		// weekdays mon..sun, runs of three or more as ranges, then holiday
		order := []int{1, 2, 3, 4, 5, 6, 0}
		var parts []string
		for i := 0; i < len(order); {
			if w.Days&(1<<order[i]) == 0 {
				i++
				continue
			}
			j := i
			for j+1 < len(order) && w.Days&(1<<order[j+1]) != 0 {
				j++
			}
			switch {
			case j-i >= 2:
				parts = append(parts, dayNames[order[i]]+"-"+dayNames[order[j]])
			default:
				for k := i; k <= j; k++ {
					parts = append(parts, dayNames[order[k]])
				}
			}
			i = j + 1
		}
		if w.Days&(1<<DayHoliday) != 0 {
			parts = append(parts, "holiday")
		}
		b.WriteString(strings.Join(parts, ","))
	}
	fmt.Fprintf(&b, " %02d:%02d-%02d:%02d", w.From/60, w.From%60, w.To/60, w.To%60)
	return b.String()
}

// clock is a report's receive time as the windows see it.
type clock struct {
	min       int   // minutes after local midnight (wall clock)
	today     uint8 // day bit of today (weekday or holiday)
	yesterday uint8 // day bit of yesterday
	local     time.Time
}

func (w *Window) match(c *clock) bool {
	if w.From < w.To {
		return w.Days&c.today != 0 && c.min >= w.From && c.min < w.To
	}
	return (w.Days&c.today != 0 && c.min >= w.From) || (w.Days&c.yesterday != 0 && c.min < w.To)
}

// dayNumber counts local calendar days since 1970-01-01.
func dayNumber(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}

// clockAt converts t to the town's wall clock with one zone lookup.
func (rs *RuleSet) clockAt(t time.Time) clock {
	lt := t.In(rs.loc)
	_, off := lt.Zone()
	sec := lt.Unix() + int64(off)
	day := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		day--
	}
	c := clock{min: int(sec-day*86400) / 60, local: lt}
	wd := (day + 4) % 7 // 1970-01-01 was a Thursday
	if wd < 0 {
		wd += 7
	}
	c.today = 1 << wd
	c.yesterday = 1 << ((wd + 6) % 7)
	if rs.isHoliday(int32(day)) {
		c.today = 1 << DayHoliday
	}
	if rs.isHoliday(int32(day - 1)) {
		c.yesterday = 1 << DayHoliday
	}
	return c
}

func (rs *RuleSet) isHoliday(day int32) bool {
	_, ok := rs.holidays[day]
	return ok
}

// parseDays turns ["mon-fri", "holiday"] into a Days mask. An empty list
// means every day, holidays included.
func parseDays(l strList, ps *problems) uint8 {
	if len(l.V) == 0 {
		return allDays
	}
	var mask uint8
	for i, tok := range l.V {
		t := strings.ToLower(strings.TrimSpace(tok))
		switch t {
		case "weekdays":
			mask |= 0b0111110
			continue
		case "weekend":
			mask |= 0b1000001
			continue
		case "holiday", "holidays":
			mask |= 1 << DayHoliday
			continue
		case "all", "daily":
			mask |= allDays
			continue
		}
		from, to, isRange := strings.Cut(t, "-")
		a, okA := weekday(from)
		b, okB := a, okA
		if isRange {
			b, okB = weekday(to)
		}
		if !okA || !okB {
			ps.add(l.lineOf(i), "unknown day %q (use mon..sun, ranges like mon-fri, weekdays, weekend, holiday)", tok)
			continue
		}
		// mon-fri; ranges wrap (fri-mon = fri,sat,sun,mon)
		for d := a; ; d = (d + 1) % 7 {
			mask |= 1 << d
			if d == b {
				break
			}
		}
	}
	return mask
}

func weekday(s string) (int, bool) {
	for i, n := range dayNames[:7] {
		if s == n {
			return i, true
		}
	}
	return 0, false
}

// parseHours parses "08:00-16:00"; empty means the whole day.
func parseHours(s string, line int, ps *problems) (from, to int, ok bool) {
	if strings.TrimSpace(s) == "" {
		return 0, 1440, true
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		ps.add(line, "hours %q: want HH:MM-HH:MM, e.g. 08:00-16:00", s)
		return 0, 0, false
	}
	from, okA := parseHHMM(strings.TrimSpace(a), false)
	to, okB := parseHHMM(strings.TrimSpace(b), true)
	if !okA || !okB {
		ps.add(line, "hours %q: times must be HH:MM between 00:00 and 24:00", s)
		return 0, 0, false
	}
	if from == to || (from == 0 && to == 0) {
		ps.add(line, "hours %q: window is empty (use 00:00-24:00 for the whole day)", s)
		return 0, 0, false
	}
	if to == 0 {
		to = 1440
	}
	return from, to, true
}

func parseHHMM(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, false
	}
	return h*60 + m, true
}

// weekBits marks the (day, minute) situations a set of windows matches.
// A situation is a minute of a day with the kinds of that day and the day
// before (each a weekday or "holiday"), because a window running past
// midnight depends on the day it started. There are 22 possible pairs:
// a weekday after its normal predecessor or after a holiday, and a
// holiday after any kind of day. It is only used by checks (overlaps,
// shadowing), and it mirrors Window.match exactly.
type weekBits [(dayPairs*1440 + 63) / 64]uint64

const dayPairs = 7 + 7 + 8

// dayPair returns the day bits (yesterday, today) of pair p.
func dayPair(p int) (uint8, uint8) {
	switch {
	case p < 7:
		return 1 << ((p + 6) % 7), 1 << p
	case p < 14:
		return 1 << DayHoliday, 1 << (p - 7)
	}
	return 1 << (p - 14), 1 << DayHoliday
}

func (wb *weekBits) setRange(a, b int) {
	for i := a; i < b; i++ {
		wb[i/64] |= 1 << (i % 64)
	}
}

func (w *Window) bits() *weekBits {
	wb := new(weekBits)
	for p := 0; p < dayPairs; p++ {
		y, t := dayPair(p)
		base := p * 1440
		if w.From < w.To {
			if w.Days&t != 0 {
				wb.setRange(base+w.From, base+w.To)
			}
			continue
		}
		if w.Days&t != 0 {
			wb.setRange(base+w.From, base+1440)
		}
		if w.Days&y != 0 {
			wb.setRange(base, base+w.To)
		}
	}
	return wb
}

func (wb *weekBits) or(o *weekBits) {
	for i := range wb {
		wb[i] |= o[i]
	}
}

func (wb *weekBits) andNot(o *weekBits) {
	for i := range wb {
		wb[i] &^= o[i]
	}
}

func (wb *weekBits) intersects(o *weekBits) bool {
	for i := range wb {
		if wb[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// subsetOf reports whether every minute in wb is also in o.
func (wb *weekBits) subsetOf(o *weekBits) bool {
	for i := range wb {
		if wb[i]&^o[i] != 0 {
			return false
		}
	}
	return true
}

func fullWeek() *weekBits {
	wb := new(weekBits)
	wb.setRange(0, dayPairs*1440)
	return wb
}
