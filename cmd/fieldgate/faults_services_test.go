package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// Services of the fault suite's own: the shared test PostgreSQL runs
// without fsync and the shared MinIO serves other packages' tests, so the
// scenarios that stop them start their own.

func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		testsvc.Required(t, name)
	}
	return v
}

// privateDir makes a directory under the test services' directory (which
// the postgres user can reach; a test's TempDir is private to root).
func privateDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp(requireEnv(t, "FIELDGATE_TEST_DIR"), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// durablePG is a PostgreSQL cluster with fsync and synchronous_commit on.
type durablePG struct {
	t         *testing.T
	bin, data string
	opts      string
	port      int
}

// asPostgres runs a PostgreSQL tool; as root it runs as the postgres user
// (PostgreSQL refuses root).
func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func startDurablePG(t *testing.T) *durablePG {
	t.Helper()
	bin := requireEnv(t, "FIELDGATE_TEST_PG_BIN")
	dir := privateDir(t, "faults-pg-")
	p := &durablePG{t: t, bin: bin, data: filepath.Join(dir, "data"), port: freePort(t)}
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = filepath.Walk(dir, func(path string, _ os.FileInfo, _ error) error { return os.Chown(path, uid, gid) })
	}
	// initdb syncs its files: this cluster is the durable one.
	if out, err := asPostgres(filepath.Join(bin, "initdb"), "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on -c synchronous_commit=on -c full_page_writes=on",
		p.port, filepath.Join(dir, "sock"))
	p.start()
	t.Cleanup(func() { _ = asPostgres(filepath.Join(bin, "pg_ctl"), "-D", p.data, "-m", "immediate", "stop").Run() })
	return p
}

func (p *durablePG) start() {
	p.t.Helper()
	if out, err := asPostgres(filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-l", filepath.Join(filepath.Dir(p.data), "pg.log"), "-w", "-t", "60", "-o", p.opts, "start").CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// restartImmediate stops the cluster without a checkpoint (a crash, as
// far as the data is concerned), waits, and starts it: recovery replays
// the WAL, so whatever committed must be there.
func (p *durablePG) restartImmediate(down time.Duration) {
	p.t.Helper()
	if out, err := asPostgres(filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
	time.Sleep(down)
	p.start()
}

func (p *durablePG) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// privateMinIO is a MinIO server of the test's own.
type privateMinIO struct {
	t        *testing.T
	bin, dir string
	addr     string
	user     string
	secret   string
	kms      string // MINIO_KMS_SECRET_KEY, kept across restarts
	cmd      *exec.Cmd
	done     chan struct{}
}

func startPrivateMinIO(t *testing.T) *privateMinIO {
	t.Helper()
	env := testsvc.S3(t)
	m := &privateMinIO{t: t, bin: requireEnv(t, "FIELDGATE_TEST_MINIO_BIN"), dir: privateDir(t, "faults-minio-"),
		addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), user: env.AccessKey, secret: env.SecretKey,
		// A KMS key of its own, as the shared test MinIO has one: fieldgate
		// requires SSE-S3 by default.
		kms: "fieldgate-test-key:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32))}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *privateMinIO) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "server", "--quiet", "--address", m.addr, "--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(m.t)), m.dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.user, "MINIO_ROOT_PASSWORD="+m.secret, "MINIO_UPDATE=off", "MINIO_BROWSER_REDIRECT=off",
		"MINIO_KMS_SECRET_KEY="+m.kms)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("minio: %v", err)
	}
	m.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + m.addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("minio at %s not ready within 60s: %v", m.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *privateMinIO) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

// useServices points a stack at the private services given (nil: keep
// the shared one).
func (s *stack) useServices(pg *durablePG, s3 *privateMinIO) {
	s.t.Helper()
	if pg != nil {
		s.db = pg.url()
		s.env["FIELDGATE_DATABASE_URL"] = s.db
	}
	if s3 != nil {
		s.env["FIELDGATE_S3_ENDPOINT"] = s3.addr
		c, err := minio.New(s3.addr, &minio.Options{Creds: credentials.NewStaticV4(s3.user, s3.secret, "")})
		if err != nil {
			s.t.Fatal(err)
		}
		s.s3 = c
	}
}

// privateFaultStack is faultStack on the given private services.
func privateFaultStack(t *testing.T, pg *durablePG, s3 *privateMinIO) (*stack, *replica) {
	t.Helper()
	s := newStack(t, nil)
	s.useServices(pg, s3)
	return s.startFaulted()
}

// TestFaultMinIORestart: the object store is down for five seconds under
// load (photo uploads get 503 and are retried; reports being processed
// wait for their photos), then comes back.
func TestFaultMinIORestart(t *testing.T) {
	m := startPrivateMinIO(t)
	s, r := privateFaultStack(t, nil, m)
	since := time.Now().Add(-time.Minute)
	l := newFaultLoad(s)
	l.setBases(r.base)
	n, c := faultSize()
	end := l.run(n, c, func() {
		m.stop()
		time.Sleep(5 * time.Second)
		m.start()
	})
	reportRow(t, l.verify("MinIO stop/start", end, since))
}

// TestFaultPostgresRestart: the database (fsync and synchronous_commit on)
// is stopped immediately, without a checkpoint, for three seconds under
// load and started again: every 202 must survive WAL recovery.
func TestFaultPostgresRestart(t *testing.T) {
	pg := startDurablePG(t)
	s, r := privateFaultStack(t, pg, nil)
	since := time.Now().Add(-time.Minute)
	l := newFaultLoad(s)
	l.setBases(r.base)
	n, c := faultSize()
	end := l.run(n, c, func() { pg.restartImmediate(3 * time.Second) })
	reportRow(t, l.verify("PostgreSQL immediate restart", end, since))
}
