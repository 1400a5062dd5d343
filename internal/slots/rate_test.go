package slots

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type oneByte struct{ left int }

func (o *oneByte) Read(p []byte) (int, error) {
	if o.left == 0 {
		return 0, io.EOF
	}
	o.left--
	p[0] = 'x'
	return 1, nil
}

func TestMinRate(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	if b, err := io.ReadAll(NewMinRate(strings.NewReader("0123456789"), 100, 10*time.Second, clock)); err != nil || len(b) != 10 {
		t.Fatalf("fast stream: %q, %v", b, err)
	}
	r := NewMinRate(&oneByte{left: 100}, 100, 10*time.Second, clock)
	buf := make([]byte, 4)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		now = now.Add(time.Second)
		_, err = r.Read(buf)
	}
	if !errors.Is(err, ErrTooSlow) || !strings.Contains(err.Error(), "minimum 100 bytes/s") {
		t.Fatalf("1 byte/s against 100 byte/s: %v", err)
	}
}
