package dispatch

import (
	"time"

	"github.com/riverqueue/river/rivertype"
)

// retryPolicy retries quickly, doubling up to a little over four minutes. river's default
// (attempt⁴ seconds) waits 16 s before the third try and hours later on;
// a team post or an alert that failed because the XMPP server was
// restarting must go out as soon as it is back. 25 attempts cover about
// 70 minutes before a job is discarded (and logged).
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	n := max(len(job.Errors), 1)
	return time.Now().Add(time.Second << min(n-1, 8)) // 1s, 2s, 4s … 256s
}
