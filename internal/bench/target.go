package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A Target is what a load must reach, as ratios to the floor measured in
// the same run (deploy/SCALING.md, issue 17's table). It is written in a
// load SPEC as target=TERM+TERM…, each TERM one of
//
//	p50<=X        fieldgate's p50 end-to-end latency at most X × the floor's
//	throughput>=X fieldgate's throughput at least X × the floor's
//	links         every report's post in the room carries its photo's team-copy link
type Target struct {
	MaxP50Ratio       float64 // 0: no bound
	MinThroughputRate float64 // 0: no bound
	Links             bool
}

// ParseTarget reads target terms ("p50<=5", "throughput>=0.5+p50<=3", "links").
func ParseTarget(s string) (Target, error) {
	var t Target
	for _, term := range strings.Split(s, "+") {
		term = strings.TrimSpace(term)
		var err error
		switch {
		case term == "links":
			t.Links = true
		case strings.HasPrefix(term, "p50<="):
			t.MaxP50Ratio, err = strconv.ParseFloat(strings.TrimPrefix(term, "p50<="), 64)
		case strings.HasPrefix(term, "throughput>="):
			t.MinThroughputRate, err = strconv.ParseFloat(strings.TrimPrefix(term, "throughput>="), 64)
		default:
			err = fmt.Errorf("unknown term (p50<=X, throughput>=X, links)")
		}
		if err != nil {
			return Target{}, fmt.Errorf("target %q: %w", term, err)
		}
	}
	if t.MaxP50Ratio < 0 || t.MinThroughputRate < 0 {
		return Target{}, fmt.Errorf("target %q: ratios must be positive", s)
	}
	return t, nil
}

// String is the target as the table prints it.
func (t Target) String() string {
	var terms []string
	if t.MinThroughputRate > 0 {
		terms = append(terms, fmt.Sprintf("throughput ≥ %g×", t.MinThroughputRate))
	}
	if t.MaxP50Ratio > 0 {
		terms = append(terms, fmt.Sprintf("p50 ≤ %g×", t.MaxP50Ratio))
	}
	if t.Links {
		terms = append(terms, "team copy linked in the room")
	}
	return strings.Join(terms, ", ")
}

// IsZero reports whether no target was set.
func (t Target) IsZero() bool { return t == Target{} }

// Met tells whether r reaches t. A load with errors never meets its target.
func (t Target) Met(r Result) bool {
	if r.Fieldgate.Errors > 0 || r.Fieldgate.OK == 0 {
		return false
	}
	if t.MaxP50Ratio > 0 && (r.P50Ratio <= 0 || r.P50Ratio > t.MaxP50Ratio) {
		return false
	}
	if t.MinThroughputRate > 0 && r.ThroughputRatio < t.MinThroughputRate {
		return false
	}
	if t.Links && r.Fieldgate.Linked != r.Fieldgate.OK {
		return false
	}
	return true
}

// loadAverage reads the 1-minute load average (Linux /proc/loadavg); -1
// where it cannot be read. Every figure is printed with it: on a shared
// machine it says how far the figures can be trusted.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}
