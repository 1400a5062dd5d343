package oncall_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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

func ocBerlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ocUTC parses "2006-01-02T15:04" as UTC.
func ocUTC(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// ocLocal parses "2006-01-02T15:04" in Europe/Berlin.
func ocLocal(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.ParseInLocation("2006-01-02T15:04", s, ocBerlin(t))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// ocPlan renders shifts as "FROM–TO person source" lines in UTC.
func ocPlan(plan []oncall.Shift) string {
	var b strings.Builder
	for _, s := range plan {
		fmt.Fprintf(&b, "%s–%s %s %s\n", s.From.UTC().Format("01-02T15:04"), s.To.UTC().Format("01-02T15:04"), s.Person, s.Source)
	}
	return b.String()
}

// onCallAt is oncall.At as person, until and ok.
func onCallAt(s routing.Schedule, cal *oncall.Calendar, at time.Time) (string, time.Time, bool) {
	a, ok := oncall.At(s, cal, at)
	return a.Person, a.Until, ok
}

// notes are a calendar's warnings as text.
func notes(cal *oncall.Calendar) []string {
	var out []string
	for _, w := range cal.Warnings {
		out = append(out, w.String())
	}
	return out
}

// testFetcher trusts srv's certificate and may connect to loopback.
func testFetcher(srv *httptest.Server) *oncall.Fetcher {
	return oncall.NewFetcher(oncall.FetchConfig{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, AllowLoopback: true})
}

func ocLoadCalendar(t *testing.T, name string) *oncall.Calendar {
	t.Helper()
	cal, err := oncall.LoadCalendar(context.Background(), filepath.Join("testdata", name), oncall.Options{Location: ocBerlin(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func TestOnCallRotationWithOverrides(t *testing.T) {
	s := routing.Schedule{
		Name:     "bereitschaft",
		Rotation: []string{"anna@stadt.localhost", "ben@stadt.localhost", "carla@stadt.localhost"},
		Start:    ocLocal(t, "2026-01-05T08:00"), // a Monday
		Period:   7 * 24 * time.Hour,
		Overrides: []routing.Override{
			// ben takes Wednesday night of carla's week
			{From: ocLocal(t, "2026-10-21T18:00"), To: ocLocal(t, "2026-10-22T06:00"), Person: "ben@stadt.localhost"},
			// dora takes the night of the Monday handover; a later override inside it (erik) wins
			{From: ocLocal(t, "2026-10-25T20:00"), To: ocLocal(t, "2026-10-26T10:00"), Person: "dora@stadt.localhost"},
			{From: ocLocal(t, "2026-10-26T07:00"), To: ocLocal(t, "2026-10-26T09:00"), Person: "erik@stadt.localhost"},
		},
	}
	// Week index of 2026-10-19 from 2026-01-05 is 41: 41 mod 3 = 2 → carla.
	// The next week (index 42) is anna's; the handover stays at 08:00 ocLocal
	// across the change to CET on 2026-10-25 (06:00Z before, 07:00Z after).
	tests := []struct {
		at     string // UTC
		person string
		until  string // UTC
	}{
		{"2026-10-19T05:59", "ben@stadt.localhost", "2026-10-19T06:00"},
		{"2026-10-19T06:00", "carla@stadt.localhost", "2026-10-21T16:00"},
		{"2026-10-21T16:00", "ben@stadt.localhost", "2026-10-22T04:00"},
		{"2026-10-22T04:00", "carla@stadt.localhost", "2026-10-25T19:00"},
		{"2026-10-25T19:00", "dora@stadt.localhost", "2026-10-26T06:00"},
		{"2026-10-26T06:00", "erik@stadt.localhost", "2026-10-26T08:00"},
		{"2026-10-26T08:00", "dora@stadt.localhost", "2026-10-26T09:00"},
		// anna's rotation week then runs to the next Monday 08:00 CET
		{"2026-10-26T09:00", "anna@stadt.localhost", "2026-11-02T07:00"},
	}
	for _, tt := range tests {
		p, until, ok := onCallAt(s, nil, ocUTC(t, tt.at))
		if !ok || p != tt.person || !until.Equal(ocUTC(t, tt.until)) {
			t.Errorf("OnCallAt(%s) = %q until %s (ok %v), want %q until %s", tt.at, p, until.UTC().Format(time.RFC3339), ok, tt.person, tt.until)
		}
	}

	plan := oncall.Plan(s, nil, ocLocal(t, "2026-10-19T00:00"), ocLocal(t, "2026-10-27T00:00"))
	want := "" +
		"10-18T22:00–10-19T06:00 ben@stadt.localhost rotation\n" +
		"10-19T06:00–10-21T16:00 carla@stadt.localhost rotation\n" +
		"10-21T16:00–10-22T04:00 ben@stadt.localhost override\n" +
		"10-22T04:00–10-25T19:00 carla@stadt.localhost rotation\n" +
		"10-25T19:00–10-26T06:00 dora@stadt.localhost override\n" +
		"10-26T06:00–10-26T08:00 erik@stadt.localhost override\n" +
		"10-26T08:00–10-26T09:00 dora@stadt.localhost override\n" +
		"10-26T09:00–10-26T23:00 anna@stadt.localhost rotation\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

func TestOnCallRotationExactPeriodAndNoStart(t *testing.T) {
	// 12 h shifts are exact durations: across the March change the
	// handover moves from 06:00/18:00 ocLocal to 07:00/19:00 ocLocal.
	s := routing.Schedule{
		Rotation: []string{"tag@stadt.localhost", "nacht@stadt.localhost"},
		Start:    ocLocal(t, "2026-03-01T06:00"),
		Period:   12 * time.Hour,
	}
	plan := oncall.Plan(s, nil, ocUTC(t, "2026-03-29T00:00"), ocUTC(t, "2026-03-30T00:00"))
	want := "" +
		"03-29T00:00–03-29T05:00 nacht@stadt.localhost rotation\n" +
		"03-29T05:00–03-29T17:00 tag@stadt.localhost rotation\n" +
		"03-29T17:00–03-30T00:00 nacht@stadt.localhost rotation\n"
	if got := ocPlan(plan); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}

	// Without a start the rotation is anchored at the zero time (a Monday,
	// 00:00 UTC) and still answers, for exact and for day periods.
	for _, period := range []time.Duration{7 * 24 * time.Hour, 5 * time.Hour} {
		s := routing.Schedule{Rotation: []string{"a@x.example", "b@x.example"}, Period: period}
		p1, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10"))
		if !ok || p1 == "" || !until.After(ocUTC(t, "2026-11-22T23:10")) || until.After(ocUTC(t, "2026-11-22T23:10").Add(period)) {
			t.Fatalf("period %v: got %q until %v ok %v", period, p1, until, ok)
		}
		p2, _, _ := onCallAt(s, nil, until)
		if p2 == p1 {
			t.Errorf("period %v: %q on call both before and after the handover at %v", period, p1, until)
		}
	}
}

func TestOnCallNoHandover(t *testing.T) {
	s := routing.Schedule{Rotation: []string{"carla@stadt.localhost"}, Start: ocLocal(t, "2026-01-05T08:00"), Period: 7 * 24 * time.Hour}
	p, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10"))
	if !ok || p != "carla@stadt.localhost" || !until.IsZero() {
		t.Errorf("one-person rotation: %q until %v ok %v, want carla with no until", p, until, ok)
	}
	// an override ends carla's stretch
	s.Overrides = []routing.Override{{From: ocUTC(t, "2027-03-01T00:00"), To: ocUTC(t, "2027-03-02T00:00"), Person: "ben@stadt.localhost"}}
	if _, until, _ := onCallAt(s, nil, ocUTC(t, "2026-11-22T23:10")); !until.Equal(ocUTC(t, "2027-03-01T00:00")) {
		t.Errorf("until the override: %v", until)
	}
}

func TestOnCallNobody(t *testing.T) {
	s := routing.Schedule{Overrides: []routing.Override{{From: ocUTC(t, "2026-11-01T00:00"), To: ocUTC(t, "2026-11-02T00:00"), Person: "a@x.example"}}}
	if p, _, ok := onCallAt(s, nil, ocUTC(t, "2026-11-02T00:00")); ok {
		t.Errorf("OnCallAt after the only override = %q, want nobody", p)
	}
	if p, until, ok := onCallAt(s, nil, ocUTC(t, "2026-11-01T12:00")); !ok || p != "a@x.example" || !until.Equal(ocUTC(t, "2026-11-02T00:00")) {
		t.Errorf("OnCallAt in the override = %q until %v ok %v", p, until, ok)
	}
	if plan := oncall.Plan(s, nil, ocUTC(t, "2026-11-03T00:00"), ocUTC(t, "2026-11-02T00:00")); plan != nil {
		t.Errorf("plan of an empty window = %v", plan)
	}
}

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

func TestLoadCalendar(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join("testdata", "weekly_dst.ics"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plan.ics":
			w.Header().Set("Content-Type", "text/calendar")
			w.Write(body)
		case "/huge.ics":
			w.Write(bytes.Repeat([]byte("COMMENT:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), oncall.MaxCalendarSize/40))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cal, err := oncall.LoadCalendar(ctx, srv.URL+"/plan.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv))
	if err != nil {
		t.Fatal(err)
	}
	if p, _, ok := onCallAt(routing.Schedule{}, cal, ocUTC(t, "2026-10-20T12:00")); !ok || p != "dave@stadt.localhost" {
		t.Errorf("fetched calendar: %q %v", p, ok)
	}
	webcal := "webcal://" + strings.TrimPrefix(srv.URL, "https://") + "/plan.ics"
	if _, err := oncall.LoadCalendar(ctx, webcal, oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); err != nil {
		t.Errorf("webcal: %v", err)
	}
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/missing.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); err == nil {
		t.Error("404: no error")
	}
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/huge.ics", oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("huge: %v, want ErrInvalid", err)
	}
	// Without the test server's certificate the TLS handshake fails.
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/plan.ics", oncall.Options{Location: ocBerlin(t)}, nil); err == nil {
		t.Error("untrusted certificate: no error")
	}
	for _, src := range []string{"http://example.org/plan.ics", "ftp://example.org/plan.ics", "file:///etc/passwd"} {
		if _, err := oncall.LoadCalendar(ctx, src, oncall.Options{Location: ocBerlin(t)}, testFetcher(srv)); !errors.Is(err, oncall.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", src, err)
		}
	}
	if _, err := oncall.LoadCalendar(ctx, filepath.Join("testdata", "missing.ics"), oncall.Options{Location: ocBerlin(t)}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := oncall.LoadCalendar(ctx, "testdata", oncall.Options{Location: ocBerlin(t)}, nil); !errors.Is(err, oncall.ErrInvalid) {
		t.Errorf("directory: %v", err)
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
			if o.Add(time.Minute).After(from) && o.Before(to) {
				want = append(want, o.Format(time.RFC3339))
			}
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s from %s: got %d occurrences, want %d\ngot  %v\nwant %v", r.rule, r.dtstart, len(got), len(want), got, want)
		}
	}
}
