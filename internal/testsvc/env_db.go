package testsvc

import (
	"os"
	"testing"
)

// requireDBEnv returns a required variable or stops the test through missing.
func requireDBEnv(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	v := os.Getenv(name)
	if v == "" {
		dbServiceMissing(t, name)
	}
	return v
}

// dbServiceMissing fails the test in CI and skips it elsewhere: a service that CI
// should have started must never turn into a silently skipped test.
func dbServiceMissing(t testing.TB, names ...string) {
	t.Helper()
	msg := "integration services not running (missing " + joinDBNames(names) + "); start them with 'make test' or 'deploy/dev/services start ./var/test test' and source ./var/test/env"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func joinDBNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
