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
	c.rs.warnings = ps.warnings
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
		rs.areaIdx[areaKey(rs.areas[i].name)] = int32(i)
	}
	checkFarAway(p, rs.areas, c.ps)
	checkEnclaves(p, rs.areas, c.ps)
	checkCrossings(p, rs.areas, c.ps)
	c.checkCentre(raw.Areas, p)
	for _, g := range raw.Areas.Groups {
		if _, clash := rs.areaIdx[areaKey(g.Key)]; clash {
			c.ps.add(g.Line, "area group %q has the same name as an area", g.Key)
		}
		for i, n := range g.V.V {
			if _, ok := rs.areaIdx[areaKey(n)]; !ok {
				c.ps.add(g.V.lineOf(i), "area group %q: unknown area %q%s", g.Key, n, c.areaHint(n))
			}
		}
		c.areaGroups[g.Key] = g.V.V
	}
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
