package oncall_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on hosts without a zone database

	"github.com/teambition/rrule-go"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// TestCalendarWeeklyRotationDST imports a two-person rotation (two weekly
// RRULEs with INTERVAL=2, handover Monday 08:00 Europe/Berlin) and checks
// the handover instants around both DST changes of 2026.
func TestCalendarWeeklyRotationDST(t *testing.T) {
	cal := ocLoadCalendar(t, "weekly_dst.ics")
	if len(notes(cal)) != 0 {
		t.Fatalf("ignored: %v", notes(cal))
	}
	s := routing.Schedule{Name: "tiefbau", Period: 7 * 24 * time.Hour}

	// March: CET → CEST on Sunday 2026-03-29. Week of 03-23 is dave's (B).
	plan := oncall.Plan(s, cal, ocUTC(t, "2026-03-16T00:00"), ocUTC(t, "2026-04-07T00:00"))
	want := "" +
		"03-16T00:00–03-16T07:00 dave@stadt.localhost calendar\n" +
		"03-16T07:00–03-23T07:00 carla@stadt.localhost calendar\n" +
		"03-23T07:00–03-30T06:00 dave@stadt.localhost calendar\n" +
		"03-30T06:00–04-06T06:00 carla@stadt.localhost calendar\n" +
		"04-06T06:00–04-07T00:00 dave@stadt.localhost calendar\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("March plan:\n%s\nwant:\n%s", got, want)
	}

	// October: CEST → CET on Sunday 2026-10-25.
	plan = oncall.Plan(s, cal, ocUTC(t, "2026-10-12T00:00"), ocUTC(t, "2026-11-03T00:00"))
	want = "" +
		"10-12T00:00–10-12T06:00 dave@stadt.localhost calendar\n" +
		"10-12T06:00–10-19T06:00 carla@stadt.localhost calendar\n" +
		"10-19T06:00–10-26T07:00 dave@stadt.localhost calendar\n" +
		"10-26T07:00–11-02T07:00 carla@stadt.localhost calendar\n" +
		"11-02T07:00–11-03T00:00 dave@stadt.localhost calendar\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("October plan:\n%s\nwant:\n%s", got, want)
	}

	p, until, ok := onCallAt(s, cal, ocUTC(t, "2026-10-25T01:30")) // the repeated hour
	if !ok || p != "dave@stadt.localhost" || !until.Equal(ocUTC(t, "2026-10-26T07:00")) {
		t.Errorf("OnCallAt in the repeated hour = %q until %v ok %v", p, until, ok)
	}
	// Dave's series ends with UNTIL 2026-12-31T23:00Z: his week from
	// 12-28 still runs to 2027-01-04, then carla's week, then nobody.
	p, until, ok = onCallAt(s, cal, ocLocal(t, "2026-12-29T12:00"))
	if !ok || p != "dave@stadt.localhost" || !until.Equal(ocLocal(t, "2027-01-04T08:00")) {
		t.Errorf("OnCallAt at the year's end = %q until %v ok %v", p, until, ok)
	}
	p, until, ok = onCallAt(s, cal, ocLocal(t, "2027-01-05T12:00"))
	if !ok || p != "carla@stadt.localhost" || !until.Equal(ocLocal(t, "2027-01-11T08:00")) {
		t.Errorf("OnCallAt in carla's first week of 2027 = %q until %v ok %v", p, until, ok)
	}
	if p, _, ok := onCallAt(s, cal, ocLocal(t, "2027-01-11T08:00")); ok {
		t.Errorf("after dave's series ended, got %q", p)
	}
}

// TestCalendarNightShiftsDST checks that a daily 18:00–06:00 shift stays
// 18:00–06:00 ocLocal on the nights the clocks change, and EXDATE.
func TestCalendarNightShiftsDST(t *testing.T) {
	cal := ocLoadCalendar(t, "nights_dst.ics")
	shifts := cal.Shifts(ocUTC(t, "2026-03-28T12:00"), ocUTC(t, "2026-03-29T12:00"))
	want := "03-28T17:00–03-29T04:00 erik@stadt.localhost calendar\n" // 11 h
	if got := ocPlan(shifts); got != want {
		t.Errorf("March night:\n%s\nwant:\n%s", got, want)
	}
	shifts = cal.Shifts(ocUTC(t, "2026-10-24T12:00"), ocUTC(t, "2026-10-25T12:00"))
	want = "10-24T16:00–10-25T05:00 erik@stadt.localhost calendar\n" // 13 h
	if got := ocPlan(shifts); got != want {
		t.Errorf("October night:\n%s\nwant:\n%s", got, want)
	}

	// EXDATE removes erik's nights of 11-01 and 11-02; fritz (named in
	// SUMMARY, DURATION PT12H) covers the second one; the rotation fills
	// the first.
	s := routing.Schedule{Rotation: []string{"zentrale@stadt.localhost"}, Start: ocLocal(t, "2026-01-01T00:00"), Period: 24 * time.Hour}
	plan := oncall.Plan(s, cal, ocLocal(t, "2026-11-01T12:00"), ocLocal(t, "2026-11-04T12:00"))
	want = "" +
		"11-01T11:00–11-02T17:00 zentrale@stadt.localhost rotation\n" +
		"11-02T17:00–11-03T05:00 fritz@stadt.localhost calendar\n" +
		"11-03T05:00–11-03T17:00 zentrale@stadt.localhost rotation\n" +
		"11-03T17:00–11-04T05:00 erik@stadt.localhost calendar\n" +
		"11-04T05:00–11-04T11:00 zentrale@stadt.localhost rotation\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("EXDATE plan:\n%s\nwant:\n%s", got, want)
	}

	// An override beats the calendar.
	s.Overrides = []routing.Override{{From: ocLocal(t, "2026-11-03T20:00"), To: ocLocal(t, "2026-11-03T22:00"), Person: "gabi@stadt.localhost"}}
	if p, until, ok := onCallAt(s, cal, ocLocal(t, "2026-11-03T20:00")); !ok || p != "gabi@stadt.localhost" || !until.Equal(ocLocal(t, "2026-11-03T22:00")) {
		t.Errorf("override over calendar: %q until %v", p, until)
	}
	if p, until, ok := onCallAt(s, cal, ocLocal(t, "2026-11-03T22:00")); !ok || p != "erik@stadt.localhost" || !until.Equal(ocLocal(t, "2026-11-04T06:00")) {
		t.Errorf("after the override: %q until %v", p, until)
	}
}

// An Outlook-style export: Windows zone name, a VTIMEZONE, attendees with
// the organizer, a moved instance (RECURRENCE-ID), a cancelled instance,
// EXDATE by date, and events the import must ignore.
const outlookICS = "BEGIN:VCALENDAR\r\n" +
	"PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n" +
	"VERSION:2.0\r\n" +
	"BEGIN:VTIMEZONE\r\n" +
	"TZID:W. Europe Standard Time\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Mitteleuropa\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n" +
	// weekend duty Sat 08:00 – Mon 08:00, every week
	"BEGIN:VEVENT\r\nUID:wochenende\r\n" +
	"DTSTART;TZID=W. Europe Standard Time:20261024T080000\r\n" +
	"DTEND;TZID=W. Europe Standard Time:20261026T080000\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=SA\r\n" +
	"EXDATE;VALUE=DATE:20261121\r\n" +
	"SUMMARY:Wochenenddienst\r\n" +
	"ORGANIZER;CN=Planung:mailto:planung@stadt.localhost\r\n" +
	"ATTENDEE;CN=Planung:mailto:planung@stadt.localhost\r\n" +
	"ATTENDEE;CN=Hanna;PARTSTAT=ACCEPTED:mailto:hanna@stadt.localhost\r\n" +
	"END:VEVENT\r\n" +
	// the weekend of 11-07 moves to Sat 12:00 and goes to ines
	"BEGIN:VEVENT\r\nUID:wochenende\r\n" +
	"RECURRENCE-ID;TZID=W. Europe Standard Time:20261107T080000\r\n" +
	"DTSTART;TZID=Mitteleuropa:20261107T120000\r\n" +
	"DTEND;TZID=Mitteleuropa:20261109T080000\r\n" +
	"SUMMARY:Tausch (ines@stadt.localhost)\r\n" +
	"END:VEVENT\r\n" +
	// the weekend of 11-14 is cancelled
	"BEGIN:VEVENT\r\nUID:wochenende\r\n" +
	"RECURRENCE-ID;TZID=W. Europe Standard Time:20261114T080000\r\n" +
	"DTSTART;TZID=W. Europe Standard Time:20261114T080000\r\n" +
	"DTEND;TZID=W. Europe Standard Time:20261116T080000\r\n" +
	"STATUS:CANCELLED\r\n" +
	"END:VEVENT\r\n" +
	// ignored: nobody named; two attendees; secondly recurrence; unknown zone
	"BEGIN:VEVENT\r\nUID:teamsitzung\r\nDTSTART:20261103T090000Z\r\nDTEND:20261103T100000Z\r\nSUMMARY:Teamsitzung\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:zwei\r\nDTSTART:20261103T090000Z\r\nDTEND:20261103T100000Z\r\nATTENDEE:mailto:a@stadt.localhost\r\nATTENDEE:mailto:b@stadt.localhost\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:sekunde\r\nDTSTART:20261103T090000Z\r\nDTEND:20261103T090001Z\r\nRRULE:FREQ=SECONDLY\r\nX-FIELDGATE-PERSON:a@stadt.localhost\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:zone\r\nDTSTART;TZID=Mars/Olympus:20261103T090000\r\nDTEND;TZID=Mars/Olympus:20261103T100000\r\nX-FIELDGATE-PERSON:a@stadt.localhost\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestCalendarOutlookExport(t *testing.T) {
	cal, err := oncall.ParseCalendar(strings.NewReader(outlookICS), oncall.Options{Location: ocBerlin(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes(cal)) != 4 {
		t.Errorf("ignored %d events, want 4: %q", len(notes(cal)), notes(cal))
	}
	for _, want := range []string{"teamsitzung", "2 attendees", "FREQ", "Mars/Olympus"} {
		if !slices.ContainsFunc(notes(cal), func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no ignore note mentions %q: %q", want, notes(cal))
		}
	}
	got := ocPlan(cal.Shifts(ocLocal(t, "2026-10-24T00:00"), ocLocal(t, "2026-11-30T00:00")))
	want := "" +
		"10-24T06:00–10-26T07:00 hanna@stadt.localhost calendar\n" + // across the October change
		"10-31T07:00–11-02T07:00 hanna@stadt.localhost calendar\n" +
		"11-07T11:00–11-09T07:00 ines@stadt.localhost calendar\n" + // moved instance
		"11-28T07:00–11-30T07:00 hanna@stadt.localhost calendar\n" // 11-14 cancelled, 11-21 EXDATE
	if got != want {
		t.Errorf("shifts:\n%s\nwant:\n%s", got, want)
	}
}

func TestCalendarMalformed(t *testing.T) {
	event := func(lines ...string) string {
		return "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	tests := map[string]string{
		"empty":          "",
		"not ics":        "hello world\n",
		"no calendar":    "BEGIN:VEVENT\r\nEND:VEVENT\r\n",
		"unbalanced":     "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
		"unterminated":   "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n",
		"bad param":      event(`DTSTART;TZID="Europe/Berlin:20261103T090000`),
		"line too long":  event("SUMMARY:" + strings.Repeat("a", 5000)),
		"many params":    event("ATTENDEE" + strings.Repeat(";X=1", 100) + ":mailto:a@b.example"),
		"deep nesting":   "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", 20) + strings.Repeat("END:X\r\n", 20) + "END:VCALENDAR\r\n",
		"too large":      "BEGIN:VCALENDAR\r\n" + strings.Repeat("COMMENT:"+strings.Repeat("x", 100)+"\r\n", 25000) + "END:VCALENDAR\r\n",
		"too many rules": "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:VEVENT\r\nDTSTART:20261103T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:a@b.example\r\nEND:VEVENT\r\n", 501) + "END:VCALENDAR\r\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			cal, err := oncall.ParseCalendar(strings.NewReader(in), oncall.Options{Location: time.UTC})
			if err == nil {
				t.Fatalf("no error, calendar %+v", cal)
			}
			if !errors.Is(err, oncall.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}

	// Broken single events are ignored, not fatal.
	ignored := map[string]string{
		"bad DTSTART":  event("DTSTART:2026-11-03", "SUMMARY:a@b.example"),
		"bad RRULE":    event("DTSTART:20261103T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=XX", "SUMMARY:a@b.example"),
		"huge COUNT":   event("DTSTART:20261103T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=999999999", "SUMMARY:a@b.example"),
		"BYHOUR":       event("DTSTART:20261103T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;BYHOUR=1,2,3", "SUMMARY:a@b.example"),
		"end first":    event("DTSTART:20261103T090000Z", "DTEND:20261103T080000Z", "SUMMARY:a@b.example"),
		"bad DURATION": event("DTSTART:20261103T090000Z", "DURATION:-PT1H", "SUMMARY:a@b.example"),
		"no start":     event("DURATION:PT1H", "SUMMARY:a@b.example"),
		"year 1":       event("DTSTART:00010101T000000Z", "DURATION:PT1H", "SUMMARY:a@b.example"),
	}
	for name, in := range ignored {
		t.Run(name, func(t *testing.T) {
			cal, err := oncall.ParseCalendar(strings.NewReader(in), oncall.Options{Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			if len(notes(cal)) != 1 || len(cal.Shifts(ocUTC(t, "1900-01-01T00:00"), ocUTC(t, "2100-01-01T00:00"))) != 0 {
				t.Errorf("ignored %q, want the one event ignored and no shifts", notes(cal))
			}
		})
	}
}

func FuzzParseCalendar(f *testing.F) {
	for _, name := range []string{"weekly_dst.ics", "nights_dst.ics"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(outlookICS))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTART:20261019T070000Z\r\nDURATION:PT8H\r\nRRULE:FREQ=WEEKLY\r\nRRULE:FREQ=MONTHLY;BYDAY=SU\r\n" +
		"EXRULE:FREQ=WEEKLY;BYDAY=SA\r\nRDATE;VALUE=PERIOD:20261024T070000Z/PT2H,20261025T0700/x\r\nEXDATE;VALUE=DATE:20261026\r\n" +
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.example\r\nATTENDEE;PARTSTAT=DECLINED:mailto:c@b.example\r\nCATEGORIES:A,B\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:u\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20261024T070000Z\r\nDTSTART:20261024T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261103\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1;BYSETPOS=1\r\nRDATE:20261224T180000Z\r\nSUMMARY:a@b.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	from := time.Date(2026, 10, 19, 0, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, data []byte) {
		cal, err := oncall.ParseCalendar(bytes.NewReader(data), oncall.Options{Location: loc})
		if err != nil {
			if cal != nil {
				t.Fatal("calendar and error")
			}
			return
		}
		plan := oncall.Plan(routing.Schedule{}, cal, from, from.AddDate(0, 0, 14))
		for i, s := range plan {
			if !s.From.Before(s.To) || s.From.Before(from) || s.To.After(from.AddDate(0, 0, 14)) {
				t.Fatalf("bad shift %+v", s)
			}
			if i > 0 && s.From.Before(plan[i-1].To) {
				t.Fatalf("overlapping shifts %+v %+v", plan[i-1], s)
			}
		}
	})
}

// Rules that never match would make the recurrence library scan to the
// year 9999 on every query; they are refused when parsing.
func TestCalendarImpossibleRule(t *testing.T) {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\n")
	for i := range 50 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20261103T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nSUMMARY:a@b.example\r\nEND:VEVENT\r\n", i)
	}
	b.WriteString("BEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20261103T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29\r\nSUMMARY:a@b.example\r\nEND:VEVENT\r\n")
	b.WriteString("END:VCALENDAR\r\n")
	cal, err := oncall.ParseCalendar(strings.NewReader(b.String()), oncall.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes(cal)) != 50 || !strings.Contains(notes(cal)[0], "no occurrence") || !strings.HasPrefix(notes(cal)[1], "line 9: ") {
		t.Errorf("ignored: %q", notes(cal))
	}
	// Feb 29 every leap year is possible and kept.
	got := ocPlan(cal.Shifts(ocUTC(t, "2027-01-01T00:00"), ocUTC(t, "2029-01-01T00:00")))
	if want := "02-29T09:00–02-29T10:00 a@b.example calendar\n"; got != want {
		t.Errorf("leap day: %q, want %q", got, want)
	}
}

// Expansion skips ahead to the queried window (the rule's DTSTART moved by
// whole intervals); the result must equal the library's expansion from the
// original DTSTART.
func TestCalendarSkipAheadMatchesLibrary(t *testing.T) {
	loc := ocBerlin(t)
	rules := []struct{ dtstart, rule string }{
		{"20010104T023000", "FREQ=DAILY;INTERVAL=5"},
		{"20010104T180000", "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH"},
		{"20010107T080000", "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO"},
		{"20010131T080000", "FREQ=MONTHLY"},
		{"20010131T080000", "FREQ=MONTHLY;INTERVAL=7;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR"},
		{"20010126T200000", "FREQ=MONTHLY;BYDAY=-1FR"},
		{"20000229T120000", "FREQ=YEARLY"},
		{"20010514T060000", "FREQ=YEARLY;INTERVAL=3;BYWEEKNO=20;BYDAY=MO"},
		{"20010101T000000", "FREQ=DAILY;BYMONTH=3,10;BYDAY=SU;UNTIL=20270101T000000Z"},
	}
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2029, 1, 1, 0, 0, 0, 0, loc)
	for _, r := range rules {
		ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:" + r.dtstart + "\r\nDURATION:PT1M\r\nRRULE:" + r.rule + "\r\nSUMMARY:a@b.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		cal, err := oncall.ParseCalendar(strings.NewReader(ics), oncall.Options{Location: loc})
		if err != nil || len(notes(cal)) > 0 {
			t.Fatalf("%s: %v %v", r.rule, err, cal)
		}
		var got []string
		for _, sh := range cal.Shifts(from, to) {
			got = append(got, sh.From.Format(time.RFC3339))
		}
		opt, err := rrule.StrToROptionInLocation(r.rule, loc)
		if err != nil {
			t.Fatal(err)
		}
		if opt.Dtstart, err = time.ParseInLocation("20060102T150405", r.dtstart, loc); err != nil {
			t.Fatal(err)
		}
		lib, err := rrule.NewRRule(*opt)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, o := range lib.Between(from.Add(-time.Minute), to, true) {
			// a wall-clock time that occurs twice is its first occurrence
			// (RFC 5545 §3.3.5); the library gives the second
			if e := o.Add(-time.Hour); e.Format("2006-01-02T15:04") == o.Format("2006-01-02T15:04") {
				o = e
			}
			if o.Add(time.Minute).After(from) && o.Before(to) {
				want = append(want, o.Format(time.RFC3339))
			}
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s from %s: got %d occurrences, want %d\ngot  %v\nwant %v", r.rule, r.dtstart, len(got), len(want), got, want)
		}
	}
}
