package routing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
)

// isJID reports whether s looks like a bare JID: local@domain, no resource.
func isJID(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at == strings.LastIndexByte(s, '@') && isDomain(s[at+1:]) &&
		!strings.ContainsAny(s, " /\t\"'<>&")
}

// isDomain reports whether s looks like a DNS name with at least one dot
// ("stadt.localhost").
func isDomain(s string) bool {
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// validID: lower-case letters, digits, - and _.
func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// validLocalpart: a JID local part without characters XMPP forbids.
func validLocalpart(s string) bool {
	return s != "" && !strings.ContainsAny(s, " @/\"&'<>:\t")
}

func cutColon(s string) (string, string, bool) {
	return strings.Cut(strings.TrimSpace(s), ":")
}

func hasEntry[T any](m omap[T], key string) bool {
	for _, e := range m {
		if e.Key == key {
			return true
		}
	}
	return false
}

func hintEntries[T any](m omap[T], key string) string {
	names := make([]string, len(m))
	for i, e := range m {
		names[i] = e.Key
	}
	return hint(names, key)
}

func hintMap[T any](m map[string]T, key string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return hint(names, key)
}

func (c *compiler) teamHint(key string) string {
	names := make([]string, len(c.rs.teams))
	for i, t := range c.rs.teams {
		names[i] = t.ID
	}
	return hint(names, key)
}

func (c *compiler) areaHint(key string) string {
	names := make([]string, 0, len(c.rs.areas)+len(c.areaGroups))
	for i := range c.rs.areas {
		names = append(names, c.rs.areas[i].name)
	}
	for g := range c.areaGroups {
		names = append(names, g)
	}
	sort.Strings(names)
	return hint(names, key)
}

// hint proposes the closest name, or lists the names when there are few.
func hint(names []string, key string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := levenshtein.ComputeDistance(strings.ToLower(key), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	switch {
	case best != "":
		return fmt.Sprintf(" (did you mean %q?)", best)
	case len(names) == 0:
		return " (none are defined)"
	case len(names) <= 8:
		return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
	}
	return ""
}
