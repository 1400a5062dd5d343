package routing

import (
	"math/bits"
	"strings"
)

// eval is one report under evaluation.
type eval struct {
	rs       *RuleSet
	in       *Input
	s        *scratch // nil in Explain: no caching
	q        pt
	hasPos   bool
	addr     int32 // address id, -1 when unknown
	urgent   bool
	clk      clock
	clkDone  bool
	folded   string // Explain only
	sender   []byte // lower-cased bare JID
	domainAt int    // index of the domain in sender, -1 if none
}

func (rs *RuleSet) newEval(in *Input, s *scratch) eval {
	ev := eval{rs: rs, in: in, s: s, addr: -1}
	if id, ok := rs.addrIdx[in.Address]; ok {
		ev.addr = id
	} else if id, ok := rs.addrIdx[localPart(in.Address)]; ok {
		ev.addr = id // "Tiefbau" or "tiefbau@reports.example"
	}
	ev.urgent = in.Urgent || (ev.addr >= 0 && rs.addrs[ev.addr].Urgent)
	if in.Position != nil {
		ev.q, ev.hasPos = pt{in.Position.Lon, in.Position.Lat}, true
	}
	return ev
}

// Decide routes a report. It is safe for concurrent use and does not
// allocate in the common case; the Decision's Trail is empty.
func (rs *RuleSet) Decide(in *Input) Decision {
	s := rs.pool.Get().(*scratch)
	d := rs.decide(in, s)
	s.reset()
	rs.pool.Put(s)
	return d
}

func or(dst, src []uint64) {
	for i := range dst {
		dst[i] |= src[i]
	}
}

func and(dst, src []uint64) {
	for i := range dst {
		dst[i] &= src[i]
	}
}

func (rs *RuleSet) decide(in *Input, s *scratch) Decision {
	ix := &rs.idx
	ev := rs.newEval(in, s)
	mask := s.mask
	if ev.addr >= 0 {
		copy(mask, ix.addrMask[ev.addr])
	} else {
		copy(mask, ix.noAddr)
	}
	if ix.hasArea {
		if ev.hasPos {
			tmp := s.tmp
			copy(tmp, ix.noArea)
			for _, a := range rs.grid.query(ev.q) {
				if rs.grid.boxes[a].contains(ev.q) {
					or(tmp, ix.areaMask[a])
				}
			}
			and(mask, tmp)
		} else {
			and(mask, ix.noArea)
		}
	}
	if in.Sender != "" {
		s.sender = appendLower(s.sender[:0], in.Sender)
		ev.setSender(s.sender)
	}
	// Keywords are matched lazily: folding the text is skipped when a rule
	// without keywords decides first.
	kwDone := false
	for w, word := range mask {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			i := w*64 + b
			r := &rs.rules[i]
			if len(r.keywords) > 0 {
				if !kwDone {
					rs.matchKeywords(in.Text, s)
					kwDone = true
				}
				if s.kwRules[i/64]&(1<<(i%64)) == 0 {
					continue
				}
			}
			if ev.failed(r, false) == condNone {
				return ev.decision(&r.act)
			}
		}
	}
	return ev.decision(rs.fallback(ev.addr))
}

// setSender records the lower-cased JID in b (b outlives the evaluation).
func (ev *eval) setSender(b []byte) {
	ev.sender, ev.domainAt = b, -1
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '@' {
			ev.domainAt = i + 1
			break
		}
	}
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// fallback is the action when no rule matched: the address's default team
// if it has one, else the file's default.
func (rs *RuleSet) fallback(addr int32) *action {
	if addr >= 0 && rs.addrDefs[addr] != nil {
		return rs.addrDefs[addr]
	}
	return &rs.def
}

func (ev *eval) decision(a *action) Decision {
	p := a.priority
	if p == "" {
		p = PriorityNormal
		if ev.urgent {
			p = PriorityUrgent
		}
	}
	return Decision{
		Rule:     a.rule,
		Team:     a.team,
		Priority: p,
		Policy:   a.policy,
		CC:       a.cc,
		District: ev.district(),
		Category: a.category,
	}
}

// district is the first area (in file order) containing the position.
func (ev *eval) district() string {
	if !ev.hasPos {
		return ""
	}
	rs := ev.rs
	if ev.s == nil {
		for i := range rs.areas {
			if rs.areas[i].containsNaive(ev.q) {
				return rs.areas[i].name
			}
		}
		return ""
	}
	for _, a := range rs.grid.query(ev.q) {
		if ev.inside(a) {
			return rs.areas[a].name
		}
	}
	return ""
}

// inside tests area a, cached per decision.
func (ev *eval) inside(a int32) bool {
	if ev.s == nil {
		return ev.rs.areas[a].containsNaive(ev.q)
	}
	switch ev.s.state[a] {
	case 1:
		return true
	case 2:
		return false
	}
	in := ev.rs.areas[a].contains(ev.q)
	ev.s.state[a] = 2
	if in {
		ev.s.state[a] = 1
	}
	ev.s.touched = append(ev.s.touched, a)
	return in
}

// cond names a condition kind, in the order they are checked.
type cond uint8

const (
	condNone cond = iota
	condAddress
	condPosition
	condArea
	condNear
	condKeywords
	condTime
	condNotTime
	condSender
	condUrgent
)

// failed returns the first condition of r that the report does not meet.
// With full set it also checks the address and keywords (which Decide's
// bitsets already settled).
func (ev *eval) failed(r *rule, full bool) cond {
	if full && len(r.addrs) > 0 {
		ok := false
		for _, a := range r.addrs {
			if a == ev.addr {
				ok = true
				break
			}
		}
		if !ok {
			return condAddress
		}
	}
	if r.position != 0 && (r.position > 0) != ev.hasPos {
		return condPosition
	}
	if len(r.inside) > 0 {
		if !ev.hasPos {
			return condArea
		}
		ok := false
		for _, a := range r.inside {
			if ev.inside(a) {
				ok = true
				break
			}
		}
		if !ok {
			return condArea
		}
	}
	if len(r.near) > 0 {
		if !ev.hasPos {
			return condNear
		}
		ok := false
		for _, a := range r.near {
			if ev.rs.areas[a].within(ev.q, r.nearM, ev.s == nil) {
				ok = true
				break
			}
		}
		if !ok {
			return condNear
		}
	}
	if full && len(r.keywords) > 0 {
		ok := false
		for _, k := range r.keywords {
			if hasWordPrefix(ev.folded, k) {
				ok = true
				break
			}
		}
		if !ok {
			return condKeywords
		}
	}
	if len(r.time) > 0 || len(r.notTime) > 0 {
		if !ev.clkDone {
			ev.clk, ev.clkDone = ev.rs.clockAt(ev.in.At), true
		}
		if len(r.time) > 0 {
			ok := false
			for i := range r.time {
				if r.time[i].match(&ev.clk) {
					ok = true
					break
				}
			}
			if !ok {
				return condTime
			}
		}
		for i := range r.notTime {
			if r.notTime[i].match(&ev.clk) {
				return condNotTime
			}
		}
	}
	if r.senders != nil {
		if len(ev.sender) == 0 {
			return condSender
		}
		_, ok := r.senders[string(ev.sender)]
		if !ok && ev.domainAt > 0 {
			_, ok = r.senders[string(ev.sender[ev.domainAt:])]
		}
		if !ok {
			return condSender
		}
	}
	if r.urgent != 0 && (r.urgent > 0) != ev.urgent {
		return condUrgent
	}
	return condNone
}

// localPart lower-cases an address and drops a domain.
func localPart(a string) string {
	if i := strings.IndexByte(a, '@'); i >= 0 {
		a = a[:i]
	}
	return lowerASCII(a)
}
