package routing

import (
	"fmt"
	"strconv"
	"strings"
)

// windows parses a list of time windows and rejects overlapping ones.
func (c *compiler) windows(list []lined[rawWindow], what string) []Window {
	var out []Window
	var bits []*weekBits
	for _, lw := range list {
		days := parseDays(lw.V.Days, c.ps)
		hl := lw.V.Hours.Line
		if hl == 0 {
			hl = lw.Line
		}
		from, to, ok := parseHours(lw.V.Hours.V, hl, c.ps)
		if !ok {
			continue
		}
		w := Window{Days: days, From: from, To: to, Line: lw.Line}
		b := w.bits()
		for i, o := range bits {
			if b.intersects(o) {
				c.ps.add(lw.Line, "%s: time window %q overlaps window %q at line %d", what, w.String(), out[i].String(), out[i].Line)
			}
		}
		out = append(out, w)
		bits = append(bits, b)
	}
	return out
}

func windowBits(ws []Window) *weekBits {
	wb := new(weekBits)
	for i := range ws {
		wb.or(ws[i].bits())
	}
	return wb
}

func describeWindows(ws []Window) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return strings.Join(parts, ", ")
}

func (c *compiler) compileRules(raw *rawFile) {
	seen := map[string]int{}
	for i, lr := range raw.Rules {
		r := &lr.V
		name := r.Name.V
		switch {
		case name == "":
			c.ps.add(lr.Line, "rule %d has no name", i+1)
			name = fmt.Sprintf("#%d", i+1)
		case name == "default" || strings.HasPrefix(name, "address:"):
			c.ps.add(r.Name.Line, "rule name %q is reserved", name)
		default:
			if prev, dup := seen[name]; dup {
				c.ps.add(r.Name.Line, "rule name %q is used twice (first at line %d)", name, prev)
			}
		}
		seen[name] = r.Name.Line
		what := fmt.Sprintf("rule %q", name)
		ru := rule{name: name, line: lr.Line}
		var allowed *weekBits
		if r.Match == nil {
			c.ps.add(lr.Line, "%s has no match: (a rule needs at least one condition; the catch-all is default:)", what)
		} else {
			allowed = c.compileMatch(&ru, &r.Match.V, what, r.Match.Line)
		}
		ru.act = c.action(&r.rawAction, what, lr.Line)
		ru.act.rule = name
		c.rs.rules = append(c.rs.rules, ru)
		c.ruleBits = append(c.ruleBits, allowed)
	}
}

// compileMatch fills ru's conditions and returns the minutes of the week
// the rule can match (nil = any time).
func (c *compiler) compileMatch(ru *rule, m *rawMatch, what string, line int) *weekBits {
	ps, rs := c.ps, c.rs
	conds := 0
	// address
	for i, a := range m.Address.V {
		a = lowerASCII(a)
		id, ok := rs.addrIdx[a]
		if !ok {
			ps.add(m.Address.lineOf(i), "%s: unknown address %q%s", what, a, hintEntries(omapOf(rs.addrs), a))
			continue
		}
		ru.addrs = append(ru.addrs, id)
		ru.addrList = append(ru.addrList, a)
	}
	if m.Address.Set {
		conds++
	}
	// keywords
	for i, k := range m.Keywords.V {
		f := foldKeyword(k)
		switch {
		case f == "":
			ps.add(m.Keywords.lineOf(i), "%s: keyword %q has no letters or digits", what, k)
			continue
		case strings.Contains(f, " "):
			ps.add(m.Keywords.lineOf(i), "%s: keyword %q is more than one word; list the words separately", what, k)
			continue
		}
		ru.keywords = append(ru.keywords, f)
		ru.kwList = append(ru.kwList, k)
	}
	if m.Keywords.Set {
		conds++
		if len(m.Keywords.V) == 0 {
			ps.add(m.Keywords.Line, "%s: keywords is empty", what)
		}
	}
	// areas
	if m.Area.Set {
		conds++
		ru.inside = c.areaIDs(m.Area, what)
	}
	if m.Near != nil {
		conds++
		ru.near = c.areaIDs(m.Near.V.Areas, what+": near")
		d, err := parseDistance(m.Near.V.Within.V)
		switch {
		case !m.Near.V.Within.Set:
			ps.add(m.Near.Line, "%s: near needs within (e.g. within: 200m)", what)
		case err != nil || d <= 0 || d > 50000:
			ps.add(m.Near.V.Within.Line, "%s: near within %q: want a distance between 1m and 50km, e.g. 200m or 1.5km", what, m.Near.V.Within.V)
		}
		ru.nearM = d
	}
	if m.Position != nil {
		conds++
		ru.position = -1
		if m.Position.V {
			ru.position = 1
		} else if m.Area.Set || m.Near != nil {
			ps.add(m.Position.Line, "%s can never match: position: false together with an area condition", what)
		}
	}
	// time
	if len(m.Time) > 0 && m.WorkingHours.Set {
		ps.add(m.WorkingHours.Line, "%s: use either time or working_hours, not both", what)
	}
	if len(m.NotTime) > 0 && m.OutsideWorkingHours.Set {
		ps.add(m.OutsideWorkingHours.Line, "%s: use either not_time or outside_working_hours, not both", what)
	}
	ru.time = c.windows(m.Time, what+": time")
	ru.notTime = c.windows(m.NotTime, what+": not_time")
	if m.WorkingHours.Set {
		ru.time = c.teamHours(m.WorkingHours, what+": working_hours")
	}
	if m.OutsideWorkingHours.Set {
		ru.notTime = c.teamHours(m.OutsideWorkingHours, what+": outside_working_hours")
	}
	var allowed *weekBits
	var desc []string
	if len(m.Time) > 0 || m.WorkingHours.Set {
		conds++
		allowed = windowBits(ru.time)
		if m.WorkingHours.Set {
			desc = append(desc, fmt.Sprintf("in working hours of %s (%s)", m.WorkingHours.V, describeWindows(ru.time)))
		} else {
			desc = append(desc, "in "+describeWindows(ru.time))
		}
	}
	if len(m.NotTime) > 0 || m.OutsideWorkingHours.Set {
		conds++
		if allowed == nil {
			allowed = fullWeek()
		}
		allowed.andNot(windowBits(ru.notTime))
		if m.OutsideWorkingHours.Set {
			desc = append(desc, fmt.Sprintf("outside working hours of %s (%s)", m.OutsideWorkingHours.V, describeWindows(ru.notTime)))
		} else {
			desc = append(desc, "outside "+describeWindows(ru.notTime))
		}
	}
	ru.timeDesc = strings.Join(desc, " and ")
	if allowed != nil && (len(ru.time) > 0 || len(ru.notTime) > 0) && !allowed.intersects(fullWeek()) {
		ps.add(line, "%s can never match: its time conditions exclude every minute of the week", what)
	}
	// sender
	if m.Sender.Set {
		conds++
		ru.senders = map[string]struct{}{}
		for i, s := range m.Sender.V {
			s = lowerASCII(s)
			if g, ok := c.groups[s]; ok {
				for _, j := range g {
					ru.senders[j] = struct{}{}
				}
			} else if isJID(s) || isDomain(s) {
				ru.senders[s] = struct{}{}
			} else {
				ps.add(m.Sender.lineOf(i), "%s: sender %q is not a group, JID or domain%s", what, s, hintMap(c.groups, s))
				continue
			}
			ru.sendList = append(ru.sendList, s)
		}
	}
	if m.Urgent != nil {
		conds++
		ru.urgent = -1
		if m.Urgent.V {
			ru.urgent = 1
		}
	}
	if conds == 0 {
		ps.add(line, "%s has no conditions (the catch-all is default:)", what)
	}
	return allowed
}

func omapOf(as []Address) omap[struct{}] {
	m := make(omap[struct{}], len(as))
	for i, a := range as {
		m[i].Key = a.Name
	}
	return m
}

func (c *compiler) teamHours(l lined[string], what string) []Window {
	i, ok := c.rs.teamIdx[l.V]
	if !ok {
		c.ps.add(l.Line, "%s: unknown team %q%s", what, l.V, c.teamHint(l.V))
		return nil
	}
	if len(c.rs.teams[i].Hours) == 0 {
		c.ps.add(l.Line, "%s: team %q has no hours", what, l.V)
	}
	return c.rs.teams[i].Hours
}

// areaIDs resolves area and area-group names.
func (c *compiler) areaIDs(l strList, what string) []int32 {
	var ids []int32
	add := func(id int32) {
		for _, x := range ids {
			if x == id {
				return
			}
		}
		ids = append(ids, id)
	}
	for i, n := range l.V {
		if id, ok := c.rs.areaIdx[areaKey(n)]; ok {
			add(id)
			continue
		}
		if g, ok := c.areaGroups[n]; ok {
			for _, m := range g {
				if id, ok := c.rs.areaIdx[areaKey(m)]; ok {
					add(id)
				}
			}
			continue
		}
		c.ps.add(l.lineOf(i), "%s: unknown area %q%s", what, n, c.areaHint(n))
	}
	if len(l.V) == 0 {
		c.ps.add(l.Line, "%s: no areas listed", what)
	}
	return ids
}

// parseDistance reads "200m", "1.5km" or "200" (metres).
func parseDistance(s string) (float64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "km"):
		s, mult = strings.TrimSpace(strings.TrimSuffix(s, "km")), 1000
	case strings.HasSuffix(s, "m"):
		s = strings.TrimSpace(strings.TrimSuffix(s, "m"))
	}
	f, err := strconv.ParseFloat(s, 64)
	return f * mult, err
}
