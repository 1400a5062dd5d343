//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

package routing

import "testing"

func TestDecideDoesNotAllocate(t *testing.T) {
	rs, inputs := genRuleSet(t, genConfig{rules: 300, polygons: 100, minVerts: 50, maxVerts: 200, addresses: 10, inputs: 256, seed: 5})
	i := 0
	rs.Decide(&inputs[0]) // warm the pool
	allocs := testing.AllocsPerRun(2000, func() {
		rs.Decide(&inputs[i%len(inputs)])
		i++
	})
	if allocs > 2 {
		t.Errorf("Decide allocates %.2f objects per call, want at most 2", allocs)
	}
}
