package testsvc

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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
	return StartMinIO(t, MinIOOptions{TLS: useTLS}).OwnMinIO
}

// MinIOOptions say how StartMinIO runs a MinIO.
type MinIOOptions struct {
	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1.
	TLS bool
	// KMS gives the server a key of its own (MINIO_KMS_SECRET_KEY), as the
	// shared test server has one, so that SSE-S3, which fieldgate requires
	// by default, works. Without, SSE-S3 is refused.
	KMS bool
}

// MinIOServer is a MinIO of the test's own (StartMinIO), which Stop and
// Start can take down and bring back on the same address with the same
// data and keys.
type MinIOServer struct {
	OwnMinIO
	t       testing.TB
	bin     string
	dir     string
	env     []string
	certDir string
	scheme  string
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartMinIO starts a MinIO of the test's own as o says, on a free
// loopback port, with the shared test server's keys (S3), and returns
// once it answers S3 requests; the test's end stops it. The binary is
// FIELDGATE_TEST_MINIO_BIN, the one deploy/dev/services runs.
func StartMinIO(t testing.TB, o MinIOOptions) *MinIOServer {
	t.Helper()
	keys := S3(t)
	bin := os.Getenv("FIELDGATE_TEST_MINIO_BIN")
	if bin == "" {
		Required(t, "FIELDGATE_TEST_MINIO_BIN")
	}
	dir := t.TempDir()
	m := &MinIOServer{t: t, bin: bin, dir: dir, scheme: "http",
		OwnMinIO: OwnMinIO{S3Env: S3Env{Endpoint: freeAddr(t), AccessKey: keys.AccessKey, SecretKey: keys.SecretKey}},
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "MINIO_ROOT_USER=" + keys.AccessKey,
			"MINIO_ROOT_PASSWORD=" + keys.SecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off"}}
	if o.KMS {
		m.env = append(m.env, "MINIO_KMS_SECRET_KEY=fieldgate-test-key:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32)))
	}
	if o.TLS {
		m.certDir = filepath.Join(dir, "certs")
		if err := os.Mkdir(m.certDir, 0o700); err != nil {
			t.Fatal(err)
		}
		var keyPEM []byte
		m.CertPEM, keyPEM = SelfSigned(t, "127.0.0.1")
		if err := os.WriteFile(filepath.Join(m.certDir, "public.crt"), m.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.certDir, "private.key"), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		m.scheme = "https"
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start starts the server (again) and waits until it answers S3 requests.
func (m *MinIOServer) Start() {
	m.t.Helper()
	args := []string{"server", "--quiet", "--address", m.Endpoint, "--console-address", freeAddr(m.t)}
	if m.certDir != "" {
		args = append(args, "--certs-dir", m.certDir)
	}
	m.cmd = exec.Command(m.bin, append(args, filepath.Join(m.dir, "data"))...)
	m.cmd.Env = m.env
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	logPath := filepath.Join(m.dir, "minio.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	defer logFile.Close()
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start MinIO: %v", err)
	}
	m.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(m.cmd, m.done)
	tr := &http.Transport{}
	if m.CertPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(m.CertPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{Timeout: time.Second, Transport: tr}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Ready is not enough: until its object layer is up, MinIO answers
		// S3 requests with 503 "Server not initialized yet". An anonymous
		// ListBuckets gets 403 once it is.
		resp, err := client.Get(m.scheme + "://" + m.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if resp, err = client.Get(m.scheme + "://" + m.Endpoint + "/"); err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusServiceUnavailable {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			output, _ := os.ReadFile(logPath)
			m.t.Fatalf("MinIO on %s not ready after 60 s (last error %v); its output:\n%s", m.Endpoint, err, output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: its data is as a crash leaves it) and
// waits for it to end; a stopped server's Stop does nothing.
func (m *MinIOServer) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd = nil
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
