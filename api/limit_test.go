package api

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// trickle returns one byte per read.
type trickle struct{ n int }

func (t *trickle) Read(p []byte) (int, error) {
	if t.n == 0 {
		return 0, io.EOF
	}
	t.n--
	p[0] = 'x'
	return 1, nil
}
func (t *trickle) Close() error { return nil }

func TestMinRateReader(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	// Fast enough: 10 bytes within the grace period are fine.
	r := newMinRateReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("0123456789")), 100, 10*time.Second, clock)
	if b, err := io.ReadAll(r); err != nil || len(b) != 10 {
		t.Fatalf("fast body: %q, %v", b, err)
	}
	// A trickle: after the grace period the average rate counts.
	r = newMinRateReader(httptest.NewRecorder(), &trickle{n: 100}, 100, 10*time.Second, clock)
	buf := make([]byte, 8)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		now = now.Add(time.Second)
		_, err = r.Read(buf)
	}
	if !errors.Is(err, errTooSlow) {
		t.Fatalf("1 byte/s against a minimum of 100 byte/s: %v, want errTooSlow", err)
	}
	if !strings.Contains(err.Error(), "minimum 100 bytes/s") {
		t.Errorf("error does not say the minimum: %v", err)
	}
}
