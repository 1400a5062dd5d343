package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRulesCheckDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runRules(context.Background(), []string{"check", "../../deploy/demo/rules.yaml"}, &out, &errOut); err != nil {
		t.Fatalf("check demo rules: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (version ") {
		t.Errorf("check output = %q, want an ok line", out.String())
	}
}

func TestRunRulesTestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runRules(context.Background(), []string{"test", "../../deploy/demo/rules.yaml", "../../deploy/demo/rules_test.yaml"}, &out, &errOut)
	if err != nil {
		t.Fatalf("rule tests of the demo town: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), " 0 failed") {
		t.Errorf("output = %q", out.String())
	}
}

func TestRunRulesUnknownSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runRules(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil {
		t.Fatal("unknown subcommand: want an error")
	}
}

// mainOutput is what main writes to stderr for a command that ended in
// err after writing stderr, and the exit code it ends with.
func mainOutput(stderr string, err error) (string, int) {
	var ee exitError
	switch {
	case err == nil:
		return stderr, 0
	case errors.As(err, &ee):
		return stderr, ee.code
	}
	return stderr + "fieldgate: " + err.Error() + "\n", 1
}

// TestRulesErrorsAreSaidOnce: `fieldgate rules check` of a rules file
// that is missing said "open …: no such file or directory" twice (the
// command printed the error and returned it, and main printed it again);
// `rules explain FILE --bogus` printed the flag error twice, the flag
// list and the usage; and every usage error exited 1. Now each error is
// said once, a usage error exits 2, a failed check 1.
func TestRulesErrorsAreSaidOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("teams: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	demo := "../../deploy/demo/rules.yaml"
	for _, c := range []struct {
		args []string
		once string
		code int
	}{
		{[]string{"check", missing}, "no such file or directory", 1},
		{[]string{"check", broken}, "did not find expected node content", 1},
		{[]string{"check", demo, missing}, "no such file or directory", 1},
		{[]string{"test", missing, demo}, "no such file or directory", 1},
		{[]string{"test", demo, missing}, "no such file or directory", 1},
		{[]string{"explain", missing, "--to", "tiefbau"}, "no such file or directory", 1},
		{[]string{"explain", demo, "--bogus"}, "-bogus", 2},
		{[]string{"explain", demo, "--to", "tiefbau", "--at", "yy"}, `"yy" is not a time`, 2},
		{[]string{"explain", demo}, "explain needs --to", 2},
		{[]string{"check"}, "check needs a FILE", 2},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`, 2},
	} {
		var stdout, stderr bytes.Buffer
		err := runRules(context.Background(), c.args, &stdout, &stderr)
		out, code := mainOutput(stderr.String(), err)
		if n := strings.Count(out, c.once); n != 1 || code != c.code {
			t.Errorf("fieldgate rules %s: exit %d, %q said %d times in\n%s\nwant exit %d, said once", strings.Join(c.args, " "), code, c.once, n, out, c.code)
		}
	}
}
