package testsvc

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// DemoRules copies the demo town's rules into a temp dir with every room
// renamed "<room>-<suffix>@…", so that parallel tests never share a room.
// It returns the rules path and the suffix.
func DemoRules(t testing.TB) (path, suffix string) {
	t.Helper()
	return DemoRulesWith(t, nil)
}

// DemoRulesWith is DemoRules with extra literal replacements in rules.yaml
// (old → new), applied before the room renaming.
func DemoRulesWith(t testing.TB, replace map[string]string) (path, suffix string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	demo := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "demo")
	suffix = randHex(3)
	dir := t.TempDir()
	entries, err := os.ReadDir(demo)
	if err != nil {
		t.Fatalf("testsvc: read demo rules: %v", err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(demo, e.Name()))
		if err != nil {
			t.Fatalf("testsvc: %v", err)
		}
		if e.Name() == "rules.yaml" {
			for old, repl := range replace {
				if !strings.Contains(string(b), old) {
					t.Fatalf("testsvc: demo rules do not contain %q", old)
				}
				b = []byte(strings.ReplaceAll(string(b), old, repl))
			}
			b = []byte(strings.ReplaceAll(string(b), "@conference.stadt.localhost", "-"+suffix+"@conference.stadt.localhost"))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatalf("testsvc: %v", err)
		}
	}
	return filepath.Join(dir, "rules.yaml"), suffix
}

// Room returns the demo room name with a DemoRules suffix.
func Room(name, suffix string) string {
	return name + "-" + suffix + "@conference.stadt.localhost"
}
