package routing

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every validation error: the rules file (or a
// file it references) is wrong and was not loaded.
var ErrInvalid = errors.New("invalid rules")

// Problem is one mistake found in a rules file.
type Problem struct {
	File string // path as given to Load (or the referenced GeoJSON file)
	Line int    // 1-based; 0 when unknown
	Msg  string // plain message
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Error lists every problem found while loading. It wraps ErrInvalid.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) succeed.
func (e *Error) Unwrap() error { return ErrInvalid }

// problems collects validation messages for one file at a time.
type problems struct {
	list     []Problem
	warnings []Problem // things loaded, but maybe not as meant
	file     string
}

// warnIn records a warning: the file loads, but `rules check` shows it.
func (ps *problems) warnIn(file string, line int, format string, args ...any) {
	ps.warnings = append(ps.warnings, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) add(line int, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) addIn(file string, line int, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// addYAML turns a yaml.v3 error ("yaml: line 3: …", or a TypeError with
// several "line N: …" entries) into problems.
func (ps *problems) addYAML(err error) {
	msgs := []string{err.Error()}
	if s := err.Error(); strings.HasPrefix(s, "yaml: unmarshal errors:\n") {
		msgs = nil
		for _, l := range strings.Split(strings.TrimPrefix(s, "yaml: unmarshal errors:\n"), "\n") {
			msgs = append(msgs, strings.TrimSpace(l))
		}
	}
	for _, m := range msgs {
		m = plainTypes(m)
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			ps.add(n, "%s", sm[2])
			continue
		}
		ps.add(0, "%s", strings.TrimPrefix(m, "yaml: "))
	}
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
		return list[i].Line < list[j].Line
	})
	return &Error{Problems: list}
}

var (
	goListRe  = regexp.MustCompile(`into \[\][^ ]+`)
	goTypeRe  = regexp.MustCompile(`into (?:routing\.)?(raw[A-Za-z]+|bool|int|string|float64)`)
	typeWords = map[string]string{
		"rawFile": "the rules file (a mapping)", "rawAreas": "the areas section (a mapping)",
		"rawTeam": "a team (a mapping)", "rawAddress": "an address (a mapping)",
		"rawPolicy": "a policy (a mapping)", "rawLevel": "an escalation level (a mapping)",
		"rawSchedule": "a schedule (a mapping)", "rawOverride": "an override (a mapping)",
		"rawWindow": "a time window (a mapping)", "rawRule": "a rule (a mapping)",
		"rawAction": "a team target (a mapping)", "rawMatch": "the match conditions (a mapping)",
		"rawNear": "a near condition (a mapping)", "rawTests": "a test file (a mapping)",
		"rawCase": "a test case (a mapping)", "rawOpen311": "an open311 service (a mapping)",
		"rawOpen311Attr": "an open311 attribute (a mapping)",
		"bool":           "true or false", "int": "a whole number", "string": "a string", "float64": "a number",
	}
)

// plainTypes replaces Go type names in yaml.v3 messages with words.
func plainTypes(m string) string {
	m = goListRe.ReplaceAllString(m, "into a list")
	return goTypeRe.ReplaceAllStringFunc(m, func(s string) string {
		name := goTypeRe.FindStringSubmatch(s)[1]
		if w, ok := typeWords[name]; ok {
			return "into " + w
		}
		return s
	})
}
