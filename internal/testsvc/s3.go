package testsvc

import "testing"

// S3Env is how to reach the test S3 server (MinIO, plain http).
type S3Env struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
}

// S3 returns the test S3 server, or skips/fails the test (see Required).
// Tests share the server: use a bucket of their own (unique name) and
// remove it when done.
func S3(t testing.TB) S3Env {
	t.Helper()
	v := env(t, "FIELDGATE_TEST_S3_ENDPOINT", "FIELDGATE_TEST_S3_ACCESS_KEY", "FIELDGATE_TEST_S3_SECRET_KEY")
	return S3Env{Endpoint: v[0], AccessKey: v[1], SecretKey: v[2]}
}
