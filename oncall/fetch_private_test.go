package oncall_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/oncall"
)

// The fetcher refuses the town's own network (no SSRF through a calendar
// URL in the rules), redirects away from https, and never shows a URL's
// query (calendar links often carry a secret token).
func TestFetcherRefusesPrivateAddressesAndRedacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plain":
			http.Redirect(w, r, "http://example.org/plan.ics", http.StatusFound)
		default:
			http.Error(w, "nope", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	strict := oncall.NewFetcher(oncall.FetchConfig{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig})
	opt := oncall.Options{Location: time.UTC}
	for _, src := range []string{
		srv.URL + "/plan.ics?token=geheim", // loopback
		"https://10.1.2.3/plan.ics?token=geheim",
		"https://192.168.1.1/plan.ics?token=geheim",
		"https://169.254.169.254/latest/meta-data?token=geheim",
		"https://[fd00::1]/plan.ics?token=geheim",
		"https://100.64.0.1/plan.ics?token=geheim",
	} {
		_, err := oncall.LoadCalendar(ctx, src, opt, strict)
		if !errors.Is(err, oncall.ErrInvalid) || !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("%s: %v, want a refusal as not public", src, err)
		}
		if err != nil && strings.Contains(err.Error(), "geheim") {
			t.Errorf("%s: the error shows the query: %v", src, err)
		}
	}
	loose := testFetcher(srv)
	if _, err := oncall.LoadCalendar(ctx, srv.URL+"/plain", opt, loose); !errors.Is(err, oncall.ErrInvalid) || !strings.Contains(err.Error(), "non-https") {
		t.Errorf("redirect to http: %v", err)
	}
	_, err := oncall.LoadCalendar(ctx, srv.URL+"/x.ics?token=geheim", opt, loose)
	if !errors.Is(err, oncall.ErrUnavailable) || strings.Contains(err.Error(), "geheim") {
		t.Errorf("403 with a token in the URL: %v, want ErrUnavailable without the token", err)
	}
}
