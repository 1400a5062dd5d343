package open311

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDiscoveryBehindTLSProxy: without open311.base_url, the discovery
// document is made from the request. Behind the TLS proxy of the
// operations guide (deploy/nginx sends X-Forwarded-Proto: https) it
// advertised http://…/open311/v2, so that clients following it sent their
// api_key and reporters' data in clear text; and as it reflects the Host
// a client sent, no cache may keep it. A configured base_url is used as
// it is.
func TestDiscoveryBehindTLSProxy(t *testing.T) {
	url := func(f fixture, proto string) (string, string) {
		req := httptest.NewRequest(http.MethodGet, "/open311/discovery.json", nil)
		req.Host = "meldungen.stadt.example"
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		var d struct {
			Endpoints []struct {
				URL string `json:"url"`
			} `json:"endpoints"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || len(d.Endpoints) != 1 {
			t.Fatalf("discovery: %d %s", w.Code, w.Body)
		}
		return d.Endpoints[0].URL, w.Header().Get("Cache-Control")
	}
	f := newFixture(t, Config{})
	if got, cc := url(f, "https"); got != "https://meldungen.stadt.example/open311/v2" || cc != "no-store" {
		t.Errorf("behind a TLS proxy: %q, Cache-Control %q", got, cc)
	}
	if got, _ := url(f, ""); got != "http://meldungen.stadt.example/open311/v2" {
		t.Errorf("plain: %q", got)
	}
	f = newFixture(t, Config{BaseURL: "https://open311.stadt.example/"})
	if got, cc := url(f, "http"); got != "https://open311.stadt.example/open311/v2" || cc != "" {
		t.Errorf("configured: %q, Cache-Control %q", got, cc)
	}
}
