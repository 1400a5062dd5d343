package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/fieldgate/fieldgate/internal/slots"
)

// errTooSlow means a client sent its body slower than the minimum rate.
var errTooSlow = slots.ErrTooSlow

// minRateReader fails a request body that stalls or trickles: every read
// must return within grace (a read deadline on the connection), and after
// the first grace period the body must have averaged at least minRate
// bytes per second (slots.MinRate). A slow client then gives up its
// upload slots within seconds instead of holding them.
type minRateReader struct {
	r     io.ReadCloser
	avg   *slots.MinRate
	rc    *http.ResponseController
	grace time.Duration
	now   func() time.Time
}

func newMinRateReader(w http.ResponseWriter, r io.ReadCloser, minRate int64, grace time.Duration, now func() time.Time) *minRateReader {
	return &minRateReader{r: r, avg: slots.NewMinRate(r, minRate, grace, now), rc: http.NewResponseController(w), grace: grace, now: now}
}

func (m *minRateReader) Read(p []byte) (int, error) {
	// Not every ResponseWriter supports deadlines (httptest's recorder);
	// the average-rate check still applies then.
	_ = m.rc.SetReadDeadline(m.now().Add(m.grace))
	n, err := m.avg.Read(p)
	var ne interface{ Timeout() bool }
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return n, fmt.Errorf("%w: nothing for %v", errTooSlow, m.grace)
	}
	return n, err
}

func (m *minRateReader) Close() error { return m.r.Close() }

// MinRateBody wraps the request body r as the API's report uploads are:
// a read that waits longer than grace for data, or a body averaging less
// than minRate bytes per second after grace, fails with an error that
// wraps slots.ErrTooSlow. For route groups mounted beside the API
// (Open311), so that no body can trickle for ever.
func MinRateBody(w http.ResponseWriter, r io.ReadCloser, minRate int64, grace time.Duration, now func() time.Time) io.ReadCloser {
	return newMinRateReader(w, r, minRate, grace, now)
}
