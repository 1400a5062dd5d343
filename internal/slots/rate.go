package slots

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrTooSlow means a body arrived slower than the minimum rate.
var ErrTooSlow = errors.New("data arrives too slowly")

// MinRate fails a stream that trickles: after the first Grace, the bytes
// read so far must average at least Rate bytes per second. It does not
// interrupt a read that blocks; pair it with a deadline or a context.
type MinRate struct {
	r     io.Reader
	rate  int64
	grace time.Duration
	now   func() time.Time
	start time.Time
	n     int64
}

// NewMinRate wraps r; now is the clock (nil = time.Now).
func NewMinRate(r io.Reader, rate int64, grace time.Duration, now func() time.Time) *MinRate {
	if now == nil {
		now = time.Now
	}
	return &MinRate{r: r, rate: rate, grace: grace, now: now, start: now()}
}

func (m *MinRate) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.n += int64(n)
	if err != nil {
		return n, err
	}
	if el := m.now().Sub(m.start); el > m.grace && float64(m.n) < float64(m.rate)*el.Seconds() {
		return n, fmt.Errorf("%w: %d bytes in %v, minimum %d bytes/s", ErrTooSlow, m.n, el.Round(time.Second), m.rate)
	}
	return n, nil
}
