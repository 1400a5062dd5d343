package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name → content into a temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const bdRules = `version: 1
timezone: Europe/Berlin
schedules:
  bereitschaft:
    ics: plan.ics
    ics_category: Bauhof
teams:
  bauhof:
    room: bauhof@conference.stadt.localhost
    oncall: bereitschaft
default:
  team: bauhof
`

// A shift plan as group-ware exports it: a UTC series with a DATE
// EXDATE, a weekly series with an RDATE PERIOD and a bad value, two
// RRULEs, an event with a declined attendee, another team's event, and an
// overlap.
const checkICS = "BEGIN:VCALENDAR\r\n" + // 1
	"VERSION:2.0\r\n" + // 2
	"BEGIN:VEVENT\r\nUID:utc\r\nDTSTART:20261130T050000Z\r\nDTEND:20261130T110000Z\r\n" + // 3-6
	"RRULE:FREQ=DAILY;COUNT=3\r\nEXDATE;VALUE=DATE:20261201\r\nCATEGORIES:Bauhof\r\n" + // 7-9
	"SUMMARY:Früh hans@stadt.localhost\r\nEND:VEVENT\r\n" + // 10-11
	"BEGIN:VEVENT\r\nUID:woche\r\nDTSTART;TZID=Europe/Berlin:20261123T140000\r\nDTEND;TZID=Europe/Berlin:20261123T200000\r\n" + // 12-15
	"RRULE:FREQ=WEEKLY;BYDAY=MO\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=4\r\n" + // 16-17
	"RDATE;VALUE=PERIOD:20261205T080000Z/PT4H,20261206T0800/kaputt\r\nCATEGORIES:Bauhof\r\n" + // 18-19
	"SUMMARY:Spät ines@stadt.localhost\r\nEND:VEVENT\r\n" + // 20-21
	"BEGIN:VEVENT\r\nUID:abgesagt\r\nDTSTART;TZID=Europe/Berlin:20261202T180000\r\nDURATION:PT12H\r\n" + // 22-25
	"ORGANIZER:mailto:plan@stadt.localhost\r\nATTENDEE;PARTSTAT=DECLINED:mailto:jan@stadt.localhost\r\n" + // 26-27
	"ATTENDEE;PARTSTAT=ACCEPTED:mailto:kim@stadt.localhost\r\nCATEGORIES:Bauhof\r\nEND:VEVENT\r\n" + // 28-30
	"BEGIN:VEVENT\r\nUID:andere\r\nDTSTART:20261202T000000Z\r\nDURATION:P1D\r\nCATEGORIES:Grünflächen\r\n" + // 31-35
	"SUMMARY:lea@stadt.localhost\r\nEND:VEVENT\r\n" + // 36-37
	"BEGIN:VEVENT\r\nUID:doppelt\r\nDTSTART;TZID=Europe/Berlin:20261130T150000\r\nDURATION:PT2H\r\nCATEGORIES:Bauhof\r\n" + // 38-42
	"SUMMARY:max@stadt.localhost\r\nEND:VEVENT\r\n" + // 43-44
	"END:VCALENDAR\r\n"

func TestOncallCheckCalendar(t *testing.T) {
	dir := writeFiles(t, map[string]string{"plan.ics": checkICS, "rules.yaml": bdRules})
	out, errOut, err := runOncallTest("check", filepath.Join(dir, "plan.ics"), "--from", "2026-11-30", "--weeks", "1", "--category", "bauhof")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("err %v, want exit 1 (the calendar has warnings); stderr %q", err, errOut)
	}
	for _, want := range []string{
		"on-call events; Mon 2026-11-30 00:00 CET – Mon 2026-12-07 00:00 CET (Europe/Berlin)",
		"  Mon 2026-11-30 06:00 CET – Mon 2026-11-30 12:00 CET  hans@stadt.localhost  (calendar event utc (line 3))\n",
		"  Mon 2026-11-30 14:00 CET – Mon 2026-11-30 15:00 CET  ines@stadt.localhost  (calendar event woche (line 12))\n",
		"  Mon 2026-11-30 15:00 CET – Mon 2026-11-30 17:00 CET  max@stadt.localhost  (calendar event doppelt (line 38))\n",
		"  Wed 2026-12-02 06:00 CET – Wed 2026-12-02 12:00 CET  hans@stadt.localhost",
		"  Wed 2026-12-02 18:00 CET – Thu 2026-12-03 06:00 CET  kim@stadt.localhost",
		"  Fri 2026-12-04 14:00 CET – Fri 2026-12-04 20:00 CET  ines@stadt.localhost", // the second RRULE
		"  Sat 2026-12-05 09:00 CET – Sat 2026-12-05 13:00 CET  ines@stadt.localhost", // the PERIOD
		"  gap: nobody on call Mon 2026-11-30 00:00 CET – Mon 2026-11-30 06:00 CET\n",
		"  overlap: ines@stadt.localhost and max@stadt.localhost both on call Mon 2026-11-30 15:00 CET – Mon 2026-11-30 17:00 CET",
		`  line 18: event woche at 20261123T140000: RDATE value "20261206T0800/kaputt"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"Tue 2026-12-01 06:00", "lea@", "jan@"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, out)
		}
	}

	// the same through the team's schedule in the rules file
	out2, _, err := runOncallTest("check", "bauhof", "--rules", filepath.Join(dir, "rules.yaml"), "--from", "2026-11-30", "--weeks", "1")
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("check TEAM: err %v, want exit 1", err)
	}
	if !strings.Contains(out2, "bauhof (schedule bereitschaft): 4 on-call events") || !strings.Contains(out2, "kim@stadt.localhost") {
		t.Errorf("check TEAM:\n%s", out2)
	}
}

// The kinds of the shared failing cases, on inputs of our own, through
// `oncall now` and `oncall show`.
func TestOncallNowAndShowRealExports(t *testing.T) {
	dir := writeFiles(t, map[string]string{"plan.ics": checkICS, "rules.yaml": bdRules})
	rules := filepath.Join(dir, "rules.yaml")
	out, _, err := runOncallTest("now", "bauhof", "--rules", rules, "--at", "2026-12-02T20:00")
	if err != nil || !strings.HasPrefix(out, "bauhof (schedule bereitschaft): kim@stadt.localhost on call") {
		t.Errorf("now with a declined attendee: %q %v", out, err)
	}
	out, _, err = runOncallTest("now", "bauhof", "--rules", rules, "--at", "2026-12-01T07:00")
	if ee := (exitError{}); !errors.As(err, &ee) || !strings.Contains(out, "nobody on call") {
		t.Errorf("now on the excluded date: %q %v", out, err)
	}
	out, _, err = runOncallTest("show", "bauhof", "--rules", rules, "--week", "--from", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  Mon 2026-11-30 06:00 CET – Mon 2026-11-30 12:00 CET  hans@stadt.localhost (calendar)\n",
		"  Mon 2026-11-30 20:00 CET – Wed 2026-12-02 06:00 CET  nobody\n", // 12-01 excluded by date
		"  Sat 2026-12-05 09:00 CET – Sat 2026-12-05 13:00 CET  ines@stadt.localhost (calendar)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}
