package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errTooSlow means a client sent its body slower than the minimum rate.
var errTooSlow = errors.New("request body arrives too slowly")

// minRateReader fails a request body that stalls or trickles: every read
// must return within grace, and after the first grace period the body
// must have averaged at least minRate bytes per second. A slow client
// then gives up its upload slots within seconds instead of holding them.
type minRateReader struct {
	r       io.ReadCloser
	rc      *http.ResponseController
	minRate int64 // bytes per second
	grace   time.Duration
	now     func() time.Time
	start   time.Time
	n       int64
}

func newMinRateReader(w http.ResponseWriter, r io.ReadCloser, minRate int64, grace time.Duration, now func() time.Time) *minRateReader {
	return &minRateReader{r: r, rc: http.NewResponseController(w), minRate: minRate, grace: grace, now: now, start: now()}
}

func (m *minRateReader) Read(p []byte) (int, error) {
	// Not every ResponseWriter supports deadlines (httptest's recorder);
	// the average-rate check below still applies then.
	_ = m.rc.SetReadDeadline(m.now().Add(m.grace))
	n, err := m.r.Read(p)
	m.n += int64(n)
	if err != nil {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return n, fmt.Errorf("%w: nothing for %v", errTooSlow, m.grace)
		}
		return n, err
	}
	if el := m.now().Sub(m.start); el > m.grace && float64(m.n) < float64(m.minRate)*el.Seconds() {
		return n, fmt.Errorf("%w: %d bytes in %v, minimum %d bytes/s", errTooSlow, m.n, el.Round(time.Second), m.minRate)
	}
	return n, nil
}

func (m *minRateReader) Close() error { return m.r.Close() }
