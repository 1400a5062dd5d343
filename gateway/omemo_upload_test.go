package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestParseSlot: only the headers XEP-0363 §4 allows reach the PUT, with
// newlines removed; a slot without URLs is a refusal.
func TestParseSlot(t *testing.T) {
	s, err := parseSlot([]byte(`<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u.example/p'>` +
		"<header name='Authorization'>Basic\r\n eA==</header><header name='Host'>evil.example</header>" +
		`<header name='cookie'>a=b</header><header name='X-Other'>1</header></put><get url='https://u.example/g'/></slot>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Header.Get("Authorization"); got != "Basic eA==" {
		t.Errorf("Authorization %q", got)
	}
	if s.Header.Get("Cookie") != "a=b" || s.Header.Get("Host") != "" || s.Header.Get("X-Other") != "" || len(s.Header) != 2 {
		t.Errorf("headers %v: want Authorization and Cookie only", s.Header)
	}
	for _, bad := range []string{``, `<slot xmlns='urn:xmpp:http:upload:0'><put url='https://u.example/p'/></slot>`,
		`<slot xmlns='urn:other'><put url='a'/><get url='b'/></slot>`} {
		if _, err := parseSlot([]byte(bad)); !errors.Is(err, errUploadRefused) {
			t.Errorf("parseSlot(%q) = %v, want errUploadRefused", bad, err)
		}
	}
}

// TestRoomFileOriginID: one id per room and team copy, the same every
// time, showing neither.
func TestRoomFileOriginID(t *testing.T) {
	a := roomFileOriginID("Tiefbau@conference.stadt.example", "team/2026/11/0193")
	if a != roomFileOriginID("tiefbau@conference.stadt.example", "team/2026/11/0193") {
		t.Error("the id depends on the room's case")
	}
	if a == roomFileOriginID("gruen@conference.stadt.example", "team/2026/11/0193") || a == roomFileOriginID("tiefbau@conference.stadt.example", "team/2026/11/0194") {
		t.Error("different rooms or copies share an id")
	}
	if !strings.HasPrefix(a, "fgf-") || strings.Contains(a, "team") || strings.Contains(a, "tiefbau") {
		t.Errorf("id %q", a)
	}
}

func TestExtensionFor(t *testing.T) {
	for ct, want := range map[string]string{"image/jpeg": ".jpg", "IMAGE/PNG; q=1": ".png", "application/pdf": ".bin", "": ".bin"} {
		if got := extensionFor(ct); got != want {
			t.Errorf("extensionFor(%q) = %q, want %q", ct, got, want)
		}
	}
}

// TestUploadPut: the ciphertext goes to an allow-listed PUT URL with the
// slot's headers; refusals by the server (4xx) are final, its failures
// (5xx) are retried, and a URL off the allow-list is never contacted.
func TestUploadPut(t *testing.T) {
	var got struct {
		body, auth, ct string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.body, got.auth, got.ct = string(b), r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusCreated)
		case "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	f, err := NewFetcher(FetchConfig{Hosts: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	slot := func(path string) uploadSlot {
		return uploadSlot{PutURL: srv.URL + path, GetURL: srv.URL + path, Header: http.Header{"Authorization": {"Basic eA=="}}}
	}
	if err := f.put(ctx, slot("/ok"), "image/jpeg", []byte("ciphertext")); err != nil {
		t.Fatal(err)
	}
	if got.body != "ciphertext" || got.auth != "Basic eA==" || got.ct != "image/jpeg" {
		t.Errorf("server got %+v", got)
	}
	if err := f.put(ctx, slot("/forbidden"), "image/jpeg", nil); !errors.Is(err, errUploadRefused) {
		t.Errorf("403: %v, want errUploadRefused", err)
	}
	if err := f.put(ctx, slot("/down"), "image/jpeg", nil); err == nil || errors.Is(err, errUploadRefused) {
		t.Errorf("502: %v, want a retryable error", err)
	}
	got.body = "untouched"
	off := uploadSlot{PutURL: "http://127.0.0.2:1/x"}
	if err := f.put(ctx, off, "image/jpeg", []byte("secret")); !errors.Is(err, errUploadRefused) || !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("URL off the allow-list: %v", err)
	}
}

func TestHasFeature(t *testing.T) {
	inner := []byte(`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='store' type='file'/><feature var='urn:xmpp:http:upload:0'/></query>`)
	if !hasFeature(inner, nsHTTPUpload) || hasFeature(inner, "urn:xmpp:other") || hasFeature([]byte("<broken"), nsHTTPUpload) {
		t.Error("hasFeature")
	}
}
