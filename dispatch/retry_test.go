package dispatch

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		errors int
		min    time.Duration
		max    time.Duration
	}{
		{0, 500 * time.Millisecond, 2 * time.Second},
		{1, 500 * time.Millisecond, 2 * time.Second},
		{3, 3 * time.Second, 5 * time.Second},
		{20, 255 * time.Second, 257 * time.Second},
	}
	for _, c := range cases {
		job := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, c.errors)}
		d := time.Until(retryPolicy{}.NextRetry(job))
		if d < c.min || d > c.max {
			t.Errorf("after %d errors: retry in %v, want between %v and %v", c.errors, d, c.min, c.max)
		}
	}
}
