package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// InternalHosts: the compose demo's "prosody:5280" is fetched over plain
// http from a private address; nothing else is opened up.

func TestInternalHostsAllowOnlyTheirHostAndPort(t *testing.T) {
	f := newTestFetcher(t, FetchConfig{InternalHosts: []string{"prosody:5280"}})
	for u, ok := range map[string]bool{
		"http://prosody:5280/upload/abc/photo.jpg": true,
		"http://PROSODY:5280/upload/abc/photo.jpg": true,
		"https://prosody:5280/upload/photo.jpg":    false, // the entry is plain http
		"http://prosody:5281/photo.jpg":            false, // another port
		"http://prosody/photo.jpg":                 false, // port 80
		"http://minio:9000/bucket/key":             false, // another internal host
		"http://169.254.169.254/latest/meta-data/": false,
	} {
		err := f.Allowed(u)
		if ok && err != nil {
			t.Errorf("Allowed(%s) = %v, want allowed", u, err)
		}
		if !ok && !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("Allowed(%s) = %v, want ErrURLNotAllowed", u, err)
		}
	}
	none := newTestFetcher(t, FetchConfig{})
	if err := none.Allowed("http://prosody:5280/upload/photo.jpg"); !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("without InternalHosts: %v, want refused (off by default)", err)
	}
	if _, err := NewFetcher(FetchConfig{Hosts: []string{"http://prosody:5280"}}); err == nil {
		t.Error("plain http to a non-loopback host in Hosts was accepted; it needs InternalHosts")
	}
}

func TestInternalHostsEntryErrors(t *testing.T) {
	for _, e := range []string{"prosody", "https://prosody:5280", "ftp://prosody:5280", "prosody:5280/upload",
		"*:5280", "prosody:0", "prosody:99999", "user@prosody:5280", ""} {
		if _, err := NewFetcher(FetchConfig{InternalHosts: []string{e}}); err == nil {
			t.Errorf("InternalHosts %q accepted", e)
		}
	}
	for _, e := range []string{"prosody:5280", "http://prosody:5280", " upload.internal:8080 ", "10.0.0.5:5280"} {
		if _, err := NewFetcher(FetchConfig{InternalHosts: []string{e}}); err != nil {
			t.Errorf("InternalHosts %q: %v", e, err)
		}
	}
}

func TestInternalHostsDialPrivateButNotMetadata(t *testing.T) {
	f := newTestFetcher(t, FetchConfig{Hosts: []string{"upload.stadt.example"}, InternalHosts: []string{"prosody:5280"}})
	for addr, ok := range map[string]bool{
		"172.18.0.3": true, "10.0.0.5": true, "192.168.1.9": true, "fd00::5": true, "127.0.0.1": true,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "224.0.0.1": false, "fe80::1": false,
	} {
		err := f.vetAddr("prosody:5280", netip.MustParseAddr(addr), true)
		if ok != (err == nil) {
			t.Errorf("internal host resolving to %s: %v, want allowed=%v", addr, err, ok)
		}
	}
	// Other entries keep the public-only rule.
	for _, addr := range []string{"172.18.0.3", "10.0.0.5", "127.0.0.1"} {
		if err := f.vetAddr("upload.stadt.example:443", netip.MustParseAddr(addr), false); !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("public entry resolving to %s: %v, want refused", addr, err)
		}
	}
}

func TestInternalHostsFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal photo")
	}))
	t.Cleanup(srv.Close)
	hostport := strings.TrimPrefix(srv.URL, "http://")
	f := newTestFetcher(t, FetchConfig{InternalHosts: []string{hostport}})
	rc, err := f.Fetch(t.Context(), srv.URL+"/upload/a.jpg")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "internal photo" {
		t.Errorf("body %q", b)
	}
}
