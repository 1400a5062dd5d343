package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shBlock returns the lines of the first ```sh block of the section of doc
// that starts with heading.
func shBlock(doc, heading string) []string {
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		return nil
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		return nil
	}
	block, _, _ = strings.Cut(block, "```")
	return strings.Split(strings.TrimSpace(block), "\n")
}

// TestNginxExampleMatchesStep7 keeps deploy/nginx/fieldgate.conf's header
// and docs/operations.md step 7 saying the same: every command of step 7
// is in the header, in the same order, and the packages the header
// installs are installed by step 1.
func TestNginxExampleMatchesStep7(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join("nginx", "fieldgate.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for _, line := range strings.Split(string(conf), "\n") {
		if cmd, ok := strings.CutPrefix(line, "#   "); ok {
			header = append(header, strings.TrimSpace(cmd))
		}
	}
	step7 := shBlock(string(doc), "## 7. TLS")
	if len(step7) == 0 {
		t.Fatal("docs/operations.md: no shell block in '## 7. TLS'")
	}
	at := 0
	for _, cmd := range step7 {
		i := indexFrom(header, cmd, at)
		if i < 0 {
			t.Errorf("step 7 runs %q; the header of deploy/nginx/fieldgate.conf does not (after %d lines): %q", cmd, at, header)
			continue
		}
		at = i + 1
	}
	step1 := map[string]bool{}
	for _, p := range step1Packages(string(doc)) {
		step1[p] = true
	}
	for _, cmd := range header {
		if rest, ok := strings.CutPrefix(cmd, "apt-get install"); ok {
			for _, p := range strings.Fields(rest) {
				if !strings.HasPrefix(p, "-") && !step1[p] {
					t.Errorf("deploy/nginx/fieldgate.conf installs %q, step 1 of docs/operations.md does not", p)
				}
			}
		}
	}
}

func indexFrom(lines []string, s string, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i] == s {
			return i
		}
	}
	return -1
}
