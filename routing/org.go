package routing

// Compiling the organisation: schedules, escalation policies, teams,
// function addresses and the targets of rules.

import (
	"strings"
	"time"
)

func (c *compiler) compileSchedules(raw *rawFile) {
	c.rs.schedules = map[string]Schedule{}
	for _, e := range raw.Schedules {
		s := Schedule{Name: e.Key, ICS: e.V.ICS, Period: 168 * time.Hour, ICSCategory: e.V.Category, ICSProperty: strings.ToUpper(e.V.Property.V)}
		if (s.ICSCategory != "" || s.ICSProperty != "") && s.ICS == "" {
			c.ps.add(e.Line, "schedule %q: ics_category and ics_property need ics", e.Key)
		}
		if p := s.ICSProperty; p != "" && (p == "DTSTART" || p == "UID" || strings.ContainsAny(p, ";:,\" \t")) {
			c.ps.add(e.V.Property.Line, "schedule %q: ics_property %q cannot select events (use CATEGORIES or an X- property)", e.Key, e.V.Property.V)
		}
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
		p := Policy{Name: e.Key, Confirmers: 1}
		if e.V.Confirmers.Set {
			if n := e.V.Confirmers.V; n == 1 || n == 2 {
				p.Confirmers = n
			} else {
				c.ps.add(e.V.Confirmers.Line, "policy %q: confirmers %d: use 1 or 2", e.Key, n)
			}
		}
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
	open311Codes := map[string]string{}
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
		a.Open311 = c.compileOpen311(e.Key, e.V.Open311, open311Codes)
		switch a.Encryption = e.V.Encryption.V; a.Encryption {
		case "":
			a.Encryption = EncryptionPreferred
		case EncryptionPreferred, EncryptionRequired, EncryptionOff:
		default:
			c.ps.add(e.V.Encryption.Line, "address %q: encryption %q: use preferred, required or off", e.Key, a.Encryption)
		}
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
