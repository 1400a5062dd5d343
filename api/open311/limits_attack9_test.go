package open311

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fieldgate/fieldgate/dispatch"
)

// trickle hands out one byte per read.
type trickle struct {
	b    []byte
	read int
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.read == len(r.b) {
		return 0, nil
	}
	p[0] = r.b[r.read]
	r.read++
	return 1, nil
}

// TestPostBodyLimits: a POST body that trickles is cut off with 408 and
// stores nothing, and one whose Content-Length is over the limit gets 413
// before a byte is read. Before, Open311 bodies had neither the API's
// minimum rate nor its early 413: a client could hold a request (and an
// upload to the store) open for ever, unauthenticated while its fields
// trickle in, and a declared 1 TB body was read up to the limit first.
func TestPostBodyLimits(t *testing.T) {
	gin.SetMode(gin.TestMode)
	d := &fakeDomain{tokens: map[string]dispatch.Token{"good-key": {Name: "app", Roles: []string{dispatch.RoleReporter}}}}
	m := &fakeMedia{}
	d.media = m
	var mu sync.Mutex
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { // a second passes with every look at the clock
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	h := New(d, m, nil, staticRules{loadRules(t)}, Config{Now: now, MaxBodyBytes: 1 << 20}, nil)
	r := gin.New()
	h.Register(r)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range goodForm() {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("media", "photo.jpg")
	_, _ = fw.Write(append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 4000)...))
	_ = mw.Close()

	for _, f := range []string{"json", "xml"} {
		body := &trickle{b: buf.Bytes()}
		req := httptest.NewRequest(http.MethodPost, "/open311/v2/requests."+f, body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		assertError(t, w, http.StatusRequestTimeout, "")
		if body.read == len(buf.Bytes()) {
			t.Errorf("%s: the whole trickling body was read", f)
		}
		if len(d.intakes) != 0 || m.puts != len(m.deleted) {
			t.Errorf("%s: a trickling request stored %d reports, %d objects, deleted %d", f, len(d.intakes), m.puts, len(m.deleted))
		}

		cr := &countingReader{r: bytes.NewReader(buf.Bytes())}
		req = httptest.NewRequest(http.MethodPost, "/open311/v2/requests."+f, cr)
		req.ContentLength = 1<<20 + 1
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w = httptest.NewRecorder()
		r.ServeHTTP(w, req)
		assertError(t, w, http.StatusRequestEntityTooLarge, "")
		if cr.n != 0 || len(d.intakes) != 0 {
			t.Errorf("%s: a declared too-large body was read (%d bytes, %d reports)", f, cr.n, len(d.intakes))
		}
	}
}

// countingReader counts what a handler read of a body.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
