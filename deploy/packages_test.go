package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// step1Packages returns the package names of the `apt-get install` line in
// the first shell block of section "## 1. Packages" of an operations page.
func step1Packages(doc string) []string {
	for _, line := range shBlock(doc, "## 1. Packages") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "apt-get install")
		if !ok {
			continue
		}
		var names []string
		for _, f := range strings.Fields(rest) {
			if !strings.HasPrefix(f, "-") {
				names = append(names, f)
			}
		}
		return names
	}
	return nil
}

func TestStep1PackagesParsed(t *testing.T) {
	doc := "# x\n\n## 1. Packages\n\n```sh\napt-get update\napt-get install -y a b-2 c\n```\n\nText apt-get install z.\n\n## 2. Binary\n\n```sh\napt-get install y\n```\n"
	if got, want := step1Packages(doc), []string{"a", "b-2", "c"}; !slices.Equal(got, want) {
		t.Errorf("step1Packages = %q, want %q", got, want)
	}
	if got := step1Packages("## 2. Binary\n```sh\napt-get install y\n```\n"); got != nil {
		t.Errorf("without a step 1: %q, want nothing", got)
	}
}

// candidates reads `apt-cache policy NAME...` output: package → its
// candidate version ("(none)" when nothing installable).
func candidates(out string) map[string]string {
	got := map[string]string{}
	var pkg string
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutSuffix(line, ":"); ok && !strings.HasPrefix(line, " ") {
			pkg = name
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && pkg != "" {
			got[pkg] = strings.TrimSpace(v)
		}
	}
	return got
}

func TestAptPolicyCandidates(t *testing.T) {
	out := "nginx:\n  Installed: (none)\n  Candidate: 1.22.1-9+deb12u11\n  Version table:\n     1.22.1-9+deb12u11 500\nold:\n  Installed: (none)\n  Candidate: (none)\n"
	got := candidates(out)
	if len(got) != 2 || got["nginx"] != "1.22.1-9+deb12u11" || got["old"] != "(none)" {
		t.Errorf("candidates = %v", got)
	}
}

// TestStep1PackagesExistInDebian12 checks that every package step 1 of
// docs/operations.md installs has an installable version in this
// machine's package index, which must be Debian 12's (CI's). No install,
// no network: the index is what `apt-get update` last fetched.
func TestStep1PackagesExistInDebian12(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := step1Packages(string(doc))
	if len(names) == 0 {
		t.Fatal("docs/operations.md: no apt-get install line in the shell block of '## 1. Packages'")
	}
	osRelease, _ := os.ReadFile("/etc/os-release")
	if !strings.Contains(string(osRelease), "\nID=debian\n") || !strings.Contains(string(osRelease), `VERSION_ID="12"`) {
		msg := "not a Debian 12 machine: its package index cannot answer for Debian 12"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	aptCache := requireTool(t, "apt-cache")
	// One call for all: apt-cache reads the whole index each time.
	out, err := exec.Command(aptCache, append([]string{"policy"}, names...)...).Output()
	if err != nil {
		t.Fatalf("apt-cache policy: %v", err)
	}
	got := candidates(string(out))
	for _, name := range names {
		if v, ok := got[name]; !ok || v == "(none)" {
			t.Errorf("docs/operations.md step 1 installs %q, which Debian 12's index does not offer (apt-cache policy: %q)", name, v)
		}
	}
	t.Logf("step 1 packages and their Debian 12 candidates: %v", got)
}
