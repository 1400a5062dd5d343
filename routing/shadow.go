package routing

import "strings"

// checkShadowed reports rules that can never match because an earlier
// rule matches every report they would. It is conservative: it only
// reports what it can prove from the conditions, and runs only on a file
// without other mistakes (a dropped unknown name would fake a proof).
func (c *compiler) checkShadowed() {
	if len(c.ps.list) > 0 {
		return
	}
	rules := c.rs.rules
	for j := range rules {
		for i := 0; i < j; i++ {
			if c.covers(i, j) {
				c.ps.add(rules[j].line, "rule %q is unreachable: every report it matches is already taken by rule %q at line %d", rules[j].name, rules[i].name, rules[i].line)
				break
			}
		}
	}
}

// covers reports whether rule a matches every report rule b matches.
func (c *compiler) covers(ai, bi int) bool {
	a, b := &c.rs.rules[ai], &c.rs.rules[bi]
	if len(a.addrs) > 0 && (len(b.addrs) == 0 || !subset(b.addrs, a.addrs)) {
		return false
	}
	bNeedsPos := b.position > 0 || len(b.inside) > 0 || len(b.near) > 0
	switch {
	case a.position > 0 && !bNeedsPos:
		return false
	case a.position < 0 && b.position >= 0:
		return false
	}
	if len(a.inside) > 0 && (len(b.inside) == 0 || !subset(b.inside, a.inside)) {
		return false
	}
	if len(a.near) > 0 {
		viaNear := len(b.near) > 0 && subset(b.near, a.near) && b.nearM <= a.nearM
		viaInside := len(b.inside) > 0 && subset(b.inside, a.near)
		if !viaNear && !viaInside {
			return false
		}
	}
	if len(a.keywords) > 0 {
		if len(b.keywords) == 0 {
			return false
		}
		for _, bk := range b.keywords {
			found := false
			for _, ak := range a.keywords {
				if strings.HasPrefix(bk, ak) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	if at := c.ruleBits[ai]; at != nil {
		bt := c.ruleBits[bi]
		if bt == nil {
			bt = fullWeek()
		}
		if !bt.subsetOf(at) {
			return false
		}
	}
	if a.senders != nil {
		if b.senders == nil {
			return false
		}
		for s := range b.senders {
			if _, ok := a.senders[s]; ok {
				continue
			}
			if at := strings.LastIndexByte(s, '@'); at >= 0 {
				if _, ok := a.senders[s[at+1:]]; ok {
					continue
				}
			}
			return false
		}
	}
	if a.urgent != 0 && a.urgent != b.urgent {
		return false
	}
	return true
}

func subset(small, big []int32) bool {
	for _, x := range small {
		found := false
		for _, y := range big {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
