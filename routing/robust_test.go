package routing

import (
	"os"
	"path/filepath"
	"testing"
)

// Truncated or mangled files give errors, never panics.
func TestLoadTruncatedFilesDoesNotPanic(t *testing.T) {
	rules, err := os.ReadFile("../deploy/demo/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	geo, err := os.ReadFile("../deploy/demo/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rp, gp := filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "districts.geojson")
	try := func(r, g []byte) {
		if err := os.WriteFile(rp, r, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(gp, g, 0o644); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Load panicked on %d bytes of rules, %d of GeoJSON: %v", len(r), len(g), p)
			}
		}()
		_, _ = Load(rp)
	}
	for n := 0; n < len(rules); n += 37 {
		try(rules[:n], geo)
	}
	for n := 0; n < len(geo); n += 23 {
		try(rules, geo[:n])
	}
	// a truncation that still parses must have given a valid set or an error
	try(rules, geo)
	if _, err := Load(rp); err != nil {
		t.Fatalf("the untruncated copy does not load: %v", err)
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"#Schlagloch", "Schlaglöcher", "STRASSE", "Straße", "ÄÖÜ äöü ß ẞ", "\xff\xfe", "a-b_c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendFolded(nil, s)
		if len(b) > 0 && (b[0] != ' ' || b[len(b)-1] != ' ') {
			t.Fatalf("folded %q = %q: want leading and trailing space", s, b)
		}
		// folding is idempotent on the folded words
		again := appendFolded(nil, string(b))
		if string(again) != string(b) {
			t.Fatalf("fold(fold(%q)) = %q, want %q", s, again, b)
		}
	})
}

// The fused fold-and-walk of Decide agrees with folding then searching,
// which Explain does.
func FuzzKeywordMatch(f *testing.F) {
	for _, s := range []string{"#Schlagloch", "Schlaglöcher an der Straße", "STRASSE", "Gully verstopft", "Äste, Bäume", "Laerm", "\\xff ünd", "façade"} {
		f.Add(s)
	}
	rs, err := Load("../deploy/demo/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s := rs.newScratch()
		rs.matchKeywords(text, s)
		folded := string(appendFolded(nil, text))
		for i := range rs.rules {
			r := &rs.rules[i]
			if len(r.keywords) == 0 {
				continue
			}
			want := false
			for _, k := range r.keywords {
				if hasWordPrefix(folded, k) {
					want = true
				}
			}
			if got := s.kwRules[i/64]&(1<<(i%64)) != 0; got != want {
				t.Fatalf("text %q, rule %s: trie %v, folded search %v (folded %q)", text, r.name, got, want, folded)
			}
		}
	})
}
