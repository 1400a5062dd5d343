package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// selfSigned returns a PEM certificate and key for 127.0.0.1 named cn.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM = testsvc.SelfSigned(t, cn)
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// lockedBuffer collects log output written from other goroutines.
type lockedBuffer = testsvc.LogBuffer

// TestTLSServesAndReloadsCertificate serves HTTPS from certificate files,
// replaces them (a renewal) and sees the new certificate on the next
// connection once the check interval has passed on the injected clock; a
// broken replacement keeps the one in force.
func TestTLSServesAndReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func(c, k []byte, mod time.Time) {
		t.Helper()
		for f, b := range map[string][]byte{certFile: c, keyFile: k} {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f, mod, mod); err != nil {
				t.Fatal(err)
			}
		}
	}
	c1, k1, x1 := selfSigned(t, "fieldgate-one")
	c2, k2, x2 := selfSigned(t, "fieldgate-two")
	base := time.Now().Add(-time.Hour)
	write(c1, k1, base)

	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }

	cfg := &Config{}
	cfg.HTTP.TLSCert, cfg.HTTP.TLSKey = certFile, keyFile
	srv, err := newHTTPServer(cfg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }), logger)
	if err != nil {
		t.Fatal(err)
	}
	// The test's clock, not the wall clock, decides when files are checked.
	r, err := newCertReloader(certFile, keyFile, logger, clock)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLSConfig.GetCertificate = r.GetCertificate
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })

	pool := x509.NewCertPool()
	pool.AddCert(x1)
	pool.AddCert(x2)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	served := func() string {
		t.Helper()
		resp, err := client.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "fieldgate-one" {
		t.Fatalf("serves %q, want fieldgate-one", got)
	}
	write(c2, k2, base.Add(time.Minute))
	if got := served(); got != "fieldgate-one" {
		t.Errorf("reloaded before the check interval: %q", got)
	}
	advance(certCheckInterval + time.Second)
	if got := served(); got != "fieldgate-two" {
		t.Errorf("after renewal serves %q, want fieldgate-two", got)
	}
	write([]byte("garbage"), k2, base.Add(2*time.Minute))
	advance(certCheckInterval + time.Second)
	if got := served(); got != "fieldgate-two" {
		t.Errorf("after a broken renewal serves %q, want the one in force", got)
	}
	if !strings.Contains(logs.String(), "does not load") {
		t.Errorf("broken certificate not logged:\n%s", logs.String())
	}

	// A client that is not speaking TLS makes net/http log a handshake
	// error; the log must not name the client's address.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	_, _ = conn.Read(make([]byte, 100))
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "handshake error") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "handshake error from [client]") {
		t.Errorf("handshake error not logged with the address redacted:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "127.0.0.1") {
		t.Errorf("log names a client address:\n%s", logs.String())
	}
}

func TestHTTPServerConfigErrors(t *testing.T) {
	cfg := &Config{}
	cfg.HTTP.TLSCert = "only-cert.pem"
	if _, err := newHTTPServer(cfg, http.NotFoundHandler(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a certificate without a key was accepted")
	}
	cfg.HTTP.TLSKey = filepath.Join(t.TempDir(), "missing.key")
	if _, err := newHTTPServer(cfg, http.NotFoundHandler(), slog.New(slog.DiscardHandler)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: %v", err)
	}
	if err := validateProxies([]string{"10.0.0.0/8", "192.0.2.1", "::1", "fd00::/8"}); err != nil {
		t.Error(err)
	}
	if err := validateProxies([]string{"proxy.internal"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}

func TestRedactAddrs(t *testing.T) {
	var b bytes.Buffer
	w := redactAddrs{&b}
	for _, line := range []string{
		"http: TLS handshake error from 203.0.113.7:51234: EOF\n",
		"http: TLS handshake error from [2001:db8::1]:443: EOF\n",
		"http: response.WriteHeader on hijacked connection from 2001:db8:0:1::17\n",
	} {
		b.Reset()
		if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if strings.Contains(b.String(), "203.0.113") || strings.Contains(b.String(), "2001:db8") || !strings.Contains(b.String(), "[client]") {
			t.Errorf("%q → %q", line, b.String())
		}
	}
}
