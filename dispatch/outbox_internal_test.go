package dispatch

import (
	"testing"
	"time"
)

// TestChatOrderSnoozeBacksOff: a queued message that waits for an earlier
// one of its conversation looks again after 250 ms, then doubling up to
// 8 s, so that an XMPP outage with many waiting messages does not have
// each of them poll the database four times a second.
func TestChatOrderSnoozeBacksOff(t *testing.T) {
	for _, c := range []struct {
		metadata string
		want     time.Duration
	}{
		{``, 250 * time.Millisecond},
		{`{}`, 250 * time.Millisecond},
		{`{"snoozes": 1}`, 500 * time.Millisecond},
		{`{"snoozes": 3}`, 2 * time.Second},
		{`{"snoozes": 5}`, 8 * time.Second},
		{`{"snoozes": 1000000}`, 8 * time.Second},
		{`{"snoozes": -4}`, 250 * time.Millisecond},
	} {
		if got := chatOrderSnooze([]byte(c.metadata)); got != c.want {
			t.Errorf("metadata %q: snooze %v, want %v", c.metadata, got, c.want)
		}
	}
}
