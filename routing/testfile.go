package routing

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A rule test file holds table-style cases, in the spirit of Prometheus'
// rule unit tests, so towns can keep rule tests in CI:
//
//	tests:
//	  - name: pothole in Mitte goes to Tiefbau Nord
//	    input: {to: tiefbau, text: "#Schlagloch", lat: 51.025, lon: 7.59194, at: "2026-11-23T10:00"}
//	    expect: {team: tiefbau, priority: normal, district: Mitte}
//
// at is wall-clock time in the rules' time zone (or RFC 3339). Only the
// expect fields that are given are compared.

// TestCase is one case of a rule test file.
type TestCase struct {
	Name   string
	File   string
	Line   int
	Input  Input
	Expect Expect
}

// Expect lists the expected decision fields; nil fields are not checked.
type Expect struct {
	Rule, Team, Priority, Policy, District, Category *string
	CC                                               *[]string
}

// TestResult is the outcome of one case.
type TestResult struct {
	Case     TestCase
	Got      Decision // with Trail
	Mismatch []string // "team: got X, want Y"; empty when the case passed
}

// Passed reports whether the decision met every expectation.
func (r TestResult) Passed() bool { return len(r.Mismatch) == 0 }

type rawTests struct {
	Tests []lined[rawCase] `yaml:"tests"`
}

type rawCase struct {
	Name  string `yaml:"name"`
	Input struct {
		To     string   `yaml:"to"`
		Text   string   `yaml:"text"`
		Lat    *float64 `yaml:"lat"`
		Lon    *float64 `yaml:"lon"`
		At     string   `yaml:"at"`
		From   string   `yaml:"from"`
		Urgent bool     `yaml:"urgent"`
	} `yaml:"input"`
	Expect struct {
		Rule     *string   `yaml:"rule"`
		Team     *string   `yaml:"team"`
		Priority *string   `yaml:"priority"`
		Policy   *string   `yaml:"policy"`
		District *string   `yaml:"district"`
		Category *string   `yaml:"category"`
		CC       *[]string `yaml:"cc"`
	} `yaml:"expect"`
}

// LoadTests reads a rule test file; times are read in rs's time zone.
// Mistakes come back as an *Error with file:line.
func (rs *RuleSet) LoadTests(path string) ([]TestCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rule tests: %w", err)
	}
	return rs.parseTests(path, data)
}

func (rs *RuleSet) parseTests(path string, data []byte) ([]TestCase, error) {
	ps := &problems{file: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.addYAML(err)
		return nil, ps.err()
	}
	checkKeys(&doc, reflect.TypeFor[rawTests](), ps.add)
	var raw rawTests
	if err := doc.Decode(&raw); err != nil {
		ps.addYAML(err)
		return nil, ps.err()
	}
	if len(raw.Tests) == 0 {
		ps.add(1, "no tests: want a list under tests:")
	}
	var cases []TestCase
	for i, lc := range raw.Tests {
		c := lc.V
		tc := TestCase{Name: c.Name, File: path, Line: lc.Line}
		if tc.Name == "" {
			tc.Name = fmt.Sprintf("case %d", i+1)
		}
		in := &tc.Input
		in.Address, in.Text, in.Sender, in.Urgent = strings.ToLower(c.Input.To), c.Input.Text, strings.ToLower(c.Input.From), c.Input.Urgent
		if in.Address == "" {
			ps.add(lc.Line, "%s: input needs to (the function address)", tc.Name)
		}
		switch {
		case c.Input.Lat != nil && c.Input.Lon != nil:
			in.Position = &Point{Lat: *c.Input.Lat, Lon: *c.Input.Lon}
		case c.Input.Lat != nil || c.Input.Lon != nil:
			ps.add(lc.Line, "%s: give both lat and lon, or neither", tc.Name)
		}
		if c.Input.At == "" {
			ps.add(lc.Line, "%s: input needs at (e.g. 2026-11-22T23:10), so the case does not depend on when it runs", tc.Name)
		} else if t, err := ParseTime(c.Input.At, rs.loc); err != nil {
			ps.add(lc.Line, "%s: at: %v", tc.Name, err)
		} else {
			in.At = t
		}
		e := c.Expect
		tc.Expect = Expect{Rule: e.Rule, Team: e.Team, Priority: e.Priority, Policy: e.Policy, District: e.District, Category: e.Category, CC: e.CC}
		if e.Rule == nil && e.Team == nil && e.Priority == nil && e.Policy == nil && e.District == nil && e.Category == nil && e.CC == nil {
			ps.add(lc.Line, "%s: expect is empty", tc.Name)
		}
		if e.Team != nil {
			if _, ok := rs.Team(*e.Team); !ok {
				ps.add(lc.Line, "%s: expect team %q is not a team of the rules file", tc.Name, *e.Team)
			}
		}
		cases = append(cases, tc)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cases, nil
}

// RunTests decides every case (with Explain, so failures can show why).
func (rs *RuleSet) RunTests(cases []TestCase) []TestResult {
	out := make([]TestResult, 0, len(cases))
	for _, c := range cases {
		in := c.Input
		d := rs.Explain(&in)
		r := TestResult{Case: c, Got: d}
		cmp := func(field string, want *string, got string) {
			if want != nil && *want != got {
				r.Mismatch = append(r.Mismatch, fmt.Sprintf("%s: got %q, want %q", field, got, *want))
			}
		}
		e := c.Expect
		cmp("rule", e.Rule, d.Rule)
		cmp("team", e.Team, d.Team)
		cmp("priority", e.Priority, d.Priority)
		cmp("policy", e.Policy, d.Policy)
		cmp("district", e.District, d.District)
		cmp("category", e.Category, d.Category)
		if e.CC != nil && !slices.Equal(*e.CC, d.CC) && !(len(*e.CC) == 0 && len(d.CC) == 0) {
			r.Mismatch = append(r.Mismatch, fmt.Sprintf("cc: got %v, want %v", d.CC, *e.CC))
		}
		out = append(out, r)
	}
	return out
}
