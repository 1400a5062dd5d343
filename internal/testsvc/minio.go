package testsvc

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// OwnMinIO is a MinIO a test started for itself (OwnS3).
type OwnMinIO struct {
	S3Env
	CertPEM []byte // the server's self-signed certificate with TLS, else nil
}

// OwnS3 starts a MinIO of the test's own on a free loopback port, with the
// shared test server's keys (S3), and stops it with the test. Unlike the
// shared one (deploy/dev/services gives that a KMS key, so SSE-S3 works
// as in production) it has no KMS: it refuses SSE-S3, as a town's S3
// without a key management service does. With tls it serves HTTPS with a
// self-signed certificate for 127.0.0.1 made here. The binary is
// FIELDGATE_TEST_MINIO_BIN, the one deploy/dev/services runs.
func OwnS3(t testing.TB, useTLS bool) OwnMinIO {
	t.Helper()
	keys := S3(t)
	bin := os.Getenv("FIELDGATE_TEST_MINIO_BIN")
	if bin == "" {
		Required(t, "FIELDGATE_TEST_MINIO_BIN")
	}
	dir := t.TempDir()
	args := []string{"server", "--quiet", "--address", freeAddr(t), "--console-address", freeAddr(t)}
	var certPEM []byte
	scheme := "http"
	if useTLS {
		certs := filepath.Join(dir, "certs")
		if err := os.Mkdir(certs, 0o700); err != nil {
			t.Fatal(err)
		}
		var keyPEM []byte
		certPEM, keyPEM = SelfSigned(t, "127.0.0.1")
		if err := os.WriteFile(filepath.Join(certs, "public.crt"), certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certs, "private.key"), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--certs-dir", certs)
		scheme = "https"
	}
	addr := args[3]
	cmd := exec.Command(bin, append(args, filepath.Join(dir, "data"))...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "MINIO_ROOT_USER=" + keys.AccessKey,
		"MINIO_ROOT_PASSWORD=" + keys.SecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off"}
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
	tr := &http.Transport{}
	if useTLS {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{Timeout: time.Second, Transport: tr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Ready is not enough: until its object layer is up, MinIO answers
		// S3 requests with 503 "Server not initialized yet". An anonymous
		// ListBuckets gets 403 once it is.
		resp, err := client.Get(scheme + "://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if resp, err = client.Get(scheme + "://" + addr + "/"); err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusServiceUnavailable {
						return OwnMinIO{S3Env: S3Env{Endpoint: addr, AccessKey: keys.AccessKey, SecretKey: keys.SecretKey}, CertPEM: certPEM}
					}
				}
			}
		}
		if time.Now().After(deadline) {
			output, _ := os.ReadFile(logPath)
			t.Fatalf("MinIO on %s not ready after 30 s (last error %v); its output:\n%s", addr, err, output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
