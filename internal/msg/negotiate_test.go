package msg

import (
	"net/http"
	"testing"
)

// TestNegotiateHTTP: the response names the language it chose and varies
// by Accept-Language, once however often the language is asked for.
func TestNegotiateHTTP(t *testing.T) {
	req, resp := http.Header{}, http.Header{}
	req.Set("Accept-Language", "en-GB;q=0.9, fr")
	resp.Add("Vary", "Origin")
	for range 3 {
		if got := NegotiateHTTP(req, resp, "de"); got != "en" {
			t.Fatalf("NegotiateHTTP = %q, want en", got)
		}
	}
	if got := resp.Values("Vary"); len(got) != 2 || got[0] != "Origin" || got[1] != "Accept-Language" {
		t.Errorf("Vary = %q, want [Origin Accept-Language]", got)
	}
	if got := resp.Get("Content-Language"); got != "en" {
		t.Errorf("Content-Language = %q, want en", got)
	}
	if got := NegotiateHTTP(http.Header{}, http.Header{}, "de"); got != "de" {
		t.Errorf("without Accept-Language: %q, want the fallback de", got)
	}
}
