package oncall_test

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
	"github.com/fieldgate/fieldgate/routing"
)

// benchCalendar is a year's shift plan as towns export it: 40 weekly
// series with EXDATEs and moved instances, plus 200 single swaps.
func benchCalendar() string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := range 40 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:s%d\r\nDTSTART;TZID=Europe/Berlin:202601%02dT%02d0000\r\nDURATION:PT6H\r\n"+
			"RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270101T000000Z\r\nEXDATE;TZID=Europe/Berlin:202603%02dT%02d0000,202606%02dT%02d0000\r\n"+
			"CATEGORIES:Tiefbau\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:p%d@stadt.localhost\r\nEND:VEVENT\r\n",
			i, 5+i%7, i%18, 2+i%20, i%18, 1+i%25, i%18, i)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:s%d\r\nRECURRENCE-ID;TZID=Europe/Berlin:202604%02dT%02d0000\r\nDTSTART;TZID=Europe/Berlin:202604%02dT%02d3000\r\n"+
			"DURATION:PT5H\r\nSUMMARY:Tausch q%d@stadt.localhost\r\nEND:VEVENT\r\n", i, 6+i%7, i%18, 6+i%7, i%18, i)
	}
	for i := range 200 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:x%d\r\nDTSTART:2026%02d%02dT200000Z\r\nDTEND:2026%02d%02dT230000Z\r\nX-FIELDGATE-PERSON:r%d@stadt.localhost\r\nEND:VEVENT\r\n",
			i, 1+i%12, 1+i%28, 1+i%12, 1+i%28, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// BenchmarkParseCalendar parses the plan; its floor,
// BenchmarkParseCalendarFloor, only splits the same bytes into lines.
func BenchmarkParseCalendar(b *testing.B) {
	data := []byte(benchCalendar())
	loc, _ := time.LoadLocation("Europe/Berlin")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := oncall.ParseCalendar(bytes.NewReader(data), oncall.Options{Location: loc}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCalendarFloor(b *testing.B) {
	data := []byte(benchCalendar())
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			n += len(sc.Bytes())
		}
	}
	_ = n
}

// BenchmarkLookup answers "who is on call" at instants over the year as
// escalation asks (rotation, calendar, overrides); its floor,
// BenchmarkLookupFloor, binary-searches a precomputed plan of the year.
func BenchmarkLookup(b *testing.B) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	cal, err := oncall.ParseCalendar(strings.NewReader(benchCalendar()), oncall.Options{Location: loc})
	if err != nil {
		b.Fatal(err)
	}
	s := benchSchedule(loc)
	i := 0
	for b.Loop() {
		oncall.At(s, cal, benchInstant(i))
		i++
	}
}

func BenchmarkLookupFloor(b *testing.B) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	cal, err := oncall.ParseCalendar(strings.NewReader(benchCalendar()), oncall.Options{Location: loc})
	if err != nil {
		b.Fatal(err)
	}
	plan := oncall.Plan(benchSchedule(loc), cal, time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2027, 1, 1, 0, 0, 0, 0, loc))
	i := 0
	for b.Loop() {
		at := benchInstant(i)
		k, _ := slices.BinarySearchFunc(plan, at, func(s oncall.Shift, t time.Time) int { return s.To.Compare(t) })
		_ = k
		i++
	}
}

func benchSchedule(loc *time.Location) routing.Schedule {
	return routing.Schedule{Name: "b", Rotation: []string{"a@x.example", "b@x.example", "c@x.example"},
		Start: time.Date(2026, 1, 5, 8, 0, 0, 0, loc), Period: 7 * 24 * time.Hour,
		Overrides: []routing.Override{{From: time.Date(2026, 12, 24, 8, 0, 0, 0, loc), To: time.Date(2026, 12, 27, 8, 0, 0, 0, loc), Person: "d@x.example"}}}
}

// benchInstant spreads instants over 2026 (7919 minutes apart, cycling).
func benchInstant(i int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%66*7919) * time.Minute)
}
