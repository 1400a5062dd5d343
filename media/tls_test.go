package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestTLSStore runs Put/ReadMetadata/derivative and SSE-C against an S3
// over TLS, where minio-go signs and checksums differently than over plain
// HTTP. It starts a MinIO of its own with a certificate it makes
// (FIELDGATE_TEST_MINIO_BIN, the binary `deploy/dev/services` runs), or
// uses MEDIA_TEST_S3_TLS_ENDPOINT and MEDIA_TEST_S3_TLS_CA (PEM) with the
// keys of FIELDGATE_TEST_S3_*.
func TestTLSStore(t *testing.T) {
	env := testS3(t)
	ep, caFile := os.Getenv("MEDIA_TEST_S3_TLS_ENDPOINT"), os.Getenv("MEDIA_TEST_S3_TLS_CA")
	var pemBytes []byte
	if ep == "" || caFile == "" {
		ep, pemBytes = startTLSMinIO(t, env.AccessKey, env.SecretKey)
	} else {
		var err error
		if pemBytes, err = os.ReadFile(caFile); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in CA file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	for _, enc := range []string{"", "sse-c"} {
		t.Run("encryption="+enc, func(t *testing.T) {
			cfg := Config{Endpoint: ep, UseTLS: true, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
				Bucket: randomBucket(), Transport: tr, PartSize: 5 << 20,
				Encryption: enc, SSECKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", RequireEncryption: enc != ""}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := New(ctx, cfg, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { removeBucket(t, s.client, cfg.Bucket) })
			photo, err := os.ReadFile(testsvc.Photo(t, "gps_ne.jpg"))
			if err != nil {
				t.Fatal(err)
			}
			big := append(append([]byte{}, photo...), make([]byte, 11<<20)...) // multipart
			for _, body := range [][]byte{photo, big} {
				obj, err := s.Put(ctx, bytes.NewReader(body))
				if err != nil {
					t.Fatalf("Put(%d bytes): %v", len(body), err)
				}
				sum := sha256.Sum256(body)
				if obj.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("hash mismatch")
				}
				md, err := s.ReadMetadata(ctx, obj)
				if err != nil || md.Position == nil {
					t.Fatalf("ReadMetadata: %+v, %v", md, err)
				}
				if _, err := s.MakeDerivative(ctx, obj, md); err != nil {
					t.Fatalf("MakeDerivative: %v", err)
				}
			}
		})
	}
}

// startTLSMinIO starts a MinIO serving TLS on a free loopback port with a
// self-signed certificate for 127.0.0.1 made here, and returns its
// host:port and the certificate (PEM). It stops with the test.
func startTLSMinIO(t *testing.T, accessKey, secretKey string) (string, []byte) {
	t.Helper()
	bin := os.Getenv("FIELDGATE_TEST_MINIO_BIN")
	if bin == "" {
		testsvc.Required(t, "FIELDGATE_TEST_MINIO_BIN")
	}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := testsvc.SelfSigned(t, "127.0.0.1")
	if err := os.WriteFile(filepath.Join(certs, "public.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certs, "private.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	console, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	consoleAddr := console.Addr().String()
	console.Close()
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", consoleAddr,
		"--certs-dir", certs, filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+accessKey, "MINIO_ROOT_PASSWORD="+secretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	logPath := filepath.Join(dir, "minio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Ready is not enough: until its object layer is up, MinIO answers
		// S3 requests with 503 "Server not initialized yet". An anonymous
		// ListBuckets gets 403 once it is.
		resp, err := client.Get("https://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if resp, err = client.Get("https://" + addr + "/"); err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusServiceUnavailable {
						return addr, certPEM
					}
				}
			}
		}
		if time.Now().After(deadline) {
			output, _ := os.ReadFile(logPath)
			t.Fatalf("TLS MinIO on %s not ready after 30 s (last error %v); its output:\n%s", addr, err, output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
