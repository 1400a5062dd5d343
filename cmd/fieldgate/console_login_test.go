package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestConsoleLoginCommand makes a link for a dispatcher from the rules and
// refuses someone the rules do not know, unless --role is given.
func TestConsoleLoginCommand(t *testing.T) {
	s := newStack(t, map[string]string{"FIELDGATE_CONSOLE_PUBLIC_URL": "https://fieldgate.stadt.example/"})
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}, s.getenv, &bytes.Buffer{}, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"console-login", "dora@stadt.localhost"}, s.getenv, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(out.String())
	if !strings.HasPrefix(link, "https://fieldgate.stadt.example/console/auth/link?t=") || len(link) < 80 {
		t.Errorf("link %q", link)
	}
	var errOut bytes.Buffer
	if err := run(ctx, []string{"console-login", "stranger@example.org"}, s.getenv, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("a user without a role in the rules got a link")
	}
	out.Reset()
	if err := run(ctx, []string{"console-login", "stranger@example.org", "--role", "team:tiefbau", "--ttl", "5m"}, s.getenv, &out, testWriter{t}); err != nil || !strings.Contains(out.String(), "/console/auth/link?t=") {
		t.Errorf("with --role: %q %v", out.String(), err)
	}
}
