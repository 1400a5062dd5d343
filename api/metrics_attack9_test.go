package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMadeUpMethodsAddNoSeries: requests with methods a client made up
// share one "other" label; before, each was a new series of the request
// histogram (memory without bound, a flooded Prometheus).
func TestMadeUpMethodsAddNoSeries(t *testing.T) {
	srv := New(newFakeDomain(), &fakeMedia{}, staticRules{demoRuleSet(t)}, Config{}, nil)
	h := srv.Handler()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nothing", nil))
	base := testutil.CollectAndCount(srv.requests)
	for i := range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(fmt.Sprintf("XFOO%d", i), "/nothing", nil))
	}
	if n := testutil.CollectAndCount(srv.requests); n != base+1 {
		t.Errorf("%d series after 50 made-up methods, want %d", n, base+1)
	}
}
