package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// `oncall check` on calendars as products save them (fixtures of package
// oncall): a UTF-16 Outlook export with a moved and a cancelled instance
// lists what Outlook shows and exits 0; an Apple export with a tentative
// event names it with its line and exits 1.
func TestOncallCheckProductExports(t *testing.T) {
	out, errOut, err := runOncallTest("check", filepath.Join("..", "..", "oncall", "testdata", "outlook_de_utf16_attack8.ics"), "--from", "2026-11-30", "--weeks", "1")
	if err != nil {
		t.Fatalf("outlook: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"Mon 2026-11-30 08:00 CET – Mon 2026-11-30 16:00 CET  carla@stadt.localhost",
		"Tue 2026-12-01 12:00 CET – Tue 2026-12-01 20:00 CET  frieda@stadt.localhost",
		"Fri 2026-12-04 08:00 CET – Fri 2026-12-04 16:00 CET  carla@stadt.localhost",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("outlook: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "2026-12-02 08:00") || strings.Contains(out, "2026-12-03 08:00") {
		t.Errorf("outlook: cancelled or excluded instance listed:\n%s", out)
	}

	out, errOut, err = runOncallTest("check", filepath.Join("..", "..", "oncall", "testdata", "apple_attack8.ics"), "--from", "2027-03-26", "--weeks", "1")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("apple: err %v, want exit 1\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"Sat 2027-03-27 22:00 CET – Sun 2027-03-28 06:00 CEST  juergen@stadt.localhost",
		"line 41: event vorschlag at 20271101T080000 is STATUS:TENTATIVE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apple: no %q in\n%s", want, out)
		}
	}
}
