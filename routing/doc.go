// Package routing decides which team gets a report.
//
// The town's organisation is written down in a YAML rules file (see
// deploy/rules.example.yaml): teams, function addresses, escalation
// policies, on-call schedules, areas loaded from a GeoJSON file, and an
// ordered list of rules. Load validates the file and compiles it into an
// index: a grid over the areas' bounding boxes; per polygon a grid of
// wholly-inside/outside cells and edges bucketed by latitude; a keyword
// trie; bitsets of candidate rules per address, area and keyword.
// RuleSet.Decide then finds the first matching rule without scanning
// every rule and without allocating. RuleSet.Explain evaluates rule by
// rule and records the first failed condition of each earlier rule; it is
// also the reference Decide is tested against.
//
// The package is pure: apart from reading its files it does no I/O, so it
// can be benchmarked and tested in microseconds. Engine adds hot reload.
package routing
