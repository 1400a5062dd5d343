package routing

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"gopkg.in/yaml.v3"
)

// The raw* types mirror the YAML file. They are decoded with yaml.v3 and
// carry line numbers so that every validation message can point at the
// offending line.

type rawFile struct {
	Version     int               `yaml:"version"`
	Timezone    lined[string]     `yaml:"timezone"`
	Holidays    []lined[string]   `yaml:"holidays"`
	Dispatchers strList           `yaml:"dispatchers"`
	Groups      omap[strList]     `yaml:"groups"`
	Areas       *rawAreas         `yaml:"areas"`
	Teams       omap[rawTeam]     `yaml:"teams"`
	Addresses   omap[rawAddress]  `yaml:"addresses"`
	Policies    omap[rawPolicy]   `yaml:"policies"`
	Schedules   omap[rawSchedule] `yaml:"schedules"`
	Rules       []lined[rawRule]  `yaml:"rules"`
	Default     *lined[rawAction] `yaml:"default"`
}

type rawAreas struct {
	File         lined[string]    `yaml:"file"`
	NameProperty string           `yaml:"name_property"`
	Groups       omap[strList]    `yaml:"groups"`
	Centre       *lined[rawPoint] `yaml:"centre"`
}

type rawTeam struct {
	Name     string             `yaml:"name"`
	Room     lined[string]      `yaml:"room"`
	OnCall   lined[string]      `yaml:"oncall"`
	Policy   lined[string]      `yaml:"policy"`
	Members  strList            `yaml:"members"`
	Language lined[string]      `yaml:"language"`
	Hours    []lined[rawWindow] `yaml:"hours"`
}

type rawAddress struct {
	DisplayName string        `yaml:"display_name"`
	Description string        `yaml:"description"`
	Allow       strList       `yaml:"allow"`
	Language    lined[string] `yaml:"language"`
	DefaultTeam lined[string] `yaml:"default_team"`
	Urgent      bool          `yaml:"urgent"`
	Open311     *rawOpen311   `yaml:"open311"`
	Encryption  lined[string] `yaml:"encryption"`
}

type rawPolicy struct {
	AckTimeout lined[string]     `yaml:"ack_timeout"`
	Confirmers lined[int]        `yaml:"confirmers"`
	Levels     []lined[rawLevel] `yaml:"levels"`
}

type rawLevel struct {
	After       lined[string] `yaml:"after"`
	Notify      strList       `yaml:"notify"`
	Repeat      int           `yaml:"repeat"`
	RepeatEvery lined[string] `yaml:"repeat_every"`
}

type rawSchedule struct {
	Rotation  strList              `yaml:"rotation"`
	Start     lined[string]        `yaml:"start"`
	Period    lined[string]        `yaml:"period"`
	Overrides []lined[rawOverride] `yaml:"overrides"`
	ICS       string               `yaml:"ics"`
	Category  string               `yaml:"ics_category"`
	Property  lined[string]        `yaml:"ics_property"`
}

type rawOverride struct {
	From   lined[string] `yaml:"from"`
	To     lined[string] `yaml:"to"`
	Person string        `yaml:"person"`
}

type rawWindow struct {
	Days  strList       `yaml:"days"`
	Hours lined[string] `yaml:"hours"`
}

type rawRule struct {
	Name      lined[string]    `yaml:"name"`
	Match     *lined[rawMatch] `yaml:"match"`
	rawAction `yaml:",inline"`
}

type rawAction struct {
	Team     lined[string] `yaml:"team"`
	Priority lined[string] `yaml:"priority"`
	Policy   lined[string] `yaml:"policy"`
	CC       strList       `yaml:"cc"`
	Category string        `yaml:"category"`
}

type rawMatch struct {
	Address             strList            `yaml:"address"`
	Keywords            strList            `yaml:"keywords"`
	Area                strList            `yaml:"area"`
	Near                *lined[rawNear]    `yaml:"near"`
	Position            *lined[bool]       `yaml:"position"`
	Time                []lined[rawWindow] `yaml:"time"`
	NotTime             []lined[rawWindow] `yaml:"not_time"`
	WorkingHours        lined[string]      `yaml:"working_hours"`
	OutsideWorkingHours lined[string]      `yaml:"outside_working_hours"`
	Sender              strList            `yaml:"sender"`
	Urgent              *lined[bool]       `yaml:"urgent"`
}

type rawNear struct {
	Areas  strList       `yaml:"areas"`
	Within lined[string] `yaml:"within"`
}

// lined is a value with the line it was written on.
type lined[T any] struct {
	V    T
	Line int
	Set  bool
}

func (l *lined[T]) UnmarshalYAML(n *yaml.Node) error {
	l.Line, l.Set = n.Line, true
	return n.Decode(&l.V)
}

func (l *lined[T]) innerType() reflect.Type { return reflect.TypeFor[T]() }

// strList accepts a single string or a list of strings.
type strList struct {
	V    []string
	Line int // line of the value
	Set  bool
	// Lines[i] is the line of V[i].
	Lines []int
}

func (s *strList) UnmarshalYAML(n *yaml.Node) error {
	s.Line, s.Set = n.Line, true
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		s.V, s.Lines = []string{n.Value}, []int{n.Line}
		return nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return typeErr(c.Line, "expected a string, found a %s", kindName(c.Kind))
			}
			s.V = append(s.V, c.Value)
			s.Lines = append(s.Lines, c.Line)
		}
		return nil
	}
	return typeErr(n.Line, "expected a string or a list of strings, found a %s", kindName(n.Kind))
}

func (s *strList) lineOf(i int) int {
	if i < len(s.Lines) {
		return s.Lines[i]
	}
	return s.Line
}

// omap is a YAML mapping that keeps the file's order and each key's line.
type omap[T any] []entry[T]

type entry[T any] struct {
	Key  string
	Line int
	V    T
}

func (m *omap[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return nil
		}
		return typeErr(n.Line, "expected a mapping (name: …), found a %s", kindName(n.Kind))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if prev, ok := seen[k.Value]; ok {
			return typeErr(k.Line, "%q is defined twice (first at line %d)", k.Value, prev)
		}
		seen[k.Value] = k.Line
		var e entry[T]
		e.Key, e.Line = k.Value, k.Line
		if err := v.Decode(&e.V); err != nil {
			return err
		}
		*m = append(*m, e)
	}
	return nil
}

func (m *omap[T]) innerType() reflect.Type { return reflect.TypeFor[T]() }

// typeErr returns a yaml.TypeError, which yaml.v3 collects and goes on
// decoding, so that one run reports every such mistake.
func typeErr(line int, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)}}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "document"
}

// wrapper is implemented by lined and omap so the key checker can see
// through them.
type wrapper interface{ innerType() reflect.Type }

var (
	wrapperType     = reflect.TypeFor[wrapper]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// checkKeys reports mapping keys that no field of t accepts. yaml.v3 only
// checks known fields at the top level of a Decoder, not inside custom
// unmarshalers, so the whole tree is checked here first.
func checkKeys(n *yaml.Node, t reflect.Type, add func(line int, format string, args ...any)) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkKeys(c, t, add)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !reflect.PointerTo(t).Implements(wrapperType) && reflect.PointerTo(t).Implements(unmarshalerType) {
		return // a leaf with its own decoding (strList)
	}
	if reflect.PointerTo(t).Implements(wrapperType) {
		inner := reflect.New(t).Interface().(wrapper).innerType()
		if strings.HasPrefix(t.Name(), "omap[") {
			if n.Kind == yaml.MappingNode {
				for i := 1; i < len(n.Content); i += 2 {
					checkKeys(n.Content[i], inner, add)
				}
			}
			return
		}
		checkKeys(n, inner, add)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				add(k.Line, "unknown key %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			checkKeys(v, ft, add)
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkKeys(c, t.Elem(), add)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode && t.Elem() != reflect.TypeFor[yaml.Node]() {
			for i := 1; i < len(n.Content); i += 2 {
				checkKeys(n.Content[i], t.Elem(), add)
			}
		}
	}
}

// yamlFields maps the YAML keys of struct t (inline fields flattened) to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// suggest proposes the closest known key for a typo (Levenshtein
// distance in runes, github.com/agnivade/levenshtein).
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := levenshtein.ComputeDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}
