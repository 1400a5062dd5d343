package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsMuxPprofOnlyWhenAsked: the internal listener serves Go's
// profiler only with http.pprof; metrics stay on every other path.
func TestMetricsMuxPprofOnlyWhenAsked(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("metrics")) })
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(metricsMux(metrics, false), "/debug/pprof/"); code != 200 || body != "metrics" {
		t.Errorf("without pprof, /debug/pprof/ = %d %q, want the metrics", code, body)
	}
	on := metricsMux(metrics, true)
	if code, body := get(on, "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("with pprof, /debug/pprof/ = %d, want the profiler's index", code)
	}
	if code, body := get(on, "/metrics"); code != 200 || body != "metrics" {
		t.Errorf("with pprof, /metrics = %d %q, want the metrics", code, body)
	}
}
