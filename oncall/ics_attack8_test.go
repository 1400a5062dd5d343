package oncall_test

// Calendars in the exact shapes real products export (Outlook/Exchange in
// German, Google, Apple/Nextcloud), checked against what a person reading
// them in that product sees.

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/oncall"
)

// Outlook (German): "Mitteleuropäische Zeit" VTIMEZONE with quoted TZID
// parameters, MAILTO: in upper case with a mixed-case address, a moved
// instance (RECURRENCE-ID) taken by another attendee, a cancelled
// instance, EXDATE, a VALARM, X-MICROSOFT-CDO-*, FREQ=MONTHLY;BYDAY=-1FR
// across both DST changes, and BYSETPOS=-1 (last weekday) with UNTIL in
// UTC. The same file saved as UTF-16 (Notepad's "Unicode") reads the same.
func TestOutlookGermanExport(t *testing.T) {
	want := "" +
		"11-30T07:00–11-30T15:00 carla@stadt.localhost calendar\n" +
		"12-01T11:00–12-01T19:00 frieda@stadt.localhost calendar\n" + // moved 08:00 → 12:00, frieda
		// 12-02 cancelled (STATUS:CANCELLED), 12-03 EXDATE
		"12-04T07:00–12-04T15:00 carla@stadt.localhost calendar\n" +
		"12-25T17:00–12-26T05:00 dora@stadt.localhost calendar\n" + // last Friday
		"12-31T06:00–12-31T10:00 ben@stadt.localhost calendar\n" + // last weekday (Thursday)
		"01-29T06:00–01-29T10:00 ben@stadt.localhost calendar\n" +
		"01-29T17:00–01-30T05:00 dora@stadt.localhost calendar\n" +
		"02-26T06:00–02-26T10:00 ben@stadt.localhost calendar\n" +
		"02-26T17:00–02-27T05:00 dora@stadt.localhost calendar\n" +
		"03-26T17:00–03-27T05:00 dora@stadt.localhost calendar\n" +
		"03-31T05:00–03-31T09:00 ben@stadt.localhost calendar\n" + // 07:00 CEST; UNTIL 06:00Z includes it
		"04-30T16:00–05-01T04:00 dora@stadt.localhost calendar\n"
	for _, f := range []string{"outlook_de_attack8.ics", "outlook_de_utf16_attack8.ics"} {
		cal := ocLoadCalendar(t, f)
		wantNoWarnings(t, cal)
		wantPlan(t, cal, ocLocal(t, "2026-11-30T00:00"), ocLocal(t, "2027-05-02T00:00"), want)
	}
}

// Google: all-day on-call weeks (VALUE=DATE, 7 days, INTERVAL=2, UNTIL as
// a DATE), an EXDATE list with TZID, UNTIL in UTC with a local DTSTART,
// and an override in its own VEVENT (RECURRENCE-ID;TZID).
func TestGoogleExport(t *testing.T) {
	cal := ocLoadCalendar(t, "google_attack8.ics")
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocLocal(t, "2026-11-30T00:00"), ocLocal(t, "2027-01-31T00:00"), ""+
		"11-29T23:00–12-06T23:00 anna@stadt.localhost calendar\n"+ // Berlin midnight to midnight
		"11-30T15:00–12-01T06:00 emil@stadt.localhost calendar\n"+
		"12-02T15:00–12-03T06:00 emil@stadt.localhost calendar\n"+
		"12-06T23:00–12-13T23:00 ben@stadt.localhost calendar\n"+
		// 12-07 and 12-09 EXDATE
		"12-13T23:00–12-20T23:00 anna@stadt.localhost calendar\n"+
		"12-14T15:00–12-15T06:00 emil@stadt.localhost calendar\n"+
		"12-16T17:00–12-17T06:00 greta@stadt.localhost calendar\n"+ // override: 18:00, greta
		// ben's week of 12-21 EXDATE
		"12-21T15:00–12-22T06:00 emil@stadt.localhost calendar\n"+
		"12-23T15:00–12-24T06:00 emil@stadt.localhost calendar\n"+
		// 12-28 16:00 CET is after UNTIL 14:59:59Z
		"12-27T23:00–01-03T23:00 anna@stadt.localhost calendar\n"+
		"01-03T23:00–01-10T23:00 ben@stadt.localhost calendar\n")
}

// Apple/Nextcloud: BOM, LF (and classic Mac CR) line ends, X-WR-TIMEZONE
// without VTIMEZONE and floating times, a fold splitting the bytes of
// "ü", a VALARM with its own ATTENDEE and SUMMARY (not the person on
// call), DURATION, an attendee given as urn:uuid: with EMAIL (iCloud),
// a cancelled and a tentative event, and night shifts 22:00–06:00 over
// both DST changes (7 and 9 hours with DTEND; DURATION:PT8H is exact).
func TestAppleNextcloudExport(t *testing.T) {
	for _, f := range []string{"apple_attack8.ics", "apple_cr_attack8.ics"} {
		cal := ocLoadCalendar(t, f)
		wantWarning(t, cal, 41, "STATUS:TENTATIVE")
		if len(cal.Warnings) != 1 {
			t.Errorf("%s: warnings %q, want only the tentative one", f, notes(cal))
		}
		wantPlan(t, cal, ocLocal(t, "2027-03-26T00:00"), ocLocal(t, "2027-11-05T00:00"), ""+
			"03-26T21:00–03-27T05:00 juergen@stadt.localhost calendar\n"+
			"03-27T21:00–03-28T04:00 juergen@stadt.localhost calendar\n"+ // 7 h: clocks go forward
			"03-28T20:00–03-29T04:00 juergen@stadt.localhost calendar\n"+
			"03-29T20:00–03-30T04:00 juergen@stadt.localhost calendar\n"+
			"10-29T20:00–10-30T04:00 paula@stadt.localhost calendar\n"+ // EMAIL=, not the organizer
			"10-30T20:00–10-31T04:00 paula@stadt.localhost calendar\n"+ // PT8H exact: 05:00 CET
			"10-31T21:00–11-01T05:00 paula@stadt.localhost calendar\n"+
			"11-01T07:00–11-01T15:00 otto@stadt.localhost calendar\n") // tentative, counted, warned
	}
}

// The 22:00–06:00 DTEND night of the October change is 9 hours.
func TestNightShiftOctoberNineHours(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:n", "DTSTART;TZID=Europe/Berlin:20271030T220000", "DTEND;TZID=Europe/Berlin:20271031T060000",
		"SUMMARY:ines@stadt.localhost", "END:VEVENT"))
	sh := cal.Shifts(ocLocal(t, "2027-10-30T00:00"), ocLocal(t, "2027-11-01T00:00"))
	if len(sh) != 1 || sh[0].To.Sub(sh[0].From).Hours() != 9 {
		t.Errorf("shifts %s, want one of 9 hours", ocPlan(sh))
	}
}

// An iCalendar stream may hold several calendar objects (RFC 5545 §3.4);
// the second one's events count too.
func TestSeveralCalendarObjects(t *testing.T) {
	one := icsDoc("BEGIN:VEVENT", "UID:a", "DTSTART:20261201T080000Z", "DTEND:20261201T160000Z", "SUMMARY:anna@stadt.localhost", "END:VEVENT")
	two := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/London\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261202T080000\r\nDURATION:PT8H\r\nSUMMARY:ben@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, one+two)
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-07T00:00"), ""+
		"12-01T08:00–12-01T16:00 anna@stadt.localhost calendar\n"+
		"12-02T08:00–12-02T16:00 ben@stadt.localhost calendar\n") // floating in its own X-WR-TIMEZONE
}

// Floating times of a calendar whose X-WR-TIMEZONE is not the town's are
// read in the calendar's zone, as Google and Apple show them; DATE values
// stay days of the town.
func TestXWRTimezoneFloating(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Europe/London\r\n"+
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260701T080000\r\nDTEND:20260701T160000\r\nSUMMARY:anna@stadt.localhost\r\nEND:VEVENT\r\n"+
		"BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20260702\r\nSUMMARY:ben@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocUTC(t, "2026-06-30T00:00"), ocUTC(t, "2026-07-05T00:00"), ""+
		"07-01T07:00–07-01T15:00 anna@stadt.localhost calendar\n"+ // 08:00 BST
		"07-01T22:00–07-02T22:00 ben@stadt.localhost calendar\n") // the town's day
	bad := parseWith(t, oncall.Options{Location: ocBerlin(t)}, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:Mars/Olympus\r\n"+
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260701T080000\r\nDTEND:20260701T160000\r\nSUMMARY:anna@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	wantWarning(t, bad, 3, "X-WR-TIMEZONE")
}

// An iTIP cancellation or reply saved as a file is not a shift plan.
func TestITIPMessageRefused(t *testing.T) {
	for _, m := range []string{"CANCEL", "REPLY", "cancel"} {
		_, err := oncall.ParseCalendar(strings.NewReader("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:"+m+"\r\n"+
			"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261201T080000Z\r\nDURATION:PT8H\r\nSUMMARY:anna@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
			oncall.Options{Location: ocBerlin(t)})
		if !errors.Is(err, oncall.ErrInvalid) || !strings.Contains(err.Error(), "METHOD:"+strings.ToUpper(m)) {
			t.Errorf("METHOD:%s: err %v, want ErrInvalid naming the method", m, err)
		}
	}
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"+
		"BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261201T080000Z\r\nDURATION:PT8H\r\nSUMMARY:anna@stadt.localhost\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	if cal.Events() != 1 {
		t.Errorf("METHOD:REQUEST: %d events, want 1", cal.Events())
	}
}

// Rule parts are case-insensitive (RFC 5545 §3.3.10 ABNF literals); an
// UNTIL written as a DATE on a DATE-TIME series includes that day, as in
// libical-based clients.
func TestRuleCaseAndUntilDate(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART:20261130T080000", "DTEND:20261130T160000", "RRULE:freq=daily;count=2", "SUMMARY:anna@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTART;TZID=Europe/Berlin:20261207T080000", "DTEND;TZID=Europe/Berlin:20261207T160000", "RRULE:FREQ=WEEKLY;UNTIL=20261214", "SUMMARY:ben@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-31T00:00"), ""+
		"11-30T07:00–11-30T15:00 anna@stadt.localhost calendar\n"+
		"12-01T07:00–12-01T15:00 anna@stadt.localhost calendar\n"+
		"12-07T07:00–12-07T15:00 ben@stadt.localhost calendar\n"+
		"12-14T07:00–12-14T15:00 ben@stadt.localhost calendar\n")
}

// Two exports of one calendar saved into one file: each event counts in
// its latest version only (highest SEQUENCE), with a warning naming the
// ignored one; before, the old version stayed as a ghost shift. Copies
// with equal SEQUENCE all count.
func TestOldAndNewExportInOneFile(t *testing.T) {
	old := icsDoc("BEGIN:VEVENT", "UID:w1", "SEQUENCE:0", "DTSTART:20261201T080000Z", "DTEND:20261201T160000Z", "SUMMARY:anna@stadt.localhost", "END:VEVENT")
	cur := icsDoc("BEGIN:VEVENT", "UID:w1", "SEQUENCE:2", "DTSTART:20261201T100000Z", "DTEND:20261201T180000Z", "SUMMARY:ben@stadt.localhost", "END:VEVENT")
	for _, doc := range []string{old + cur, cur + old} {
		cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, doc)
		wantPlan(t, cal, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-07T00:00"),
			"12-01T10:00–12-01T18:00 ben@stadt.localhost calendar\n")
		if len(cal.Warnings) != 1 || !strings.Contains(cal.Warnings[0].Msg, "(SEQUENCE 0) is an older version of the event at line") {
			t.Errorf("warnings %q, want one about the old version", notes(cal))
		}
	}
	// A tool that writes one UID for every event (no SEQUENCE): all count.
	same := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:dienstplan", "DTSTART:20261201T080000Z", "DTEND:20261201T160000Z", "SUMMARY:anna@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:dienstplan", "DTSTART:20261202T080000Z", "DTEND:20261202T160000Z", "SUMMARY:ben@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, same)
	wantPlan(t, same, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-07T00:00"), ""+
		"12-01T08:00–12-01T16:00 anna@stadt.localhost calendar\n"+
		"12-02T08:00–12-02T16:00 ben@stadt.localhost calendar\n")
}

// An EXDATE or RECURRENCE-ID that names no occurrence of its series (a
// floating value on a UTC series, another time of day) removes nothing;
// before, that was silent and the "cancelled" shift stayed. Now each
// one is named with its line.
func TestExclusionMatchingNothingWarned(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:u", "DTSTART:20261201T070000Z", "DURATION:PT8H", "RRULE:FREQ=DAILY;COUNT=3",
		"EXDATE:20261202T080000", "SUMMARY:anna@stadt.localhost", "END:VEVENT", // line 8
		"BEGIN:VEVENT", "UID:b", "DTSTART;TZID=Europe/Berlin:20261201T080000", "DURATION:PT8H", "RRULE:FREQ=WEEKLY;BYDAY=TU,TH",
		"EXDATE;TZID=Europe/Berlin:20261203T000000", "EXDATE;VALUE=DATE:20261202,20261208", "SUMMARY:ben@stadt.localhost", "END:VEVENT", // lines 16, 17
		"BEGIN:VEVENT", "UID:b", "RECURRENCE-ID;TZID=Europe/Berlin:20261210T090000", "DTSTART;TZID=Europe/Berlin:20261210T100000",
		"DURATION:PT8H", "SUMMARY:carla@stadt.localhost", "END:VEVENT")) // RECURRENCE-ID: line 22
	wantWarning(t, cal, 8, "EXDATE value 20261202T080000 UTC matches no occurrence of the series (they start at 07:00 UTC)")
	wantWarning(t, cal, 16, "EXDATE value 20261203T000000 CET matches no occurrence")
	wantWarning(t, cal, 17, "EXDATE value 20261202 names a day without an occurrence")
	wantWarning(t, cal, 22, "the changed instance is added, but no occurrence is replaced")
	if len(cal.Warnings) != 4 {
		t.Errorf("warnings %q, want 4 (20261208 is a Tuesday of the series)", notes(cal))
	}
	// what they do not remove stays
	wantPlan(t, cal, ocUTC(t, "2026-12-02T00:00"), ocUTC(t, "2026-12-04T00:00"), ""+
		"12-02T07:00–12-02T15:00 anna@stadt.localhost calendar\n"+
		"12-03T07:00–12-03T15:00 anna@stadt.localhost calendar\n"+
		"12-03T07:00–12-03T15:00 ben@stadt.localhost calendar\n")
}

// An event with a time but no end (RFC 5545 §3.6.1: no length) is
// skipped with a warning that says so.
func TestEventWithoutEndNamed(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Europe/Berlin:20261201T080000", "SUMMARY:anna@stadt.localhost", "END:VEVENT"))
	wantWarning(t, cal, 3, "has no DTEND or DURATION")
}

// A SUMMARY naming two people ("Tausch: anna für ben") does not say who
// is on call; before, the first one was taken silently. The event is
// skipped with a warning unless X-FIELDGATE-PERSON decides.
func TestSummaryWithTwoPeopleAmbiguous(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART:20261201T070000Z", "DURATION:PT8H", "SUMMARY:Tausch: anna@stadt.localhost für Ben@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTART:20261202T070000Z", "DURATION:PT8H", "SUMMARY:Tausch: anna@stadt.localhost für ben@stadt.localhost",
		"X-FIELDGATE-PERSON:ben@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:c", "DTSTART:20261203T070000Z", "DURATION:PT8H", "SUMMARY:carla@stadt.localhost (carla@stadt.localhost)", "END:VEVENT"))
	wantWarning(t, cal, 3, "ambiguous: SUMMARY names 2 people (anna@stadt.localhost, ben@stadt.localhost)")
	if len(cal.Warnings) != 1 {
		t.Errorf("warnings %q, want one", notes(cal))
	}
	wantPlan(t, cal, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-07T00:00"), ""+
		"12-02T07:00–12-02T15:00 ben@stadt.localhost calendar\n"+
		"12-03T07:00–12-03T15:00 carla@stadt.localhost calendar\n")
}

// A wall-clock time that occurs twice (the night the clocks go back) is
// its first occurrence (RFC 5545 §3.3.5): 02:30 on 25 October 2026 in
// Berlin is 00:30 UTC (CEST), for DTSTART, for RRULE occurrences, for a
// shift's end and for EXDATE. Before, it was the second one (01:30 UTC).
func TestAmbiguousLocalTimeFirstOccurrence(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Europe/Berlin:20261025T023000", "DTEND;TZID=Europe/Berlin:20261025T063000", "SUMMARY:anna@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTART;TZID=Europe/Berlin:20261023T023000", "DTEND;TZID=Europe/Berlin:20261023T063000", "RRULE:FREQ=DAILY;COUNT=4",
		"EXDATE;TZID=Europe/Berlin:20261024T023000", "SUMMARY:ben@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:c", "DTSTART:20261024T200000", "DTEND:20261025T023000", "SUMMARY:carla@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocUTC(t, "2026-10-23T00:00"), ocUTC(t, "2026-10-27T00:00"), ""+
		"10-23T00:30–10-23T04:30 ben@stadt.localhost calendar\n"+
		"10-24T18:00–10-25T00:30 carla@stadt.localhost calendar\n"+ // ends at the first 02:30
		"10-25T00:30–10-25T05:30 anna@stadt.localhost calendar\n"+ // 5 h: 02:30 CEST (00:30 UTC) to 06:30 CET (05:30 UTC)
		"10-25T00:30–10-25T05:30 ben@stadt.localhost calendar\n"+
		"10-26T01:30–10-26T05:30 ben@stadt.localhost calendar\n")
}

// A meeting Outlook marked "Abgesagt:" in its SUMMARY without
// STATUS:CANCELLED is what a reader sees as cancelled: it still counts
// (no status says otherwise) but is named with a warning, so that
// `oncall check` fails until the plan is cleaned up.
func TestCancelledPrefixWithoutStatusWarned(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART:20261201T070000Z", "DURATION:PT8H", "SUMMARY:Abgesagt: Rufbereitschaft anna@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTART:20261202T070000Z", "DURATION:PT8H", "SUMMARY:Abgesagt: Rufbereitschaft ben@stadt.localhost", "STATUS:CANCELLED", "END:VEVENT",
		"BEGIN:VEVENT", "UID:c", "DTSTART:20261203T070000Z", "DURATION:PT8H", "SUMMARY:Rufbereitschaft (nicht abgesagt) carla@stadt.localhost", "END:VEVENT"))
	wantWarning(t, cal, 3, `SUMMARY begins with "Abgesagt:"`)
	if len(cal.Warnings) != 1 {
		t.Errorf("warnings %q, want one", notes(cal))
	}
	wantPlan(t, cal, ocUTC(t, "2026-11-30T00:00"), ocUTC(t, "2026-12-07T00:00"), ""+
		"12-01T07:00–12-01T15:00 anna@stadt.localhost calendar\n"+
		"12-03T07:00–12-03T15:00 carla@stadt.localhost calendar\n")
}

// Outlook's "Customized Time Zone" (a VTIMEZONE whose daylight offset
// equals the standard one) is not the town's zone: its events are
// skipped with a warning that says why and how to export instead; so is
// an unknown TZID without VTIMEZONE.
func TestCustomizedTimeZoneNamed(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VTIMEZONE", "TZID:Customized Time Zone",
		"BEGIN:STANDARD", "DTSTART:16010101T000000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:STANDARD",
		"BEGIN:DAYLIGHT", "DTSTART:16010101T000000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:DAYLIGHT", "END:VTIMEZONE",
		"BEGIN:VEVENT", "UID:a", `DTSTART;TZID="Customized Time Zone":20260701T080000`, `DTEND;TZID="Customized Time Zone":20260701T160000`,
		"SUMMARY:anna@stadt.localhost", "END:VEVENT", // BEGIN:VEVENT at line 16
		"BEGIN:VEVENT", "UID:b", "DTSTART;TZID=Pacific Daylight Time:20260701T080000", "DURATION:PT8H",
		"SUMMARY:ben@stadt.localhost", "END:VEVENT")) // line 22
	wantWarning(t, cal, 16, `unknown time zone "Customized Time Zone": its VTIMEZONE names no IANA zone`)
	wantWarning(t, cal, 22, `unknown time zone "Pacific Daylight Time": neither an IANA nor a known Windows zone name`)
	if cal.Events() != 0 {
		t.Errorf("%d events, want none", cal.Events())
	}
}
