package oncall_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// icsDoc builds a calendar from content lines; line 1 is BEGIN:VCALENDAR,
// so the first given line is line 2.
func icsDoc(lines ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n"
}

func parseWith(t *testing.T, opt oncall.Options, doc string) *oncall.Calendar {
	t.Helper()
	cal, err := oncall.ParseCalendar(strings.NewReader(doc), opt)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func wantPlan(t *testing.T, cal *oncall.Calendar, from, to time.Time, want string) {
	t.Helper()
	if got := ocPlan(cal.Shifts(from, to)); got != want {
		t.Errorf("shifts:\n%s\nwant:\n%s", got, want)
	}
}

func wantNoWarnings(t *testing.T, cal *oncall.Calendar) {
	t.Helper()
	if len(cal.Warnings) > 0 {
		t.Errorf("unexpected warnings: %q", notes(cal))
	}
}

// wantWarning checks that a warning names line and contains text.
func wantWarning(t *testing.T, cal *oncall.Calendar, line int, text string) {
	t.Helper()
	for _, w := range cal.Warnings {
		if w.Line == line && strings.Contains(w.Msg, text) {
			return
		}
	}
	t.Errorf("no warning at line %d containing %q: %q", line, text, notes(cal))
}

// A DATE in EXDATE names a date in the event's own zone (RFC 5545
// §3.8.5.1): for a UTC series the UTC date, not the town's.
func TestExdateDateInEventZone(t *testing.T) {
	berlin := ocBerlin(t)
	utc := parseWith(t, oncall.Options{Location: berlin}, icsDoc(
		"BEGIN:VEVENT", "UID:frueh", "DTSTART:20260316T043000Z", "DTEND:20260316T143000Z",
		"RRULE:FREQ=DAILY;COUNT=5", "EXDATE;VALUE=DATE:20260318,20260320",
		"SUMMARY:Frühdienst: otto@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, utc)
	wantPlan(t, utc, ocUTC(t, "2026-03-16T00:00"), ocUTC(t, "2026-03-23T00:00"), ""+
		"03-16T04:30–03-16T14:30 otto@stadt.localhost calendar\n"+
		"03-17T04:30–03-17T14:30 otto@stadt.localhost calendar\n"+
		"03-19T04:30–03-19T14:30 otto@stadt.localhost calendar\n")

	// A late shift in New York: its DATE exclusions are New York dates,
	// although the instances start on the next UTC day.
	ny := parseWith(t, oncall.Options{Location: berlin}, icsDoc(
		"BEGIN:VEVENT", "UID:spaet", "DTSTART;TZID=America/New_York:20260316T210000", "DURATION:PT5H",
		"RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=DATE:20260317",
		"SUMMARY:Spät: paula@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, ny)
	wantPlan(t, ny, ocUTC(t, "2026-03-16T00:00"), ocUTC(t, "2026-03-20T00:00"), ""+
		"03-17T01:00–03-17T06:00 paula@stadt.localhost calendar\n"+
		"03-19T01:00–03-19T06:00 paula@stadt.localhost calendar\n")

	// Floating date-times in EXDATE are in the event's zone (here London),
	// a TZID on the EXDATE is honoured, and a list removes every value.
	london := parseWith(t, oncall.Options{Location: berlin}, icsDoc(
		"BEGIN:VEVENT", "UID:london", "DTSTART;TZID=Europe/London:20260601T090000", "DURATION:PT8H",
		"RRULE:FREQ=DAILY;COUNT=5", "EXDATE:20260602T090000,20260603T090000",
		"EXDATE;TZID=Europe/Berlin:20260605T100000",
		"SUMMARY:quentin@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, london)
	wantPlan(t, london, ocUTC(t, "2026-06-01T00:00"), ocUTC(t, "2026-06-08T00:00"), ""+
		"06-01T08:00–06-01T16:00 quentin@stadt.localhost calendar\n"+
		"06-04T08:00–06-04T16:00 quentin@stadt.localhost calendar\n")
}

// All-day shifts: DATE values, a DATE EXDATE, and one DATE RDATE.
func TestAllDayShifts(t *testing.T) {
	berlin := ocBerlin(t)
	cal := parseWith(t, oncall.Options{Location: berlin}, icsDoc(
		"BEGIN:VEVENT", "UID:tag", "DTSTART;VALUE=DATE:20261024", "DTEND;VALUE=DATE:20261026",
		"RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE;VALUE=DATE:20261031", "RDATE;VALUE=DATE:20261104",
		"SUMMARY:Wochenende rita@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, cal)
	// midnight to midnight in Berlin, across the October change (25 h day)
	wantPlan(t, cal, ocUTC(t, "2026-10-20T00:00"), ocUTC(t, "2026-11-10T00:00"), ""+
		"10-23T22:00–10-25T23:00 rita@stadt.localhost calendar\n"+
		"11-03T23:00–11-05T23:00 rita@stadt.localhost calendar\n"+
		"11-06T23:00–11-08T23:00 rita@stadt.localhost calendar\n")
}

// RDATE PERIOD values (start/end and start/duration) add instances with
// their own length; a bad value in the list costs only that value.
func TestRdatePeriod(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", // line 3
		"UID:wochen",   // 4
		"DTSTART;TZID=Europe/Berlin:20261102T070000",                                                  // 5
		"DTEND;TZID=Europe/Berlin:20261102T190000",                                                    // 6
		"RRULE:FREQ=WEEKLY;BYDAY=MO",                                                                  // 7
		"RDATE;VALUE=PERIOD:20261107T090000Z/20261107T130000Z,20261108T090000Z/PT2H,20261109T1000Z/x", // 8
		"SUMMARY:Bereitschaft sven@stadt.localhost",                                                   // 9
		"END:VEVENT"))
	wantWarning(t, cal, 8, "20261109T1000Z/x")
	if len(cal.Warnings) != 1 {
		t.Errorf("warnings: %q", notes(cal))
	}
	wantPlan(t, cal, ocUTC(t, "2026-11-02T00:00"), ocUTC(t, "2026-11-10T00:00"), ""+
		"11-02T06:00–11-02T18:00 sven@stadt.localhost calendar\n"+
		"11-07T09:00–11-07T13:00 sven@stadt.localhost calendar\n"+
		"11-08T09:00–11-08T11:00 sven@stadt.localhost calendar\n"+
		"11-09T06:00–11-09T18:00 sven@stadt.localhost calendar\n")
}

// Several RRULEs are a union; an unsupported one costs only itself.
func TestSeveralRrules(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", // 3
		"UID:union",    // 4
		"DTSTART;TZID=Europe/Berlin:20261103T080000", // 5 (a Tuesday)
		"DURATION:PT10H", // 6
		"RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20261201T000000Z",      // 7
		"RRULE:FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20270101T000000Z", // 8
		"RRULE:FREQ=HOURLY",           // 9
		"SUMMARY:tom@stadt.localhost", // 10
		"END:VEVENT"))
	wantWarning(t, cal, 9, "FREQ finer than DAILY")
	wantPlan(t, cal, ocLocal(t, "2026-11-23T00:00"), ocLocal(t, "2026-12-03T00:00"), ""+
		"11-24T07:00–11-24T17:00 tom@stadt.localhost calendar\n"+
		"12-01T07:00–12-01T17:00 tom@stadt.localhost calendar\n") // the weekly rule ended; the monthly one goes on
}

// EXRULE (RFC 2445, still exported) removes its instances.
func TestExrule(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:ex", "DTSTART;TZID=Europe/Berlin:20261102T080000", "DURATION:PT1H",
		"RRULE:FREQ=DAILY", "EXRULE:FREQ=WEEKLY;BYDAY=SA,SU",
		"SUMMARY:uwe@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, cal)
	got := cal.Shifts(ocLocal(t, "2026-11-02T00:00"), ocLocal(t, "2026-11-16T00:00"))
	if len(got) != 10 {
		t.Fatalf("%d shifts in two weeks, want the 10 weekdays:\n%s", len(got), ocPlan(got))
	}
	for _, s := range got {
		if wd := s.From.In(ocBerlin(t)).Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("a weekend shift survived the EXRULE: %v", s.From)
		}
	}
}

// RECURRENCE-ID replaces an instance of a series made of RDATEs, and of
// one made of an RRULE; a moved instance keeps the series' person unless
// it names another.
func TestRecurrenceIDOfRdateSeries(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", "UID:einsatz", "DTSTART;TZID=Europe/Berlin:20261110T180000", "DTEND;TZID=Europe/Berlin:20261111T060000",
		"RDATE;TZID=Europe/Berlin:20261117T180000,20261124T180000",
		"SUMMARY:Nacht vera@stadt.localhost", "END:VEVENT",
		// the 17th moves two hours later
		"BEGIN:VEVENT", "UID:einsatz", "RECURRENCE-ID;TZID=Europe/Berlin:20261117T180000",
		"DTSTART;TZID=Europe/Berlin:20261117T200000", "DTEND;TZID=Europe/Berlin:20261118T060000", "END:VEVENT",
		// the 24th goes to walt
		"BEGIN:VEVENT", "UID:einsatz", "RECURRENCE-ID:20261124T170000Z",
		"DTSTART;TZID=Europe/Berlin:20261124T180000", "DTEND;TZID=Europe/Berlin:20261125T060000",
		"SUMMARY:Tausch walt@stadt.localhost", "END:VEVENT"))
	wantNoWarnings(t, cal)
	wantPlan(t, cal, ocUTC(t, "2026-11-09T00:00"), ocUTC(t, "2026-11-30T00:00"), ""+
		"11-10T17:00–11-11T05:00 vera@stadt.localhost calendar\n"+
		"11-17T19:00–11-18T05:00 vera@stadt.localhost calendar\n"+
		"11-24T17:00–11-25T05:00 walt@stadt.localhost calendar\n")
}

// PARTSTAT (RFC 5545 §3.2.12): declined, tentative and needs-action
// attendees do not count; the organizer counts only as an accepting
// attendee and only when nobody else does.
func TestAttendeesPartstat(t *testing.T) {
	event := func(uid string, atts ...string) []string {
		lines := []string{"BEGIN:VEVENT", "UID:" + uid, "DTSTART:20261201T070000Z", "DURATION:PT8H",
			"ORGANIZER;CN=Dienstplan:mailto:plan@stadt.localhost"}
		lines = append(lines, atts...)
		return append(lines, "SUMMARY:Bereitschaft", "END:VEVENT")
	}
	tests := []struct {
		name    string
		atts    []string
		want    string // "" = nobody, with a warning
		warning string
	}{
		{"one accepted of three", []string{
			"ATTENDEE;PARTSTAT=ACCEPTED;CN=Plan:mailto:plan@stadt.localhost",
			"ATTENDEE;PARTSTAT=DECLINED:mailto:xaver@stadt.localhost",
			"ATTENDEE;PARTSTAT=ACCEPTED;CN=Yvonne:mailto:yvonne@stadt.localhost",
			"ATTENDEE;PARTSTAT=TENTATIVE:mailto:zoe@stadt.localhost"}, "yvonne@stadt.localhost", ""},
		{"missing PARTSTAT is NEEDS-ACTION when others reply", []string{
			"ATTENDEE;PARTSTAT=ACCEPTED:xmpp:yvonne@stadt.localhost",
			"ATTENDEE:mailto:xaver@stadt.localhost"}, "yvonne@stadt.localhost", ""},
		{"exporter without replies", []string{"ATTENDEE;CN=Xaver:mailto:xaver@stadt.localhost"}, "xaver@stadt.localhost", ""},
		{"organizer as the one accepting attendee", []string{
			"ATTENDEE;PARTSTAT=ACCEPTED:mailto:plan@stadt.localhost",
			"ATTENDEE;PARTSTAT=DECLINED:mailto:xaver@stadt.localhost"}, "plan@stadt.localhost", ""},
		{"organizer alone is nobody", nil, "", "names nobody"},
		{"only needs-action", []string{"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:xaver@stadt.localhost"}, "", "names nobody"},
		{"a room does not take shifts", []string{
			"ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:raum1@stadt.localhost",
			"ATTENDEE;PARTSTAT=ACCEPTED:mailto:yvonne@stadt.localhost"}, "yvonne@stadt.localhost", ""},
		{"two accepted is ambiguous", []string{
			"ATTENDEE;PARTSTAT=ACCEPTED:mailto:xaver@stadt.localhost",
			"ATTENDEE;PARTSTAT=ACCEPTED:mailto:yvonne@stadt.localhost"}, "", "ambiguous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := parseWith(t, oncall.Options{Location: time.UTC}, icsDoc(event("p", tt.atts...)...))
			p, _, ok := onCallAt(routing.Schedule{}, cal, ocUTC(t, "2026-12-01T10:00"))
			if p != tt.want || ok != (tt.want != "") {
				t.Errorf("on call: %q %v, want %q", p, ok, tt.want)
			}
			if tt.warning != "" {
				wantWarning(t, cal, 3, tt.warning) // the event's BEGIN line
			} else {
				wantNoWarnings(t, cal)
			}
		})
	}
}

// One team's shifts out of a shared calendar: CATEGORIES by default, or
// any property; a changed instance without categories follows its series.
func TestSelectTeamShifts(t *testing.T) {
	doc := icsDoc(
		"BEGIN:VEVENT", "UID:a", "DTSTART:20261201T070000Z", "DURATION:PT8H", "RRULE:FREQ=DAILY;COUNT=3",
		"CATEGORIES:Bereitschaft,Tiefbau", "X-TEAM:tiefbau", "SUMMARY:anna@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:b", "DTSTART:20261201T070000Z", "DURATION:PT8H",
		"CATEGORIES:Grünflächen", "X-TEAM:gruen", "SUMMARY:bert@stadt.localhost", "END:VEVENT",
		"BEGIN:VEVENT", "UID:a", "RECURRENCE-ID:20261202T070000Z", "DTSTART:20261202T090000Z", "DURATION:PT6H",
		"SUMMARY:cleo@stadt.localhost", "END:VEVENT",
		// the 3rd is handed to the other team
		"BEGIN:VEVENT", "UID:a", "RECURRENCE-ID:20261203T070000Z", "DTSTART:20261203T070000Z", "DURATION:PT8H",
		"CATEGORIES:Grünflächen", "X-TEAM:gruen", "SUMMARY:dora@stadt.localhost", "END:VEVENT")
	from, to := ocUTC(t, "2026-12-01T00:00"), ocUTC(t, "2026-12-04T00:00")
	tief := parseWith(t, oncall.Options{Select: oncall.Selector{Value: "tiefbau"}}, doc)
	wantPlan(t, tief, from, to, ""+
		"12-01T07:00–12-01T15:00 anna@stadt.localhost calendar\n"+
		"12-02T09:00–12-02T15:00 cleo@stadt.localhost calendar\n")
	gruen := parseWith(t, oncall.Options{Select: oncall.Selector{Property: "X-TEAM", Value: "GRUEN"}}, doc)
	wantPlan(t, gruen, from, to, ""+
		"12-01T07:00–12-01T15:00 bert@stadt.localhost calendar\n"+
		"12-03T07:00–12-03T15:00 dora@stadt.localhost calendar\n")
	all := parseWith(t, oncall.Options{}, doc)
	if n := len(all.Shifts(from, to)); n != 4 {
		t.Errorf("without a selector: %d shifts, want 4", n)
	}
}

// Unsupported values cost only themselves, with a warning naming the line.
func TestUnsupportedValuesWarnWithLine(t *testing.T) {
	cal := parseWith(t, oncall.Options{Location: ocBerlin(t)}, icsDoc(
		"BEGIN:VEVENT", // 3
		"UID:w",        // 4
		"DTSTART;TZID=Europe/Berlin:20261102T080000", // 5
		"DURATION:PT12H",                            // 6
		"RRULE:FREQ=WEEKLY",                         // 7
		"EXDATE:20261109T080000,gestern",            // 8
		"RDATE;TZID=Atlantis/Mitte:20261104T080000", // 9
		"SUMMARY:ida@stadt.localhost",               // 10
		"END:VEVENT",                                // 11
		"BEGIN:VEVENT",                              // 12
		"UID:w",                                     // 13
		"RECURRENCE-ID;RANGE=THISANDFUTURE:20261116T080000", // 14
		"DTSTART;TZID=Europe/Berlin:20261116T090000",        // 15
		"DURATION:PT12H", // 16
		"END:VEVENT"))
	wantWarning(t, cal, 8, `"gestern"`)
	wantWarning(t, cal, 9, "Atlantis/Mitte")
	wantWarning(t, cal, 14, "THISANDFUTURE")
	if len(cal.Warnings) != 3 {
		t.Errorf("warnings: %q", notes(cal))
	}
	wantPlan(t, cal, ocLocal(t, "2026-11-02T00:00"), ocLocal(t, "2026-11-24T00:00"), ""+
		"11-02T07:00–11-02T19:00 ida@stadt.localhost calendar\n"+
		"11-16T08:00–11-16T20:00 ida@stadt.localhost calendar\n"+
		"11-23T07:00–11-23T19:00 ida@stadt.localhost calendar\n")
}
