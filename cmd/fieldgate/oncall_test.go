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

const oncallRules = `version: 1
timezone: Europe/Berlin
schedules:
  bereitschaft:
    rotation: [anna@stadt.localhost, ben@stadt.localhost]
    start: 2026-01-05T08:00
    period: 7d
    overrides:
      - {from: 2026-11-24T18:00, to: 2026-11-25T06:00, person: carla@stadt.localhost}
  plan:
    ics: plan.ics
  solo:
    rotation: [carla@stadt.localhost]
policies:
  standard:
    levels:
      - after: 30m
        notify: room
teams:
  tiefbau:
    room: tiefbau@conference.stadt.localhost
    policy: standard
    oncall: bereitschaft
  gruen:
    room: gruen@conference.stadt.localhost
    oncall: plan
  leitstelle:
    room: leitstelle@conference.stadt.localhost
addresses:
  tiefbau:
    allow: [stadt.localhost]
rules:
  - name: alles
    match:
      address: tiefbau
    team: tiefbau
default:
  team: leitstelle
`

// The calendar covers only the October nights around the DST change.
const oncallICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" +
	"BEGIN:VEVENT\r\nUID:n\r\nDTSTART;TZID=Europe/Berlin:20261023T180000\r\nDTEND;TZID=Europe/Berlin:20261024T060000\r\n" +
	"RRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:Nacht: erik@stadt.localhost\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261023T100000Z\r\nDURATION:PT1H\r\nSUMMARY:Sitzung\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func oncallFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(oncallRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.ics"), []byte(oncallICS), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "rules.yaml")
}

func runOncallTest(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = runOncall(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestOncallNow(t *testing.T) {
	rules := oncallFiles(t)
	tests := []struct {
		args []string
		want string
	}{
		// 2026-11-16 is week 45 from 2026-01-05: ben (odd), until Monday 08:00 CET
		{[]string{"now", "tiefbau", "--rules", rules, "--at", "2026-11-22T23:10"},
			"tiefbau (schedule bereitschaft): ben@stadt.localhost on call at Sun 2026-11-22 23:10 CET until Mon 2026-11-23 08:00 CET (rotation)\n" +
				"  why: rotation of schedule bereitschaft: person 2 of 2, handover every 7d\n"},
		{[]string{"now", "solo", "--rules", rules, "--at", "2026-11-24T19:00"},
			"schedule solo: carla@stadt.localhost on call at Tue 2026-11-24 19:00 CET until further notice (rotation)\n" +
				"  why: rotation of schedule solo: person 1 of 1, handover every 7d\n"},
		{[]string{"now", "--rules", rules, "--at", "2026-11-24T19:00", "tiefbau"},
			"tiefbau (schedule bereitschaft): carla@stadt.localhost on call at Tue 2026-11-24 19:00 CET until Wed 2026-11-25 06:00 CET (override)\n" +
				"  why: override 1 of schedule bereitschaft in the rules file\n"},
		// TEAM may name a schedule; the calendar is relative to the rules file
		{[]string{"now", "plan", "--rules", rules, "--at", "2026-10-25T02:30+01:00"},
			"schedule plan: erik@stadt.localhost on call at Sun 2026-10-25 02:30 CET until Sun 2026-10-25 06:00 CET (calendar)\n" +
				"  why: calendar event n (line 3)\n"},
	}
	for _, tt := range tests {
		out, _, err := runOncallTest(tt.args...)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		if out != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.args, out, tt.want)
		}
	}

	// nobody: exit status 1, and the ignored calendar event is reported
	out, errOut, err := runOncallTest("now", "gruen", "--rules", rules, "--at", "2026-10-26T12:00")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("nobody on call: err %v, want exit 1", err)
	}
	if !strings.Contains(out, "nobody on call") || !strings.Contains(errOut, "Sitzung") && !strings.Contains(errOut, "names nobody") {
		t.Errorf("nobody on call: stdout %q stderr %q", out, errOut)
	}
}

func TestOncallShowWeek(t *testing.T) {
	rules := oncallFiles(t)
	out, _, err := runOncallTest("show", "tiefbau", "--rules", rules, "--week", "--from", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"tiefbau (schedule bereitschaft): on call Mon 2026-11-23 00:00 CET – Mon 2026-11-30 00:00 CET (Europe/Berlin)\n" +
		"  Mon 2026-11-23 00:00 CET – Mon 2026-11-23 08:00 CET  ben@stadt.localhost (rotation)\n" +
		"  Mon 2026-11-23 08:00 CET – Tue 2026-11-24 18:00 CET  anna@stadt.localhost (rotation)\n" +
		"  Tue 2026-11-24 18:00 CET – Wed 2026-11-25 06:00 CET  carla@stadt.localhost (override)\n" +
		"  Wed 2026-11-25 06:00 CET – Mon 2026-11-30 00:00 CET  anna@stadt.localhost (rotation)\n"
	if out != want {
		t.Errorf("show:\n%s\nwant:\n%s", out, want)
	}

	// calendar-only schedule with gaps, across the October change
	out, _, err = runOncallTest("show", "gruen", "--rules", rules, "--from", "2026-10-23")
	if err != nil {
		t.Fatal(err)
	}
	want = "" +
		"gruen (schedule plan): on call Fri 2026-10-23 00:00 CEST – Fri 2026-10-30 00:00 CET (Europe/Berlin)\n" +
		"  Fri 2026-10-23 00:00 CEST – Fri 2026-10-23 18:00 CEST  nobody\n" +
		"  Fri 2026-10-23 18:00 CEST – Sat 2026-10-24 06:00 CEST  erik@stadt.localhost (calendar)\n" +
		"  Sat 2026-10-24 06:00 CEST – Sat 2026-10-24 18:00 CEST  nobody\n" +
		"  Sat 2026-10-24 18:00 CEST – Sun 2026-10-25 06:00 CET  erik@stadt.localhost (calendar)\n" +
		"  Sun 2026-10-25 06:00 CET – Sun 2026-10-25 18:00 CET  nobody\n" +
		"  Sun 2026-10-25 18:00 CET – Mon 2026-10-26 06:00 CET  erik@stadt.localhost (calendar)\n" +
		"  Mon 2026-10-26 06:00 CET – Fri 2026-10-30 00:00 CET  nobody\n"
	if out != want {
		t.Errorf("show calendar:\n%s\nwant:\n%s", out, want)
	}
}

func TestOncallUsageErrors(t *testing.T) {
	rules := oncallFiles(t)
	for _, args := range [][]string{
		nil,
		{"later", "tiefbau", "--rules", rules},
		{"now", "tiefbau"},        // no --rules
		{"now", "--rules", rules}, // no team
		{"now", "a", "b", "--rules", rules},
		{"now", "tiefbau", "--rules", rules, "--at", "soon"},
		{"show", "tiefbau", "--rules", rules, "--at", "2026-11-22T23:10"},
		{"now", "tiefbau", "--rules", rules, "--bogus"},
	} {
		_, _, err := runOncallTest(args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%v: err %v, want exit 2", args, err)
		}
	}
	for _, args := range [][]string{
		{"now", "leitstelle", "--rules", rules}, // team without schedule
		{"now", "nope", "--rules", rules},
		{"now", "tiefbau", "--rules", filepath.Join(t.TempDir(), "missing.yaml")},
	} {
		_, _, err := runOncallTest(args...)
		var ee exitError
		if err == nil || errors.As(err, &ee) {
			t.Errorf("%v: err %v, want a plain error", args, err)
		}
	}
}
