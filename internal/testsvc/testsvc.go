// Package testsvc hands the real services started by deploy/dev/services
// (make test) to integration tests: PostgreSQL (db.go), S3 (MinIO) and
// Prosody, or ejabberd from deploy/dev/ejabberd in the second pass
// (xmpp.go, xmppserver.go), plus leases on the XMPP component names and test accounts that
// parallel test packages must not share.
//
// Every helper reads FIELDGATE_TEST_* variables from the environment (the
// lines of ./var/test/env). When they are missing the test is skipped, or
// fails under CI=true, where a silently skipped integration test would hide
// a broken setup.
package testsvc

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHint tells a developer how to get the services.
const startHint = "start them with 'make test', or 'deploy/dev/services start ./var/test test' and then '. ./var/test/env'"

// Required stops a test whose services are not configured: missing names
// the unset variables. With CI=true the test fails, otherwise it is skipped.
func Required(t testing.TB, missing ...string) {
	t.Helper()
	msg := fmt.Sprintf("integration services not available (unset: %s); %s", strings.Join(missing, ", "), startHint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// env returns the values of names, in order, or stops the test through
// Required when any is unset. Integration tests are skipped under -short.
func env(t testing.TB, names ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	vals := make([]string, len(names))
	var missing []string
	for i, n := range names {
		vals[i] = os.Getenv(n)
		if vals[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		Required(t, missing...)
	}
	return vals
}

// leaseTimeout is how long a test waits for a free slot before failing.
const leaseTimeout = 2 * time.Minute

// lease takes an exclusive flock on FIELDGATE_TEST_DIR/locks/<kind>-<slot>
// for one of the given slots and holds it until the test ends. flock
// locks belong to the open file, so the slots exclude each other across
// test binaries (go test runs packages in parallel) and within one.
func lease(t testing.TB, kind string, slots []string) string {
	t.Helper()
	dir := env(t, "FIELDGATE_TEST_DIR")[0]
	lockDir := filepath.Join(dir, "locks")
	if err := os.MkdirAll(lockDir, 0o777); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	deadline := time.Now().Add(leaseTimeout)
	start := rand.IntN(len(slots)) // spread packages over the slots
	for {
		for i := range slots {
			slot := slots[(start+i)%len(slots)]
			// Read-only is enough for flock, and works on a lock file
			// another user (a root run) created.
			f, err := os.OpenFile(filepath.Join(lockDir, kind+"-"+slot), os.O_RDONLY|os.O_CREATE, 0o666)
			if err != nil {
				t.Fatalf("testsvc: lease %s: %v", kind, err)
			}
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				t.Cleanup(func() { f.Close() }) // closing releases the lock
				return slot
			}
			f.Close()
			if err != syscall.EWOULDBLOCK {
				t.Fatalf("testsvc: lease %s %s: %v", kind, slot, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testsvc: all %d %s slots stayed leased for %v (tests holding them too long, or too many in parallel?)", len(slots), kind, leaseTimeout)
		}
		time.Sleep(50*time.Millisecond + rand.N(50*time.Millisecond))
	}
}
