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
	list []Problem
	file string
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
