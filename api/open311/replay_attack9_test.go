package open311

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestIdempotencyKeyReusedForAnotherRequest: an Idempotency-Key used
// before gets that request's receipt (200) only for the same request
// again; another request under the key gets 422 and stores nothing.
// Before, it got the first request's service_request_id: the new request
// was lost while the client believed it filed.
func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	f := newFixture(t, Config{})
	if w := f.post(t, "/open311/v2/requests.json", goodForm()); w.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	in := f.domain.intakes[0]
	first := dispatch.Receipt{ReportID: uuid.New(), CaseNumber: "2026-000042", Replayed: true}
	f.domain.report = dispatch.ReportView{Report: dispatch.Report{ID: first.ReportID, CaseNumber: first.CaseNumber, Address: in.Address,
		Text: in.Text, Position: in.Position, PositionSource: dispatch.SourceAPI}}
	f.domain.replays = map[string]dispatch.Receipt{"key-1": first}
	post := func(format string, form map[string][]string) int {
		t.Helper()
		before := len(f.domain.intakes)
		req := goodForm()
		for k, v := range form {
			if v == nil {
				delete(req, k)
				continue
			}
			req[k] = v
		}
		w := f.doHeader(t, "/open311/v2/requests."+format, req, map[string]string{"Idempotency-Key": "key-1"})
		if len(f.domain.intakes) != before {
			t.Errorf("a replay reached the intake")
		}
		if w.Code == http.StatusUnprocessableEntity {
			assertError(t, w, http.StatusUnprocessableEntity, "2026-000042")
		}
		return w.Code
	}
	for _, format := range []string{"json", "xml"} {
		if code := post(format, nil); code != http.StatusOK {
			t.Errorf("%s retry: %d", format, code)
		}
		for name, change := range map[string]map[string][]string{
			"description":  {"description": {"Ampel defekt"}},
			"service_code": {"service_code": {"gruen"}, "attribute[schaden]": nil, "attribute[tiefe]": nil, "attribute[betroffen][]": nil},
			"position":     {"lat": {"51.03"}},
			"attribute":    {"attribute[schaden]": {"platte"}},
		} {
			if code := post(format, change); code != http.StatusUnprocessableEntity {
				t.Errorf("%s, another %s under the key: %d, want 422", format, name, code)
			}
		}
	}
}

// doHeader posts form urlencoded with extra header fields.
func (f fixture) doHeader(t *testing.T, target string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

// TestIdempotencyKeyRefusedWhenUnusable: an Idempotency-Key over 200
// bytes was ignored, so that a retry filed the request twice, and one
// with a NUL or invalid UTF-8 reached PostgreSQL (a 500 on the real
// service). Both are 400 now, before anything is read or stored.
func TestIdempotencyKeyRefusedWhenUnusable(t *testing.T) {
	for _, c := range []struct{ name, key, detail string }{
		{"201 bytes", strings.Repeat("k", 201), "200"},
		{"invalid UTF-8", "k\xff", "Idempotency-Key"},
		{"NUL", "k\x00k", "Idempotency-Key"},
	} {
		for _, format := range []string{"json", "xml"} {
			f := newFixture(t, Config{})
			w := f.doHeader(t, "/open311/v2/requests."+format, goodForm(), map[string]string{"Idempotency-Key": c.key})
			assertError(t, w, http.StatusBadRequest, c.detail)
			if len(f.domain.intakes) != 0 {
				t.Errorf("%s %s: filed %d", c.name, format, len(f.domain.intakes))
			}
		}
	}
	f := newFixture(t, Config{})
	if w := f.doHeader(t, "/open311/v2/requests.json", goodForm(), map[string]string{"Idempotency-Key": strings.Repeat("k", 200)}); w.Code != http.StatusCreated ||
		len(f.domain.intakes) != 1 || f.domain.intakes[0].IdempotencyKey != strings.Repeat("k", 200) {
		t.Errorf("a 200-byte key: %d %s", w.Code, w.Body)
	}
}
