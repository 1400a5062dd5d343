package routing

import "testing"

// The night of the October clock change in Europe/Berlin: on Sunday
// 2026-10-25 the clocks go from 03:00 CEST back to 02:00 CET, so 02:00 to
// 03:00 happens twice. Windows are wall-clock windows.
func TestDSTAutumnNight(t *testing.T) {
	rs := mustLoad(t, `
teams: {night: {room: n@c.example}, zwei: {room: z@c.example}, day: {room: d@c.example}}
rules:
  - {name: zwei-uhr, match: {time: [{hours: "02:00-03:00"}]}, team: zwei}
  - {name: samstagnacht, match: {time: [{days: [sat], hours: "22:00-06:00"}]}, team: night}
default: {team: day}
`, "")
	cases := []struct {
		at   string // UTC
		want string
		why  string
	}{
		{"2026-10-24T19:59Z", "day", "21:59 CEST Saturday, before the night window"},
		{"2026-10-24T20:00Z", "night", "22:00 CEST Saturday"},
		{"2026-10-24T23:59Z", "night", "01:59 CEST Sunday"},
		{"2026-10-25T00:00Z", "zwei", "02:00 CEST, first pass"},
		{"2026-10-25T00:30Z", "zwei", "02:30 CEST, first pass"},
		{"2026-10-25T01:00Z", "zwei", "02:00 CET, second pass"},
		{"2026-10-25T01:30Z", "zwei", "02:30 CET, second pass"},
		{"2026-10-25T02:00Z", "night", "03:00 CET, still Saturday night"},
		{"2026-10-25T04:59Z", "night", "05:59 CET: an offset-blind UTC+2 reading would say 06:59"},
		{"2026-10-25T05:00Z", "day", "06:00 CET, the night window has ended"},
		{"2026-10-25T04:30Z", "night", "05:30 CET"},
	}
	for _, c := range cases {
		in := &Input{At: utc(c.at)}
		if d := rs.Decide(in); d.Team != c.want {
			t.Errorf("%s (%s): Decide team %q, want %q", c.at, c.why, d.Team, c.want)
		}
		if d := rs.Explain(in); d.Team != c.want {
			t.Errorf("%s (%s): Explain team %q, want %q", c.at, c.why, d.Team, c.want)
		}
	}
}

// In March 2026-03-29 the clocks jump from 02:00 CET to 03:00 CEST; the
// hour 02:00-03:00 does not exist that night.
func TestDSTSpringNight(t *testing.T) {
	rs := mustLoad(t, `
teams: {zwei: {room: z@c.example}, day: {room: d@c.example}}
rules:
  - {name: zwei-uhr, match: {time: [{days: [sun], hours: "02:00-03:00"}]}, team: zwei}
default: {team: day}
`, "")
	for at, want := range map[string]string{
		"2026-03-29T00:59Z": "day",  // 01:59 CET
		"2026-03-29T01:00Z": "day",  // 03:00 CEST
		"2026-03-29T01:30Z": "day",  // 03:30 CEST
		"2026-03-22T01:30Z": "zwei", // a week earlier: 02:30 CET
	} {
		if d := rs.Decide(&Input{At: utc(at)}); d.Team != want {
			t.Errorf("%s: team %q, want %q", at, d.Team, want)
		}
	}
}

func TestClockAtMidnightAndHoliday(t *testing.T) {
	rs := mustLoad(t, `
holidays: [2026-11-01]
teams: {a: {room: a@c.example}}
default: {team: a}
`, "")
	c := rs.clockAt(local("2026-11-02T00:30")) // Monday after Allerheiligen (a Sunday holiday)
	if c.min != 30 || c.today != 1<<1 || c.yesterday != 1<<DayHoliday {
		t.Errorf("clock %+v: want 30 min, Monday, yesterday holiday", c)
	}
	c = rs.clockAt(local("2026-11-01T12:00"))
	if c.today != 1<<DayHoliday || c.yesterday != 1<<6 {
		t.Errorf("clock %+v: want holiday, yesterday Saturday", c)
	}
	// year boundary
	c = rs.clockAt(local("2027-01-01T00:00"))
	if c.today != 1<<5 || c.yesterday != 1<<4 {
		t.Errorf("clock %+v: want Friday, yesterday Thursday", c)
	}
}

// weekBits agrees with Window.match for every situation.
func TestWeekBitsMirrorMatch(t *testing.T) {
	ws := []Window{
		{Days: 0b0111110, From: 8 * 60, To: 16 * 60},
		{Days: 1 << 5, From: 22 * 60, To: 6 * 60},
		{Days: 1<<6 | 1<<0 | 1<<DayHoliday, From: 0, To: 1440},
		{Days: 1 << DayHoliday, From: 23 * 60, To: 60},
	}
	for _, w := range ws {
		b := w.bits()
		for p := 0; p < dayPairs; p++ {
			y, td := dayPair(p)
			for m := 0; m < 1440; m++ {
				i := p*1440 + m
				got := b[i/64]&(1<<(i%64)) != 0
				if want := w.match(&clock{min: m, today: td, yesterday: y}); got != want {
					t.Fatalf("window %v pair %d minute %d: bits %v, match %v", w, p, m, got, want)
				}
			}
		}
	}
}

func TestWindowString(t *testing.T) {
	for _, c := range []struct {
		w    Window
		want string
	}{
		{Window{Days: 0b0011110, From: 480, To: 960}, "mon-thu 08:00-16:00"},
		{Window{Days: 1<<6 | 1<<0 | 1<<DayHoliday, From: 0, To: 1440}, "sat,sun,holiday 00:00-24:00"},
		{Window{Days: allDays, From: 1320, To: 360}, "every day 22:00-06:00"},
		{Window{Days: 1<<1 | 1<<3 | 1<<4 | 1<<5, From: 0, To: 60}, "mon,wed-fri 00:00-01:00"},
	} {
		if got := c.w.String(); got != c.want {
			t.Errorf("%08b: %q, want %q", c.w.Days, got, c.want)
		}
	}
}
