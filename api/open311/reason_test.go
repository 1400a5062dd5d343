package open311

import (
	"errors"
	"testing"
)

// TestPublicReasonLocalised: why a media_url was not fetched is worded
// from the catalogue in the reader's language, never the fetcher's
// English error (which may name the target).
func TestPublicReasonLocalised(t *testing.T) {
	cases := []struct {
		err    error
		de, en string
	}{
		{errors.New("gateway: attachment URL not allowed: 10.0.0.1 is private"), "Server nicht erlaubt", "host not allowed"},
		{errors.New("gateway: fetch http://x/y: gateway: attachment too large: more than 5 bytes"), "zu groß", "too large"},
		{errors.New("dial tcp 10.1.2.3:80: connection refused"), "nicht abrufbar", "not retrievable"},
	}
	for _, c := range cases {
		r := publicReason(c.err)
		if got := r.In("de"); got != c.de {
			t.Errorf("%v: de %q, want %q", c.err, got, c.de)
		}
		if got := r.In("en"); got != c.en {
			t.Errorf("%v: en %q, want %q", c.err, got, c.en)
		}
	}
}
