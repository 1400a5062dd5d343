package routing

// index holds per-dimension bitsets over the rules (bit i = rule i may
// match). Decide ANDs the bitsets for the report's address and position,
// then checks the rules left in order; the keyword bitsets are ORed only
// when the first rule with keywords comes up.
type index struct {
	nw int // uint64 words per bitset

	addrMask [][]uint64 // per address: rules naming it or naming no address
	noAddr   []uint64   // rules without an address condition

	trie   *trie
	kwMask [][]uint64 // per keyword: rules listing it

	areaMask [][]uint64 // per area: rules whose area/near lists it
	noArea   []uint64   // rules without an area condition
	hasArea  bool
}

func newBits(nw int) []uint64 { return make([]uint64, nw) }

func setBit(b []uint64, i int) { b[i/64] |= 1 << (i % 64) }

func (rs *RuleSet) buildIndex() {
	n := len(rs.rules)
	ix := &rs.idx
	ix.nw = max((n+63)/64, 1)
	ix.noAddr = newBits(ix.nw)
	ix.noArea = newBits(ix.nw)
	ix.addrMask = make([][]uint64, len(rs.addrs))
	for i := range ix.addrMask {
		ix.addrMask[i] = newBits(ix.nw)
	}
	ix.areaMask = make([][]uint64, len(rs.areas))
	for i := range ix.areaMask {
		ix.areaMask[i] = newBits(ix.nw)
	}
	ix.trie = newTrie()
	var nextKw int32
	grow := make([]float64, len(rs.areas)) // largest near distance per area
	for i := range rs.rules {
		r := &rs.rules[i]
		if len(r.addrs) == 0 {
			setBit(ix.noAddr, i)
			for a := range ix.addrMask {
				setBit(ix.addrMask[a], i)
			}
		}
		for _, a := range r.addrs {
			setBit(ix.addrMask[a], i)
		}
		for _, k := range r.keywords {
			id := ix.trie.insert(k, &nextKw)
			for int(id) >= len(ix.kwMask) {
				ix.kwMask = append(ix.kwMask, newBits(ix.nw))
			}
			setBit(ix.kwMask[id], i)
		}
		if len(r.inside) == 0 && len(r.near) == 0 {
			setBit(ix.noArea, i)
			continue
		}
		ix.hasArea = true
		// A rule with both an area and a near condition is a candidate
		// when either list's box contains the point; verify does the rest.
		for _, a := range r.inside {
			setBit(ix.areaMask[a], i)
		}
		for _, a := range r.near {
			setBit(ix.areaMask[a], i)
			grow[a] = max(grow[a], r.nearM)
		}
	}
	ix.trie.seal()
	boxes := make([]bbox, len(rs.areas))
	for i := range rs.areas {
		boxes[i] = rs.areas[i].box.grow(grow[i])
	}
	rs.grid = newGrid(boxes)
	rs.pool.New = func() any { return rs.newScratch() }
}

// scratch is per-decision working memory, pooled so Decide does not
// allocate.
type scratch struct {
	mask    []uint64
	tmp     []uint64
	kwRules []uint64 // rules with a keyword in the text
	text    []byte
	kw      []int32
	state   []uint8 // per area: 0 unknown, 1 inside, 2 outside
	touched []int32
	sender  []byte
}

func (rs *RuleSet) newScratch() *scratch {
	return &scratch{
		mask:    newBits(rs.idx.nw),
		tmp:     newBits(rs.idx.nw),
		kwRules: newBits(rs.idx.nw),
		text:    make([]byte, 0, 512),
		kw:      make([]int32, 0, 16),
		state:   make([]uint8, len(rs.areas)),
	}
}

func (s *scratch) reset() {
	for _, a := range s.touched {
		s.state[a] = 0
	}
	s.touched = s.touched[:0]
}
