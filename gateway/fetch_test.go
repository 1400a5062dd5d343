package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// devServer starts a plain-http server on loopback and returns it with its
// dev allow-list entry ("http://127.0.0.1:PORT").
func devServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, "http://" + srv.Listener.Addr().String()
}

func newTestFetcher(t *testing.T, cfg FetchConfig) *Fetcher {
	t.Helper()
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatalf("NewFetcher: %v", err)
	}
	return f
}

func TestFetchConfigEntries(t *testing.T) {
	good := []string{
		"upload.example.org", "Upload.Example.org:8443", "https://share.example.net",
		"http://127.0.0.1:5280", "http://localhost:5280", "http://[::1]:5280", "::1", "[::1]",
		"xn--mnchen-3ya.example",
	}
	for _, e := range good {
		if _, err := NewFetcher(FetchConfig{Hosts: []string{e}}); err != nil {
			t.Errorf("entry %q: %v", e, err)
		}
	}
	bad := []string{
		"", "http://169.254.169.254", "http://upload.example.org", "http://10.0.0.5:5280",
		"ftp://upload.example.org", "upload.example.org/path", "user@upload.example.org",
		"upload.example.org:0", "upload.example.org:99999", "upload.example.org:https",
		"*.example.org", "münchen.example", "upload.example.org.", "fe80::1%eth0",
	}
	for _, e := range bad {
		if _, err := NewFetcher(FetchConfig{Hosts: []string{e}}); err == nil {
			t.Errorf("entry %q accepted", e)
		}
	}
	if _, err := NewFetcher(FetchConfig{MaxBytes: -1}); err == nil {
		t.Error("negative MaxBytes accepted")
	}
	f := newTestFetcher(t, FetchConfig{})
	if f.cfg.MaxBytes != 100<<20 || f.cfg.Timeout != 2*time.Minute || f.cfg.ConnectTimeout != 10*time.Second {
		t.Errorf("defaults: %+v", f.cfg)
	}
	if err := f.Allowed("https://upload.example.org/x"); !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("empty allow-list: %v", err)
	}
}

func TestAllowed(t *testing.T) {
	f := newTestFetcher(t, FetchConfig{Hosts: []string{
		"upload.example.org", "share.example.net:8443", "http://127.0.0.1:5280", "http://[::1]:5281",
		"203.0.113.7",
	}})
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://upload.example.org/slot/abc/photo.jpg", true},
		{"https://upload.example.org:443/slot/abc/photo.jpg?token=x", true},
		{"https://UPLOAD.Example.ORG/slot/abc/photo.jpg", true}, // DNS names are case-insensitive
		{"HTTPS://upload.example.org/a.jpg", true},
		{"https://share.example.net:8443/a.jpg", true},
		{"http://127.0.0.1:5280/upload/a.jpg", true},
		{"http://[::1]:5281/upload/a.jpg", true},
		{"https://203.0.113.7/a.jpg", true},

		{"http://169.254.169.254/latest/meta-data/", false},
		{"https://169.254.169.254/latest/meta-data/", false},
		{"http://[fd00:ec2::254]/latest/meta-data/", false},
		{"https://evil.example.com/a.jpg", false},
		{"https://upload.example.org.evil.example.com/a.jpg", false},
		{"https://evilupload.example.org/a.jpg", false},
		{"https://sub.upload.example.org/a.jpg", false},
		{"https://upload.example.org./a.jpg", false}, // trailing dot
		{"http://upload.example.org/a.jpg", false},   // https only
		{"https://127.0.0.1:5280/a.jpg", false},      // dev entry is plain http only
		{"https://a@upload.example.org/a.jpg", false},
		{"https://upload.example.org:x@evil.example.com/a.jpg", false},
		{"https://evil.example.com#@upload.example.org/a.jpg", false},
		{"https://evil.example.com\\@upload.example.org/a.jpg", false},
		{"https://upload.example.org/a.jpg#key", false},
		{"https://upload.example.org:8443/a.jpg", false}, // port mismatch
		{"https://share.example.net/a.jpg", false},       // entry has port 8443 only
		{"http://127.0.0.1:5281/a.jpg", false},
		{"http://127.0.0.1/a.jpg", false},
		{"http://localhost:5280/a.jpg", false}, // IP literal entry matches exactly
		{"http://127.1:5280/a.jpg", false},
		{"http://2130706433:5280/a.jpg", false},
		{"http://0x7f000001:5280/a.jpg", false},
		{"http://[::ffff:127.0.0.1]:5280/a.jpg", false},
		{"https://[::ffff:203.0.113.7]/a.jpg", false},
		{"https://upl\u043ead.example.org/a.jpg", false}, // Cyrillic o (homograph)
		{"https://%75pload.example.org/a.jpg", false},
		{"https://upload.example.org /a.jpg", false},
		{"https://upload.example.org/a\n.jpg", false},
		{"https:upload.example.org/a.jpg", false},
		{"//upload.example.org/a.jpg", false},
		{"upload.example.org/a.jpg", false},
		{"file:///etc/passwd", false},
		{"ftp://upload.example.org/a.jpg", false},
		{"gopher://upload.example.org:443/_GET", false},
		{"aesgcm://upload.example.org/a.jpg#00112233", false},
		{"data:image/jpeg;base64,AAAA", false},
		{"", false},
		{"https://upload.example.org/" + strings.Repeat("a", 5000), false},
	}
	for _, tt := range tests {
		err := f.Allowed(tt.url)
		if tt.ok && err != nil {
			t.Errorf("Allowed(%q) = %v, want nil", tt.url, err)
		}
		if !tt.ok && !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("Allowed(%q) = %v, want ErrURLNotAllowed", tt.url, err)
		}
	}
}

func TestFetchDialAddr(t *testing.T) {
	tests := []struct {
		ip         string
		loopbackOK bool
		ok         bool
	}{
		{"93.184.215.14", false, true},
		{"2a00:1450:4001:80b::200e", false, true},
		{"127.0.0.1", true, true},
		{"::1", true, true},
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"169.254.169.254", false, false},
		{"169.254.169.254", true, false}, // dev exception covers loopback only
		{"::ffff:169.254.169.254", false, false},
		{"fe80::1", false, false},
		{"10.0.0.1", true, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"fd00:ec2::254", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::1", false, false},  // 6to4
		{"::a9fe:a9fe", false, false},        // IPv4-compatible
	}
	for _, tt := range tests {
		err := checkDialAddr(netip.MustParseAddr(tt.ip), tt.loopbackOK)
		if tt.ok != (err == nil) {
			t.Errorf("checkDialAddr(%s, %v) = %v, want ok=%v", tt.ip, tt.loopbackOK, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("checkDialAddr(%s): %v is not ErrURLNotAllowed", tt.ip, err)
		}
	}
}

func TestFetchDevLoopback(t *testing.T) {
	var ua atomic.Value
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
		if c := r.Header.Get("Cookie"); c != "" {
			t.Errorf("cookie sent: %q", c)
		}
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		io.WriteString(w, "photo bytes")
	})
	other, _ := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("server on another port was contacted")
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}})
	for range 2 { // second round: no cookie may come back
		rc, err := f.Fetch(t.Context(), srv.URL+"/upload/abc/photo.jpg?token=x")
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != "photo bytes" {
			t.Fatalf("body %q, %v", b, err)
		}
	}
	if got := ua.Load(); got != "fieldgate" {
		t.Errorf("User-Agent %q", got)
	}

	if err := f.Allowed(other.URL + "/a.jpg"); !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("other port: Allowed = %v", err)
	}
	if _, err := f.Fetch(t.Context(), other.URL+"/a.jpg"); !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("other port: Fetch = %v", err)
	}
	// Defence in depth: the dialer itself refuses what is not allow-listed.
	if c, err := f.dial(t.Context(), "tcp", other.Listener.Addr().String()); !errors.Is(err, ErrURLNotAllowed) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial other port: %v", err)
	}
}

// TestFetchResolvedLoopbackRefused: an https allow-list entry whose name
// resolves to loopback is refused by the dialer's Control hook, as a
// rebinding DNS answer would be.
func TestFetchResolvedLoopbackRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	port := fmt.Sprint(srv.Listener.Addr().(*net.TCPAddr).Port)
	f := newTestFetcher(t, FetchConfig{Hosts: []string{"localhost:" + port, "127.0.0.1:" + port}})
	for _, u := range []string{"https://localhost:" + port + "/a.jpg", "https://127.0.0.1:" + port + "/a.jpg"} {
		if err := f.Allowed(u); err != nil {
			t.Fatalf("Allowed(%s): %v", u, err)
		}
		_, err := f.Fetch(t.Context(), u)
		if !errors.Is(err, ErrURLNotAllowed) || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Fetch(%s) = %v, want loopback refusal", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Error("server contacted")
	}
}

func TestFetchTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls photo")
	}))
	t.Cleanup(srv.Close)
	f := newTestFetcher(t, FetchConfig{Hosts: []string{srv.Listener.Addr().String()}})
	f.checkAddr = func(netip.Addr, bool) error { return nil } // the test server is on loopback

	// Verification is on: the test CA is not trusted.
	if _, err := f.Fetch(t.Context(), srv.URL+"/a.jpg"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted cert: %v", err)
	}
	tr := f.client.Transport.(*http.Transport)
	if tr.TLSClientConfig.InsecureSkipVerify || tr.Proxy != nil {
		t.Fatal("transport must verify TLS and use no proxy")
	}
	tr.TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	rc, err := f.Fetch(t.Context(), srv.URL+"/a.jpg")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "tls photo" {
		t.Errorf("body %q", b)
	}
}

func TestFetchRedirects(t *testing.T) {
	var otherHits atomic.Int32
	target, targetEntry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "redirected photo")
	})
	other, _ := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		io.WriteString(w, "must not be fetched")
	})
	var srvURL string
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-allowed":
			http.Redirect(w, r, target.URL+"/photo.jpg", http.StatusFound)
		case "/to-other":
			http.Redirect(w, r, other.URL+"/photo.jpg", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/to-userinfo":
			http.Redirect(w, r, "http://x@"+strings.TrimPrefix(target.URL, "http://")+"/photo.jpg", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, srvURL+"/loop", http.StatusFound)
		case "/chain3": // three redirects: still fine
			http.Redirect(w, r, srvURL+"/chain2", http.StatusFound)
		case "/chain2":
			http.Redirect(w, r, srvURL+"/chain1", http.StatusFound)
		case "/chain1":
			http.Redirect(w, r, target.URL+"/photo.jpg", http.StatusFound)
		}
	})
	srvURL = srv.URL
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry, targetEntry}})

	for _, path := range []string{"/to-allowed", "/chain3"} {
		rc, err := f.Fetch(t.Context(), srv.URL+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "redirected photo" {
			t.Errorf("%s: body %q", path, b)
		}
	}
	for _, path := range []string{"/to-other", "/to-metadata", "/to-file", "/to-userinfo"} {
		rc, err := f.Fetch(t.Context(), srv.URL+path)
		if !errors.Is(err, ErrURLNotAllowed) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("%s: err = %v, want ErrURLNotAllowed", path, err)
		}
	}
	if rc, err := f.Fetch(t.Context(), srv.URL+"/loop"); err == nil || !strings.Contains(err.Error(), "redirects") {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("loop: %v", err)
	}
	if otherHits.Load() != 0 {
		t.Error("redirect target on another host was contacted")
	}
}

func TestFetchTooLargeContentLength(t *testing.T) {
	var wrote atomic.Int64
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1048577")
		n, _ := io.Copy(w, io.LimitReader(zeros{}, 1048577))
		wrote.Store(n)
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}, MaxBytes: 1 << 20})
	rc, err := f.Fetch(t.Context(), srv.URL+"/big.jpg")
	if !errors.Is(err, ErrAttachmentTooLarge) {
		if rc != nil {
			rc.Close()
		}
		t.Fatalf("err = %v, want ErrAttachmentTooLarge", err)
	}
}

func TestFetchTooLargeStream(t *testing.T) {
	const maxBytes = 1 << 20
	const offered = 512 << 20
	written := make(chan int64, 1)
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: chunked, as from a server that lies or streams.
		buf := make([]byte, 32<<10)
		var n int64
		for n < offered {
			m, err := w.Write(buf)
			n += int64(m)
			if err != nil {
				break
			}
			w.(http.Flusher).Flush()
		}
		written <- n
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}, MaxBytes: maxBytes})
	rc, err := f.Fetch(t.Context(), srv.URL+"/stream.jpg")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrAttachmentTooLarge) {
		t.Fatalf("Copy: n=%d err=%v, want ErrAttachmentTooLarge", n, err)
	}
	if n != maxBytes {
		t.Errorf("delivered %d bytes, want exactly the cap %d", n, maxBytes)
	}
	if _, err := rc.Read(make([]byte, 10)); !errors.Is(err, ErrAttachmentTooLarge) {
		t.Errorf("error not sticky: %v", err)
	}
	rc.Close()
	select {
	case w := <-written:
		// Only socket buffers hold more than the cap; the stream was cut.
		if w >= 64<<20 {
			t.Errorf("server wrote %d bytes; the client kept reading past the cap", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still writing 10s after Close")
	}
}

func TestFetchExactlyMaxBytes(t *testing.T) {
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // chunked
		io.Copy(w, io.LimitReader(zeros{}, 4096))
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}, MaxBytes: 4096})
	rc, err := f.Fetch(t.Context(), srv.URL+"/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n, err := io.Copy(io.Discard, rc); n != 4096 || err != nil {
		t.Errorf("n=%d err=%v", n, err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mid-body" {
			io.WriteString(w, "first bytes")
			w.(http.Flusher).Flush()
		}
		select { // stall
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}, Timeout: 300 * time.Millisecond})

	_, err := f.Fetch(t.Context(), srv.URL+"/headers")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled headers: %v, want DeadlineExceeded", err)
	}

	rc, err := f.Fetch(t.Context(), srv.URL+"/mid-body")
	if err != nil {
		t.Fatalf("mid-body Fetch: %v", err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled body: %v, want DeadlineExceeded", err)
	}
}

func TestFetchStatus(t *testing.T) {
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.Error(w, "expired", http.StatusNotFound)
		case "/partial":
			w.WriteHeader(http.StatusPartialContent)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/error":
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}})
	for _, p := range []string{"/gone", "/partial", "/empty", "/error"} {
		rc, err := f.Fetch(t.Context(), srv.URL+p+"?token=SECRET")
		if err == nil {
			rc.Close()
			t.Errorf("%s: no error", p)
			continue
		}
		if !strings.Contains(err.Error(), "status") {
			t.Errorf("%s: %v", p, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error leaks the query: %v", p, err)
		}
	}
}

func TestFetchErrorsHideQuery(t *testing.T) {
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://evil.example.com/x?token=SECRET2", http.StatusFound)
	})
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry, "upload.example.org"}})
	for _, u := range []string{
		"https://other.example.com/a.jpg?token=SECRET",
		"https://user:SECRET@upload.example.org/a.jpg",
		"https://upload.example.org/a.jpg?token=SECRET#SECRET",
		srv.URL + "/a.jpg?token=SECRET",
	} {
		_, err := f.Fetch(t.Context(), u)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Fetch(%q) error %v", u, err)
		}
	}
	// A refused connection (nothing listens) also reports without query.
	f2 := newTestFetcher(t, FetchConfig{Hosts: []string{"http://127.0.0.1:1"}, ConnectTimeout: time.Second})
	_, err := f2.Fetch(t.Context(), "http://127.0.0.1:1/a.jpg?token=SECRET")
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("connect error %v", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		t.Errorf("error still carries *url.Error with the full URL: %v", err)
	}
}

func TestFetchNoCookiesNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	t.Setenv("http_proxy", "http://127.0.0.1:9")
	srv, entry := devServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	f := newTestFetcher(t, FetchConfig{Hosts: []string{entry}})
	if f.client.Jar != nil {
		t.Error("cookie jar set")
	}
	rc, err := f.Fetch(t.Context(), srv.URL+"/a.jpg")
	if err != nil {
		t.Fatalf("proxy from environment used? %v", err)
	}
	rc.Close()
}

func TestExtractURLs(t *testing.T) {
	const u = "https://upload.example.org/slot/Yh6/IMG_20260101.jpg"
	many := make([]string, 15)
	for i := range many {
		many[i] = fmt.Sprintf("https://upload.example.org/%d.jpg", i)
	}
	tests := []struct {
		name string
		body string
		oob  []string
		want []string
	}{
		{"conversations: body is the URL, plus OOB", u, []string{u}, []string{u}},
		{"OOB first", "see https://b.example/2.jpg", []string{"https://a.example/1.jpg"},
			[]string{"https://a.example/1.jpg", "https://b.example/2.jpg"}},
		{"OMEMO aesgcm ignored", "aesgcm://upload.example.org/slot/x.jpg#0011aabb",
			[]string{"aesgcm://upload.example.org/slot/x.jpg#0011aabb"}, nil},
		{"prose punctuation", "Schlagloch (Foto: " + u + "), bitte.", nil, []string{u}},
		{"sentence end", "Foto " + u + ".", nil, []string{u}},
		{"angle brackets", "<" + u + ">", nil, []string{u}},
		{"paren inside URL kept", "https://a.example/x_(1).jpg", nil, []string{"https://a.example/x_(1).jpg"}},
		{"two in body, dedup with OOB", "a " + u + " b https://c.example/3.jpg " + u, []string{u},
			[]string{u, "https://c.example/3.jpg"}},
		{"uppercase scheme", "HTTPS://a.example/1.jpg", nil, []string{"HTTPS://a.example/1.jpg"}},
		{"http kept (Allowed decides)", "http://169.254.169.254/latest", nil, []string{"http://169.254.169.254/latest"}},
		{"other schemes", "ftp://a.example/x file:///etc/passwd gopher://a.example/ xmpp:room@muc.example", nil, nil},
		{"glued scheme", "xhttps://a.example/1.jpg aesgcm://h/https://a.example/2.jpg", nil, nil},
		{"no host", "https:// https:/a", []string{"https:///x", " "}, nil},
		{"OOB whitespace trimmed", "", []string{"  " + u + "\n"}, []string{u}},
		{"at most 10", strings.Join(many, " "), nil, many[:10]},
		{"empty", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExtractURLs(tt.body, tt.oob)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ExtractURLs(%q, %q) = %q, want %q", tt.body, tt.oob, got, tt.want)
			}
		})
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
