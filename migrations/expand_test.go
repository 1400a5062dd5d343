package migrations_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Migrations run while replicas of the previous release keep serving
// (rolling upgrade), so an Up section may only expand the schema: add
// tables, nullable columns or columns with a default, indexes, and widen
// constraints. Removing or renaming what the previous release uses is a
// "contract" step, allowed only one release after the code stopped using
// it, and marked in the file with a comment "-- contract: <why it is safe>"
// on the line before. docs/operations.md explains the procedure.
var contracting = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)\bDROP\s+TABLE\b`), "drops a table"},
	{regexp.MustCompile(`(?i)\bDROP\s+COLUMN\b`), "drops a column"},
	{regexp.MustCompile(`(?i)\bRENAME\b`), "renames"},
	{regexp.MustCompile(`(?i)\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b`), "changes a column's type"},
	{regexp.MustCompile(`(?i)\bSET\s+NOT\s+NULL\b`), "makes a column NOT NULL"},
	{regexp.MustCompile(`(?i)\bADD\s+COLUMN\b[^,;]*\bNOT\s+NULL\b`), "adds a NOT NULL column"},
}

var (
	dropConstraint = regexp.MustCompile(`(?i)\bDROP\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?(\w+)`)
	hasDefault     = regexp.MustCompile(`(?i)\bDEFAULT\b`)
)

// upSection returns the lines between "-- +goose Up" and "-- +goose Down".
func upSection(text string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch strings.TrimSpace(l) {
		case "-- +goose Up":
			in = true
			continue
		case "-- +goose Down":
			in = false
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}

// contractProblems lists the statements of an Up section that would break
// a replica of the previous release.
func contractProblems(text string) []string {
	lines := upSection(text)
	up := strings.Join(lines, "\n")
	var problems []string
	for i, l := range lines {
		code, _, _ := strings.Cut(l, "--")
		if strings.TrimSpace(code) == "" {
			continue
		}
		if i > 0 && strings.HasPrefix(strings.TrimSpace(lines[i-1]), "-- contract:") {
			continue
		}
		for _, c := range contracting {
			if c.re.MatchString(code) && !(c.what == "adds a NOT NULL column" && hasDefault.MatchString(code)) {
				problems = append(problems, c.what+": "+strings.TrimSpace(code))
			}
		}
		// Dropping a constraint to add a wider one of the same name (in the
		// same transaction) is an expansion.
		if m := dropConstraint.FindStringSubmatch(code); m != nil &&
			!regexp.MustCompile(`(?i)\bADD\s+CONSTRAINT\s+`+regexp.QuoteMeta(m[1])+`\b`).MatchString(up) {
			problems = append(problems, "drops constraint "+m[1]+" without adding it back: "+strings.TrimSpace(code))
		}
	}
	return problems
}

// TestMigrationsOnlyExpand checks every migration's Up section.
func TestMigrationsOnlyExpand(t *testing.T) {
	for f, text := range migrationFiles(t) {
		for _, p := range contractProblems(text) {
			t.Errorf("%s %s; an old replica would break during a rolling upgrade (add '-- contract: why' on the line before if it no longer uses it)", f, p)
		}
	}
}

// migrationFiles returns the text of every migration file by its path.
func migrationFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("sql/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

func TestContractProblemsFindsBreakingStatements(t *testing.T) {
	for sql, want := range map[string]int{
		"ALTER TABLE reports ADD COLUMN note text;":                                                          0,
		"ALTER TABLE reports ADD COLUMN n int NOT NULL DEFAULT 0;":                                           0,
		"ALTER TABLE reports ADD COLUMN n int NOT NULL;":                                                     1,
		"ALTER TABLE reports DROP COLUMN body;":                                                              1,
		"-- contract: 0.9 stopped reading body\nALTER TABLE reports DROP COLUMN body;":                       0,
		"ALTER TABLE reports RENAME COLUMN body TO text;":                                                    1,
		"ALTER TABLE reports ALTER COLUMN lat TYPE numeric;":                                                 1,
		"ALTER TABLE reports ALTER COLUMN body SET NOT NULL;":                                                1,
		"DROP TABLE reports;":                                                                                1,
		"ALTER TABLE r DROP CONSTRAINT c_check;\nALTER TABLE r ADD CONSTRAINT c_check CHECK (x IN (1,2,3));": 0,
		"ALTER TABLE r DROP CONSTRAINT c_check;":                                                             1,
	} {
		got := contractProblems("-- +goose Up\n" + sql + "\n-- +goose Down\nDROP TABLE reports;\n")
		if len(got) != want {
			t.Errorf("%q: %d problems %v, want %d", sql, len(got), got, want)
		}
	}
}
