package routing

import (
	"fmt"
	"strings"
)

// Explain routes a report like Decide and fills Decision.Trail: one Step
// per rule up to the one that matched, each earlier rule with the first
// condition it failed. It checks rule by rule without the index, so it
// also serves as the reference Decide is tested against.
func (rs *RuleSet) Explain(in *Input) Decision {
	return rs.linear(in, true)
}

// linear is the naive scan: every rule in order, every condition checked
// directly. With trail unset it is the benchmark baseline.
func (rs *RuleSet) linear(in *Input, trail bool) Decision {
	ev := rs.newEval(in, nil)
	ev.folded = string(appendFolded(nil, in.Text))
	if in.Sender != "" {
		ev.setSender(appendLower(nil, in.Sender))
	}
	var steps []Step
	for i := range rs.rules {
		r := &rs.rules[i]
		c := ev.failed(r, true)
		if trail {
			st := Step{Rule: r.name, Line: r.line, Matched: c == condNone}
			if c != condNone {
				st.Failed = ev.describe(r, c)
			}
			steps = append(steps, st)
		}
		if c == condNone {
			d := ev.decision(&r.act)
			d.Trail = steps
			return d
		}
	}
	d := ev.decision(rs.fallback(ev.addr))
	d.Trail = steps
	return d
}

// describe says in words why condition c of rule r failed.
func (ev *eval) describe(r *rule, c cond) string {
	in := ev.in
	switch c {
	case condAddress:
		return fmt.Sprintf("address: %q is not %s", in.Address, strings.Join(r.addrList, " or "))
	case condPosition:
		if r.position > 0 {
			return "position: the report has no position"
		}
		return "position: the report has a position, the rule wants none"
	case condArea:
		if !ev.hasPos {
			return "area: the report has no position"
		}
		return fmt.Sprintf("area: %.5f,%.5f is not inside %s", ev.q.y, ev.q.x, ev.areaNames(r.inside))
	case condNear:
		if !ev.hasPos {
			return "near: the report has no position"
		}
		return fmt.Sprintf("near: %.5f,%.5f is farther than %gm from %s", ev.q.y, ev.q.x, r.nearM, ev.areaNames(r.near))
	case condKeywords:
		return fmt.Sprintf("keywords: the text has none of %s", strings.Join(r.kwList, ", "))
	case condTime, condNotTime:
		return fmt.Sprintf("time: %s%s is not %s", ev.clk.local.Format("Mon 2006-01-02 15:04 MST"), ev.holidayNote(), r.timeDesc)
	case condSender:
		if len(ev.sender) == 0 {
			return "sender: the report has no sender JID"
		}
		return fmt.Sprintf("sender: %s is not in %s", ev.sender, strings.Join(r.sendList, ", "))
	case condUrgent:
		if r.urgent > 0 {
			return "urgent: the report is not urgent"
		}
		return "urgent: the report is urgent, the rule wants non-urgent ones"
	}
	return ""
}

func (ev *eval) holidayNote() string {
	if ev.clk.today == 1<<DayHoliday {
		return " (public holiday)"
	}
	return ""
}

func (ev *eval) areaNames(ids []int32) string {
	names := make([]string, len(ids))
	for i, a := range ids {
		names[i] = ev.rs.areas[a].name
	}
	if len(names) > 6 {
		return strings.Join(names[:6], ", ") + fmt.Sprintf(" and %d more", len(names)-6)
	}
	return strings.Join(names, ", ")
}
