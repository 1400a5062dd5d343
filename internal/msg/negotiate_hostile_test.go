package msg

import (
	"strings"
	"testing"
)

// TestNegotiateHostile: Accept-Language headers an attacker or a broken
// client sends pick a catalogue language or the fallback, never fail, and
// only the header's first entries are read.
func TestNegotiateHostile(t *testing.T) {
	long := strings.Repeat("en;q=0.1, ", 100_000) + "de;q=0.9"
	for _, c := range []struct{ name, header, fallback, want string }{
		{"wildcard", "*", "en", "en"},
		{"everything refused", "de;q=0, en;q=0", "en", "en"},
		{"refused and wildcard", "de;q=0, *", "en", "en"},
		{"weight above 1", "en;q=1.5", "de", "en"},
		{"negative weight", "de;q=-1", "en", "en"},
		{"unknown language", "xx-evil", "de", "de"},
		{"separators only", ",,,,;;;", "en", "en"},
		{"NUL byte", "de\x00", "en", "en"},
		{"one huge tag", strings.Repeat("a", 1<<20), "en", "en"},
		{"many subtags", strings.Repeat("de-", 1<<18), "en", "en"},
		// A German entry past the bound is not read: only the first
		// entries (all English) count.
		{"100000 entries", long, "de", "en"},
	} {
		if got := Negotiate(c.header, c.fallback); got != c.want {
			t.Errorf("%s: Negotiate = %q, want %q", c.name, got, c.want)
		}
	}
}
