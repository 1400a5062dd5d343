package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestSlotPointsElsewhere: an upload slot answer (XEP-0363 §4) whose PUT
// or GET URL points to a foreign or internal host (cloud metadata,
// loopback, another port of the upload host, a non-http scheme, a
// redirect away) is refused as final before or at the request, and the
// sealed photo is sent nowhere but the allow-listed upload host.
func TestSlotPointsElsewhere(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	f, err := NewFetcher(FetchConfig{Hosts: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ok := srv.URL + "/slot/photo.jpg"
	for _, c := range []struct{ name, put, get string }{
		{"PUT to cloud metadata", "http://169.254.169.254/latest/meta-data/", ok},
		{"PUT to loopback", "http://127.0.0.1:5432/", ok},
		{"PUT to localhost by name", "http://localhost/x", ok},
		{"PUT to a file", "file:///etc/passwd", ok},
		{"PUT with userinfo", "http://user:pw@" + srv.Listener.Addr().String() + "/x", ok},
		{"GET on a foreign host", ok, "https://tracker.evil.example/p.jpg"},
		{"GET on an internal host", ok, "http://10.0.0.1/p.jpg"},
		{"GET missing", ok, ""},
	} {
		err := f.put(context.Background(), uploadSlot{PutURL: c.put, GetURL: c.get}, "image/jpeg", []byte("sealed"))
		if !errors.Is(err, errUploadRefused) {
			t.Errorf("%s: %v, want errUploadRefused", c.name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the upload host got %d requests from refused slots", n)
	}
	err = f.put(context.Background(), uploadSlot{PutURL: srv.URL + "/redirect", GetURL: ok}, "image/jpeg", []byte("sealed"))
	if err == nil {
		t.Error("a PUT redirected to cloud metadata succeeded")
	}
}
