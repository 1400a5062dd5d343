package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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

// startPrivateMinIO starts a MinIO of the test's own with a KMS key, as
// the shared test MinIO has one (fieldgate requires SSE-S3 by default);
// Stop and Start take it down and bring it back.
func startPrivateMinIO(t *testing.T) *testsvc.MinIOServer {
	t.Helper()
	return testsvc.StartMinIO(t, testsvc.MinIOOptions{KMS: true})
}

// useServices points a stack at the private services given (nil: keep
// the shared one).
func (s *stack) useServices(pg *durablePG, s3 *testsvc.MinIOServer) {
	s.t.Helper()
	if pg != nil {
		s.db = pg.url()
		s.env["FIELDGATE_DATABASE_URL"] = s.db
	}
	if s3 != nil {
		s.env["FIELDGATE_S3_ENDPOINT"] = s3.Endpoint
		c, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
		if err != nil {
			s.t.Fatal(err)
		}
		s.s3 = c
	}
}

// privateFaultStack is faultStack on the given private services.
func privateFaultStack(t *testing.T, pg *durablePG, s3 *testsvc.MinIOServer) (*stack, *replica) {
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
		m.Stop()
		time.Sleep(5 * time.Second)
		m.Start()
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
