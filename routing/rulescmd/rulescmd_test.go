package rulescmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const demo = "../../deploy/demo/rules.yaml"

func TestCheckDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"check", demo}, &out, &errOut); err != nil {
		t.Fatalf("check: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (version ") {
		t.Errorf("output %q lacks the ok line", out.String())
	}
}

func TestCheckBroken(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"check", "../testdata/broken/unknown_team.yaml"}, &out, &errOut)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if !strings.Contains(errOut.String(), "unknown_team.yaml:") || !strings.Contains(errOut.String(), "unknown team") {
		t.Errorf("stderr = %q, want file:line and the message", errOut.String())
	}
}

func TestTestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"test", demo, "../../deploy/demo/rules_test.yaml"}, &out, &errOut)
	if err != nil {
		t.Fatalf("demo rule tests: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), " 0 failed") {
		t.Errorf("output = %s", out.String())
	}
}

func TestTestMismatchFails(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"test", demo, "../testdata/demo_wrong_test.yaml"}, &out, &errOut)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	o := out.String()
	for _, want := range []string{"FAIL  ../testdata/demo_wrong_test.yaml:", `team: got "tiefbau", want "tiefbau-sued"`, "1 passed, 1 failed", "tiefbau-nord (line"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
}

func TestExplain(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"explain", demo, "--to", "tiefbau", "--text", "Schlagloch", "--lat", "51.025", "--lon", "7.59194", "--at", "2026-11-22T23:10"}, &out, &errOut)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, errOut.String())
	}
	o := out.String()
	for _, want := range []string{
		"team=tiefbau (Tiefbau Nord, tiefbau@conference.stadt.localhost)",
		"rule=tiefbau-nord district=Mitte",
		"- tiefbau-gefahr-sued (line ",
		"is not inside Südstadt, Hafen",
		"+ tiefbau-nord (line ",
		"Sun 2026-11-22 23:10 CET",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("explain output lacks %q:\n%s", want, o)
		}
	}
}

func TestExplainFlagsFirstAndNow(t *testing.T) {
	var out, errOut bytes.Buffer
	now := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) } // Monday 10:00 CET
	err := explain([]string{"--to", "jugendamt-bereitschaft", demo}, now, &out, &errOut)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "team=jugendamt (") || !strings.Contains(out.String(), "position=none") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nope"},
		{"check"},
		{"explain", demo},
		{"explain", demo, "--to", "x", "--lat", "51"},
		{"test", demo},
	} {
		var out, errOut bytes.Buffer
		if err := Run(context.Background(), args, &out, &errOut); !errors.Is(err, ErrUsage) {
			t.Errorf("Run(%q) = %v, want ErrUsage", args, err)
		}
	}
}
