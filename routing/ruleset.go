package routing

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// RuleSet is a loaded, validated and compiled rules file. It is immutable
// and safe for concurrent use.
type RuleSet struct {
	path     string
	files    []string // every file read, the rules file first
	version  string
	loadedAt time.Time

	warnings []Problem // see Warnings

	loc         *time.Location
	holidays    map[int32]struct{}
	dispatchers map[string]struct{}

	teams     []Team
	teamIdx   map[string]int
	addrs     []Address
	addrIdx   map[string]int32
	policies  map[string]Policy
	schedules map[string]Schedule

	areas   []area
	areaIdx map[string]int32
	grid    *grid

	districtsOnce sync.Once // builds districtsJSON, see DistrictsGeoJSON
	districtsJSON []byte

	rules    []rule
	def      action
	addrDefs []*action // per address: its default team, or nil

	idx  index
	pool sync.Pool // *scratch
}

// rule is a compiled rule. Conditions in a rule are ANDed; the lists
// inside one condition are ORed.
type rule struct {
	name string
	line int

	addrs    []int32  // address ids
	addrList []string // as written, for explanations
	keywords []string // folded
	kwList   []string // as written
	inside   []int32  // area ids
	near     []int32  // area ids
	nearM    float64
	position int8 // 0 any, 1 must have one, -1 must have none
	time     []Window
	notTime  []Window
	timeDesc string // explanation of time conditions
	senders  map[string]struct{}
	sendList []string
	urgent   int8 // 0 any, 1 urgent only, -1 not urgent only

	act action
}

// action is where a matched rule sends the report.
type action struct {
	rule     string
	team     string
	priority string // "" = urgent for urgent reports, else normal
	policy   string
	cc       []string
	category string
}

// Version is a short hash of every loaded file's content.
func (rs *RuleSet) Version() string { return rs.version }

// LoadedAt is when the rule set was loaded.
func (rs *RuleSet) LoadedAt() time.Time { return rs.loadedAt }

// Path is the rules file the set was loaded from.
func (rs *RuleSet) Path() string { return rs.path }

// Files lists every file the set was loaded from, the rules file first.
func (rs *RuleSet) Files() []string { return append([]string(nil), rs.files...) }

// Location is the town's time zone (default Europe/Berlin).
func (rs *RuleSet) Location() *time.Location { return rs.loc }

// Team returns a team by id.
func (rs *RuleSet) Team(id string) (Team, bool) {
	i, ok := rs.teamIdx[id]
	if !ok {
		return Team{}, false
	}
	return rs.teams[i], true
}

// Teams returns all teams in file order.
func (rs *RuleSet) Teams() []Team { return append([]Team(nil), rs.teams...) }

// Address returns a function address by its local part (case-insensitive).
func (rs *RuleSet) Address(name string) (Address, bool) {
	i, ok := rs.addrIdx[lowerASCII(name)]
	if !ok {
		return Address{}, false
	}
	return rs.addrs[i], true
}

// Addresses returns all function addresses in file order.
func (rs *RuleSet) Addresses() []Address { return append([]Address(nil), rs.addrs...) }

// Policy returns an escalation policy by name.
func (rs *RuleSet) Policy(name string) (Policy, bool) {
	p, ok := rs.policies[name]
	return p, ok
}

// Schedule returns an on-call schedule by name.
func (rs *RuleSet) Schedule(name string) (Schedule, bool) {
	s, ok := rs.schedules[name]
	return s, ok
}

// Warnings lists what loaded but may not be what was meant (a district
// file in [latitude, longitude] order that was swapped, districts far
// from the town's centre), with file and line, for `rules check`.
func (rs *RuleSet) Warnings() []Problem { return append([]Problem(nil), rs.warnings...) }

// Schedules returns all on-call schedules, sorted by name.
func (rs *RuleSet) Schedules() []Schedule {
	out := make([]Schedule, 0, len(rs.schedules))
	for _, s := range rs.schedules {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Schedule) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// IsDispatcher reports whether bareJID is listed under dispatchers.
func (rs *RuleSet) IsDispatcher(bareJID string) bool {
	_, ok := rs.dispatchers[lowerASCII(bareJID)]
	return ok
}

// Dispatchers returns the dispatchers' bare JIDs, sorted.
func (rs *RuleSet) Dispatchers() []string {
	out := make([]string, 0, len(rs.dispatchers))
	for d := range rs.dispatchers {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Areas returns the names of all areas in file order.
func (rs *RuleSet) Areas() []string {
	out := make([]string, len(rs.areas))
	for i := range rs.areas {
		out[i] = rs.areas[i].name
	}
	return out
}

// RuleCount is the number of rules (without the default).
func (rs *RuleSet) RuleCount() int { return len(rs.rules) }

// lowerASCII lower-cases s without allocating when it already is.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
