package main

import (
	"bytes"
	"context"
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
