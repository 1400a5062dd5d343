package oncall

import (
	"fmt"
	"math/big"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// maxRotationShifts bounds the rotation shifts generated for one plan, so a
// one-second period over a century cannot exhaust memory.
const maxRotationShifts = 100_000

// rotationShifts returns the rotation's shifts overlapping [from, to),
// unclipped.
//
// The rotation hands over every Period from Start, cycling through
// Rotation (and also before Start, as if it had always run). A period of
// whole days is counted in calendar days of Start's time zone, so a weekly
// handover at 08:00 stays at 08:00 local time across DST changes; other
// periods are exact durations.
func rotationShifts(s routing.Schedule, from, to time.Time) []Shift {
	n := len(s.Rotation)
	if n == 0 || s.Period <= 0 {
		return nil
	}
	why := func(i int) string {
		return fmt.Sprintf("rotation of schedule %s: person %d of %d, handover every %s", s.Name, i+1, n, fmtPeriod(s.Period))
	}
	var out []Shift
	if s.Period%(24*time.Hour) == 0 {
		days := int(s.Period / (24 * time.Hour))
		start := s.Start
		loc := start.Location()
		y, m, d := start.Date()
		hh, mm, ss := start.Clock()
		boundary := func(k int) time.Time {
			return time.Date(y, m, d+k*days, hh, mm, ss, start.Nanosecond(), loc)
		}
		k := floorDiv(civilDay(from.In(loc))-civilDay(start), days)
		for boundary(k).After(from) {
			k--
		}
		for !boundary(k + 1).After(from) {
			k++
		}
		for ; boundary(k).Before(to) && len(out) < maxRotationShifts; k++ {
			i := modPos(k, n)
			out = append(out, Shift{From: boundary(k), To: boundary(k + 1), Person: s.Rotation[i], Source: SourceRotation, Why: why(i)})
		}
		return out
	}
	// Exact periods: k = floor((from-start)/period) in big integers, since
	// a zero Start lies further back than time.Duration reaches.
	p := big.NewInt(int64(s.Period))
	diff := new(big.Int).Sub(bigNanos(from), bigNanos(s.Start))
	k := new(big.Int).Div(diff, p) // Euclidean: floor for p > 0
	idx := int(new(big.Int).Mod(k, big.NewInt(int64(n))).Int64())
	off := new(big.Int).Add(bigNanos(s.Start), new(big.Int).Mul(k, p))
	sec, ns := new(big.Int).DivMod(off, big.NewInt(1e9), new(big.Int))
	b := time.Unix(sec.Int64(), ns.Int64())
	for ; b.Before(to) && len(out) < maxRotationShifts; idx = (idx + 1) % n {
		e := b.Add(s.Period)
		out = append(out, Shift{From: b, To: e, Person: s.Rotation[idx], Source: SourceRotation, Why: why(idx)})
		b = e
	}
	return out
}

// bigNanos is t as nanoseconds since the Unix epoch, without overflow.
func bigNanos(t time.Time) *big.Int {
	b := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	return b.Add(b, big.NewInt(int64(t.Nanosecond())))
}

// civilDay numbers t's calendar date (in t's zone) as days since 1970-01-01.
func civilDay(t time.Time) int {
	y, m, d := t.Date()
	return dayNumber(y, m, d)
}

// dayNumber numbers a calendar date as days since 1970-01-01.
func dayNumber(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func modPos(a, n int) int {
	return ((a % n) + n) % n
}

// fmtPeriod writes whole days as "7d", other periods as Go durations.
func fmtPeriod(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
