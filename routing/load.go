package routing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"
	_ "time/tzdata" // towns run on minimal images without zoneinfo

	"gopkg.in/yaml.v3"
)

// DefaultTimezone is used when the rules file names none.
const DefaultTimezone = "Europe/Berlin"

// Load reads the rules file at path and the GeoJSON file it references
// (relative to the rules file), validates them and compiles the rule set.
// A file with mistakes returns an *Error listing every problem with
// file:line; it wraps ErrInvalid.
func Load(path string) (*RuleSet, error) {
	return load(path, os.ReadFile)
}

// load is Load with the file reader injected.
func load(path string, read func(string) ([]byte, error)) (*RuleSet, error) {
	data, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	ps := &problems{file: path}
	c := &compiler{ps: ps, path: path, read: read, rs: &RuleSet{path: path, files: []string{path}, loadedAt: time.Now()}}
	hash := sha256.New()
	hash.Write(data)

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.addYAML(err)
		return nil, ps.err()
	}
	if len(doc.Content) == 0 {
		ps.add(1, "the file is empty")
		return nil, ps.err()
	}
	checkKeys(&doc, reflect.TypeFor[rawFile](), ps.add)
	var raw rawFile
	if err := doc.Decode(&raw); err != nil {
		ps.addYAML(err)
		return nil, ps.err()
	}
	c.compile(&raw, hash)
	if err := ps.err(); err != nil {
		return nil, err
	}
	c.rs.version = hex.EncodeToString(hash.Sum(nil))[:12]
	c.rs.buildIndex()
	return c.rs, nil
}

// compiler turns a rawFile into a RuleSet, collecting problems.
type compiler struct {
	ps   *problems
	path string
	read func(string) ([]byte, error)
	rs   *RuleSet

	groups     map[string][]string // sender groups, expanded
	areaGroups map[string][]string
	ruleBits   []*weekBits // allowed minutes per rule (nil = any time)
}

func (c *compiler) compile(raw *rawFile, hash interface{ Write([]byte) (int, error) }) {
	rs, ps := c.rs, c.ps
	if raw.Version != 0 && raw.Version != 1 {
		ps.add(1, "version %d is not supported (this fieldgate reads version 1)", raw.Version)
	}
	// time zone and holidays
	tz := DefaultTimezone
	if raw.Timezone.V != "" {
		tz = raw.Timezone.V
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		ps.add(raw.Timezone.Line, "unknown time zone %q (use an IANA name such as Europe/Berlin)", tz)
		loc = time.UTC
	}
	rs.loc = loc
	rs.holidays = map[int32]struct{}{}
	for _, h := range raw.Holidays {
		d, err := time.Parse("2006-01-02", h.V)
		if err != nil {
			ps.add(h.Line, "holiday %q is not a date (want YYYY-MM-DD)", h.V)
			continue
		}
		rs.holidays[dayNumber(d.Date())] = struct{}{}
	}
	rs.dispatchers = map[string]struct{}{}
	for i, d := range raw.Dispatchers.V {
		if !isJID(d) {
			ps.add(raw.Dispatchers.lineOf(i), "dispatcher %q is not a bare JID (user@domain)", d)
			continue
		}
		rs.dispatchers[lowerASCII(d)] = struct{}{}
	}
	c.compileGroups(raw)
	c.compileAreas(raw, hash)
	c.compileSchedules(raw)
	c.compilePolicies(raw)
	c.compileTeams(raw)
	c.compileAddresses(raw)
	c.compileRules(raw)
	c.compileDefault(raw)
	c.checkShadowed()
}

func (c *compiler) compileGroups(raw *rawFile) {
	c.groups = map[string][]string{}
	for _, g := range raw.Groups {
		var members []string
		for i, m := range g.V.V {
			m = lowerASCII(m)
			if !isJID(m) && !isDomain(m) {
				c.ps.add(g.V.lineOf(i), "group %q: %q is neither a JID (user@domain) nor a domain", g.Key, m)
				continue
			}
			members = append(members, m)
		}
		if len(g.V.V) == 0 {
			c.ps.add(g.Line, "group %q is empty", g.Key)
		}
		c.groups[g.Key] = members
	}
}

func (c *compiler) compileAreas(raw *rawFile, hash interface{ Write([]byte) (int, error) }) {
	rs := c.rs
	rs.areaIdx = map[string]int32{}
	c.areaGroups = map[string][]string{}
	if raw.Areas == nil {
		return
	}
	if raw.Areas.File.V == "" {
		c.ps.add(raw.Areas.File.Line, "areas: file is missing (a GeoJSON FeatureCollection, relative to this file)")
		return
	}
	p := raw.Areas.File.V
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(c.path), p)
	}
	data, err := c.read(p)
	if err != nil {
		c.ps.add(raw.Areas.File.Line, "areas: cannot read %s: %v", p, err)
		return
	}
	hash.Write([]byte{0})
	hash.Write(data)
	rs.files = append(rs.files, p)
	prop := raw.Areas.NameProperty
	if prop == "" {
		prop = "name"
	}
	rs.areas = parseGeoJSON(p, bytes.Clone(data), prop, c.ps)
	for i := range rs.areas {
		rs.areaIdx[rs.areas[i].name] = int32(i)
	}
	checkFarAway(p, rs.areas, c.ps)
	for _, g := range raw.Areas.Groups {
		if _, clash := rs.areaIdx[g.Key]; clash {
			c.ps.add(g.Line, "area group %q has the same name as an area", g.Key)
		}
		for i, n := range g.V.V {
			if _, ok := rs.areaIdx[n]; !ok {
				c.ps.add(g.V.lineOf(i), "area group %q: unknown area %q%s", g.Key, n, c.areaHint(n))
			}
		}
		c.areaGroups[g.Key] = g.V.V
	}
}

func (c *compiler) compileSchedules(raw *rawFile) {
	c.rs.schedules = map[string]Schedule{}
	for _, e := range raw.Schedules {
		s := Schedule{Name: e.Key, ICS: e.V.ICS, Period: 168 * time.Hour}
		for i, j := range e.V.Rotation.V {
			if !isJID(j) {
				c.ps.add(e.V.Rotation.lineOf(i), "schedule %q: %q is not a JID (user@domain)", e.Key, j)
			}
			s.Rotation = append(s.Rotation, lowerASCII(j))
		}
		if len(s.Rotation) == 0 && s.ICS == "" {
			c.ps.add(e.Line, "schedule %q has no rotation and no ics", e.Key)
		}
		if e.V.Start.Set {
			s.Start = c.parseTime(e.V.Start, "schedule "+e.Key+": start")
		}
		if e.V.Period.Set {
			s.Period = c.parseDuration(e.V.Period, "schedule "+e.Key+": period")
			if s.Period <= 0 {
				c.ps.add(e.V.Period.Line, "schedule %q: period must be positive", e.Key)
			}
		}
		for _, o := range e.V.Overrides {
			ov := Override{Person: lowerASCII(o.V.Person)}
			ov.From = c.parseTime(o.V.From, "override from")
			ov.To = c.parseTime(o.V.To, "override to")
			if !isJID(ov.Person) {
				c.ps.add(o.Line, "schedule %q: override person %q is not a JID", e.Key, o.V.Person)
			}
			if !ov.To.After(ov.From) {
				c.ps.add(o.Line, "schedule %q: override ends before it starts", e.Key)
			}
			s.Overrides = append(s.Overrides, ov)
		}
		c.rs.schedules[e.Key] = s
	}
}

func (c *compiler) compilePolicies(raw *rawFile) {
	c.rs.policies = map[string]Policy{}
	for _, e := range raw.Policies {
		p := Policy{Name: e.Key}
		if e.V.AckTimeout.Set {
			p.AckTimeout = c.parseDuration(e.V.AckTimeout, "policy "+e.Key+": ack_timeout")
		}
		if len(e.V.Levels) == 0 {
			c.ps.add(e.Line, "policy %q has no levels", e.Key)
		}
		var last time.Duration = -1
		for _, l := range e.V.Levels {
			lv := Level{Repeat: l.V.Repeat}
			lv.After = c.parseDuration(l.V.After, "policy "+e.Key+": after")
			if !l.V.After.Set {
				c.ps.add(l.Line, "policy %q: level needs after (e.g. after: 30m)", e.Key)
			}
			if lv.After <= last {
				c.ps.add(l.V.After.Line, "policy %q: levels must come in increasing order of after", e.Key)
			}
			last = lv.After
			if l.V.RepeatEvery.Set {
				lv.RepeatEvery = c.parseDuration(l.V.RepeatEvery, "policy "+e.Key+": repeat_every")
			}
			if lv.Repeat < 0 || (lv.Repeat > 0 && lv.RepeatEvery <= 0) {
				c.ps.add(l.Line, "policy %q: repeat needs a positive repeat_every", e.Key)
			}
			if len(l.V.Notify.V) == 0 {
				c.ps.add(l.Line, "policy %q: level has nothing to notify", e.Key)
			}
			for i, n := range l.V.Notify.V {
				t, ok := parseTarget(n)
				if !ok {
					c.ps.add(l.V.Notify.lineOf(i), "policy %q: notify %q: want room, team:ID, oncall, oncall:SCHEDULE or person:JID", e.Key, n)
					continue
				}
				lv.Targets = append(lv.Targets, t)
			}
			p.Levels = append(p.Levels, lv)
		}
		c.rs.policies[e.Key] = p
	}
	// team references in targets are checked after the teams are known
	for _, e := range raw.Policies {
		for _, l := range e.V.Levels {
			for i, n := range l.V.Notify.V {
				t, ok := parseTarget(n)
				if !ok {
					continue
				}
				switch t.Kind {
				case "team":
					if !hasEntry(raw.Teams, t.Ref) {
						c.ps.add(l.V.Notify.lineOf(i), "policy %q: unknown team %q%s", e.Key, t.Ref, hintEntries(raw.Teams, t.Ref))
					}
				case "oncall":
					if _, ok := c.rs.schedules[t.Ref]; t.Ref != "" && !ok {
						c.ps.add(l.V.Notify.lineOf(i), "policy %q: unknown schedule %q", e.Key, t.Ref)
					}
				}
			}
		}
	}
}

func parseTarget(s string) (Target, bool) {
	kind, ref, _ := cutColon(s)
	switch kind {
	case "room":
		return Target{Kind: "room"}, ref == ""
	case "oncall":
		return Target{Kind: "oncall", Ref: ref}, true
	case "team":
		return Target{Kind: "team", Ref: ref}, ref != ""
	case "person":
		return Target{Kind: "person", Ref: lowerASCII(ref)}, isJID(ref)
	}
	return Target{}, false
}

func (c *compiler) compileTeams(raw *rawFile) {
	rs := c.rs
	rs.teamIdx = map[string]int{}
	for _, e := range raw.Teams {
		t := Team{ID: e.Key, Name: e.V.Name, Room: lowerASCII(e.V.Room.V), OnCall: e.V.OnCall.V, Policy: e.V.Policy.V, Language: e.V.Language.V}
		if t.Name == "" {
			t.Name = t.ID
		}
		if !validID(e.Key) {
			c.ps.add(e.Line, "team id %q: use lower-case letters, digits and - only", e.Key)
		}
		switch {
		case !e.V.Room.Set:
			c.ps.add(e.Line, "team %q has no room (the MUC's bare JID)", e.Key)
		case !isJID(t.Room):
			c.ps.add(e.V.Room.Line, "team %q: room %q is not a bare JID (room@conference.domain)", e.Key, e.V.Room.V)
		}
		if t.OnCall != "" {
			if _, ok := rs.schedules[t.OnCall]; !ok {
				c.ps.add(e.V.OnCall.Line, "team %q: unknown on-call schedule %q", e.Key, t.OnCall)
			}
		}
		if t.Policy != "" {
			if _, ok := rs.policies[t.Policy]; !ok {
				c.ps.add(e.V.Policy.Line, "team %q: unknown escalation policy %q%s", e.Key, t.Policy, hintMap(rs.policies, t.Policy))
			}
		}
		t.Language = c.language(e.V.Language)
		for i, m := range e.V.Members.V {
			if !isJID(m) {
				c.ps.add(e.V.Members.lineOf(i), "team %q: member %q is not a JID (user@domain)", e.Key, m)
			}
			t.Members = append(t.Members, lowerASCII(m))
		}
		t.Hours = c.windows(e.V.Hours, "team "+e.Key+" hours")
		rs.teamIdx[t.ID] = len(rs.teams)
		rs.teams = append(rs.teams, t)
	}
	if len(rs.teams) == 0 {
		c.ps.add(1, "no teams: define at least one under teams:")
	}
}

func (c *compiler) language(l lined[string]) string {
	switch l.V {
	case "":
		return "de"
	case "de", "en":
		return l.V
	}
	c.ps.add(l.Line, "language %q: use de or en", l.V)
	return "de"
}

func (c *compiler) compileAddresses(raw *rawFile) {
	rs := c.rs
	rs.addrIdx = map[string]int32{}
	for _, e := range raw.Addresses {
		a := Address{Name: e.Key, DisplayName: e.V.DisplayName, Description: e.V.Description, DefaultTeam: e.V.DefaultTeam.V, Urgent: e.V.Urgent}
		if a.DisplayName == "" {
			a.DisplayName = a.Name
		}
		if lowerASCII(e.Key) != e.Key || !validLocalpart(e.Key) {
			c.ps.add(e.Line, "address %q: write the local part in lower case without @ or spaces", e.Key)
		}
		if len(e.V.Allow.V) == 0 {
			c.ps.add(e.Line, "address %q has no allow list (public, a domain, or JIDs)", e.Key)
		}
		for i, al := range e.V.Allow.V {
			al = lowerASCII(al)
			if al != "public" && !isJID(al) && !isDomain(al) {
				c.ps.add(e.V.Allow.lineOf(i), "address %q: allow %q is not public, a JID or a domain", e.Key, al)
			}
			a.Allow = append(a.Allow, al)
		}
		a.Language = c.language(e.V.Language)
		if a.DefaultTeam != "" {
			if _, ok := rs.teamIdx[a.DefaultTeam]; !ok {
				c.ps.add(e.V.DefaultTeam.Line, "address %q: unknown team %q%s", e.Key, a.DefaultTeam, c.teamHint(a.DefaultTeam))
			}
		}
		rs.addrIdx[a.Name] = int32(len(rs.addrs))
		rs.addrs = append(rs.addrs, a)
		var def *action
		if a.DefaultTeam != "" {
			def = &action{rule: "address:" + a.Name, team: a.DefaultTeam, policy: c.teamPolicy(a.DefaultTeam)}
		}
		rs.addrDefs = append(rs.addrDefs, def)
	}
}

func (c *compiler) teamPolicy(team string) string {
	if i, ok := c.rs.teamIdx[team]; ok {
		return c.rs.teams[i].Policy
	}
	return ""
}

// action validates a rule's (or the default's) target.
func (c *compiler) action(a *rawAction, what string, line int) action {
	rs := c.rs
	act := action{team: a.Team.V, priority: a.Priority.V, policy: a.Policy.V, category: a.Category}
	if !a.Team.Set || a.Team.V == "" {
		c.ps.add(line, "%s has no team", what)
	} else if _, ok := rs.teamIdx[act.team]; !ok {
		c.ps.add(a.Team.Line, "%s: unknown team %q%s", what, act.team, c.teamHint(act.team))
	}
	switch act.priority {
	case "", PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		c.ps.add(a.Priority.Line, "%s: priority %q: use low, normal, high or urgent", what, act.priority)
	}
	if act.policy == "" {
		act.policy = c.teamPolicy(act.team)
	} else if act.policy != "none" {
		if _, ok := rs.policies[act.policy]; !ok {
			c.ps.add(a.Policy.Line, "%s: unknown escalation policy %q%s", what, act.policy, hintMap(rs.policies, act.policy))
		}
	} else {
		act.policy = ""
	}
	for i, cc := range a.CC.V {
		if _, ok := rs.teamIdx[cc]; !ok {
			c.ps.add(a.CC.lineOf(i), "%s: cc: unknown team %q%s", what, cc, c.teamHint(cc))
		}
		act.cc = append(act.cc, cc)
	}
	return act
}

func (c *compiler) compileDefault(raw *rawFile) {
	if raw.Default == nil {
		c.ps.add(1, "no default: the file must end with a default: {team: …} that takes every report no rule matched")
		return
	}
	c.rs.def = c.action(&raw.Default.V, "default", raw.Default.Line)
	c.rs.def.rule = "default"
}

// parseDuration accepts Go durations plus a "d" suffix for days.
func (c *compiler) parseDuration(l lined[string], what string) time.Duration {
	if !l.Set {
		return 0
	}
	d, err := parseDur(l.V)
	if err != nil {
		c.ps.add(l.Line, "%s: %q is not a duration (e.g. 30m, 2h, 7d)", what, l.V)
	}
	return d
}

func parseDur(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		d, err := time.ParseDuration(s[:n-1] + "h")
		return d * 24, err
	}
	return time.ParseDuration(s)
}

// parseTime reads a time in the town's zone ("2026-11-02T08:00") or with
// an offset (RFC 3339).
func (c *compiler) parseTime(l lined[string], what string) time.Time {
	t, err := ParseTime(l.V, c.rs.loc)
	if err != nil {
		c.ps.add(l.Line, "%s: %v", what, err)
	}
	return t
}

// ParseTime reads "2026-11-22T23:10" (or with seconds, or a date) as wall
// clock time in loc, or an RFC 3339 time with its own offset.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want 2026-11-22T23:10 in the town's zone, or RFC 3339)", s)
}
