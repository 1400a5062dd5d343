package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// revocationBound is how soon a revocation committed by another process
// must be in force in a running server.
const revocationBound = 500 * time.Millisecond

// watchedTokens returns a cached token store on its own pool, with its
// Watch running until the test ends and listening, and a second pool on
// the same database: another process (`fieldgate token`, a replica).
func watchedTokens(t *testing.T, cfg dispatch.TokenCacheConfig, now func() time.Time) (*dispatch.Tokens, *pgxpool.Pool) {
	t.Helper()
	url := testsvc.DatabaseURL(t)
	open := func() *pgxpool.Pool {
		pool, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	served, other := open(), open()
	tokens := dispatch.NewTokens(served, now).WithCache(cfg, testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tokens.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	waitForCache(t, "the cache to listen", tokens, func(s dispatch.TokenCacheStats) bool { return s.Live })
	return tokens, other
}

func waitForCache(t *testing.T, what string, tokens *dispatch.Tokens, cond func(dispatch.TokenCacheStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(tokens.CacheStats()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, tokens.CacheStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustCreate(t testing.TB, tokens *dispatch.Tokens, name string, ttl time.Duration) string {
	t.Helper()
	secret, err := tokens.CreateScoped(context.Background(), dispatch.TokenSpec{Name: name, Roles: []string{dispatch.RoleReporter}, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// refusedWithin authenticates until the secret is refused and returns how
// long that took after start.
func refusedWithin(t *testing.T, tokens *dispatch.Tokens, secret string, start time.Time) time.Duration {
	t.Helper()
	for {
		_, err := tokens.Authenticate(context.Background(), secret)
		if errors.Is(err, dispatch.ErrForbidden) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the revoked token still authenticates after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTokenCacheRevokedElsewhere(t *testing.T) {
	// A short ping interval: the listener times out and pings many times
	// while the test runs, and must still hear the revocation.
	tokens, otherPool := watchedTokens(t, dispatch.TokenCacheConfig{PingInterval: 20 * time.Millisecond}, nil)
	other := dispatch.NewTokens(otherPool, nil) // e.g. `fieldgate token revoke`
	ctx := context.Background()
	secret := mustCreate(t, other, "app", 0)
	for range 3 {
		tok, err := tokens.Authenticate(ctx, secret)
		if err != nil || tok.Name != "app" || !tok.Has(dispatch.RoleReporter) {
			t.Fatalf("Authenticate: %+v, %v", tok, err)
		}
	}
	if s := tokens.CacheStats(); s.Hits != 2 || s.Misses != 1 || s.Len != 1 {
		t.Fatalf("three requests with one token: %+v, want one read and two hits", s)
	}
	time.Sleep(100 * time.Millisecond) // a few pings
	start := time.Now()
	if err := other.Revoke(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	took := refusedWithin(t, tokens, secret, start)
	t.Logf("revoked by another pool: refused after %v", took)
	if took > revocationBound {
		t.Fatalf("revocation took %v to reach the cache, want under %v", took, revocationBound)
	}
	if s := tokens.CacheStats(); s.Len != 0 {
		t.Fatalf("the revoked token is still cached: %+v", s)
	}

	// Revoked by this process: refused at once, no notification needed.
	mine := mustCreate(t, other, "mine", 0)
	if _, err := tokens.Authenticate(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Authenticate(ctx, mine); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("right after Revoke in the same process: %v, want ErrForbidden", err)
	}

	// An administrator's SQL is heard as well.
	sql := mustCreate(t, other, "by-sql", 0)
	if _, err := tokens.Authenticate(ctx, sql); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := otherPool.Exec(ctx, `DELETE FROM api_tokens WHERE name = 'by-sql'`); err != nil {
		t.Fatal(err)
	}
	if took := refusedWithin(t, tokens, sql, start); took > revocationBound {
		t.Fatalf("a deleted token authenticated for %v", took)
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	tokens, otherPool := watchedTokens(t, dispatch.TokenCacheConfig{MaxAge: time.Hour}, now)
	ctx := context.Background()
	secret := mustCreate(t, tokens, "short-lived", 10*time.Second)
	for range 2 {
		if _, err := tokens.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if s := tokens.CacheStats(); s.Hits != 1 || s.Len != 1 {
		t.Fatalf("not cached: %+v", s)
	}
	clock.Add(int64(9 * time.Second))
	if _, err := tokens.Authenticate(ctx, secret); err != nil {
		t.Fatalf("a second before it expires: %v", err)
	}
	clock.Add(int64(time.Second))
	if _, err := tokens.Authenticate(ctx, secret); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("at its expiry (cached for another hour): %v, want ErrForbidden", err)
	}

	// The max age holds when nothing tells the cache: a revocation that
	// no notification announced (the trigger is off) is in force once the
	// entry is MaxAge old.
	long := mustCreate(t, tokens, "long-lived", 0)
	if _, err := tokens.Authenticate(ctx, long); err != nil {
		t.Fatal(err)
	}
	if _, err := otherPool.Exec(ctx, `ALTER TABLE api_tokens DISABLE TRIGGER api_tokens_notify`); err != nil {
		t.Fatal(err)
	}
	if _, err := otherPool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = 'long-lived'`); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(time.Hour - time.Second))
	if _, err := tokens.Authenticate(ctx, long); err != nil {
		t.Fatalf("unannounced revocation before MaxAge: %v (the cache should still answer)", err)
	}
	clock.Add(int64(time.Second))
	if _, err := tokens.Authenticate(ctx, long); !errors.Is(err, dispatch.ErrForbidden) {
		t.Fatalf("unannounced revocation after MaxAge: %v, want ErrForbidden", err)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	tokens, _ := watchedTokens(t, dispatch.TokenCacheConfig{Size: 4}, nil)
	ctx := context.Background()
	var secrets []string
	for i := range 10 {
		secrets = append(secrets, mustCreate(t, tokens, fmt.Sprint("app-", i), 0))
	}
	for range 2 {
		for _, s := range secrets {
			if _, err := tokens.Authenticate(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s := tokens.CacheStats(); s.Len != 4 {
		t.Fatalf("%+v, want 4 entries (the bound)", s)
	}
	// Guessed secrets are refused and never cached: no one fills memory
	// (or pushes real tokens out) by guessing.
	before := tokens.CacheStats()
	for range 500 {
		guess := fmt.Sprintf("fg_%016x%016x", rand.Uint64(), rand.Uint64())
		if _, err := tokens.Authenticate(ctx, guess); !errors.Is(err, dispatch.ErrForbidden) {
			t.Fatalf("guessed secret: %v", err)
		}
	}
	after := tokens.CacheStats()
	if after.Len != before.Len || after.Hits != before.Hits || after.Misses != before.Misses+500 {
		t.Fatalf("guessing changed the cache: before %+v, after %+v", before, after)
	}
	if _, err := tokens.Authenticate(ctx, secrets[9]); err != nil || tokens.CacheStats().Hits != after.Hits+1 {
		t.Fatalf("the most recent token was pushed out by guesses: %v %+v", err, tokens.CacheStats())
	}
}

func TestTokenCacheListenerLost(t *testing.T) {
	// No pings during the test: the listener's last statement stays its
	// LISTEN, which is how the test finds its backend.
	tokens, otherPool := watchedTokens(t, dispatch.TokenCacheConfig{PingInterval: time.Minute, RetryInterval: 50 * time.Millisecond}, nil)
	other := dispatch.NewTokens(otherPool, nil)
	ctx := context.Background()
	secret := mustCreate(t, other, "app", 0)
	if _, err := tokens.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := otherPool.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN fieldgate_api_tokens'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener: %d, %v", killed, err)
	}
	// Notifications may have been missed: everything is forgotten, and
	// caching resumes once a new LISTEN is in place.
	waitForCache(t, "the cache to be emptied", tokens, func(s dispatch.TokenCacheStats) bool { return s.Len == 0 })
	waitForCache(t, "the cache to listen again", tokens, func(s dispatch.TokenCacheStats) bool { return s.Live })
	if _, err := tokens.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if s := tokens.CacheStats(); s.Len != 1 {
		t.Fatalf("not cached after reconnecting: %+v", s)
	}
	start := time.Now()
	if err := other.Revoke(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if took := refusedWithin(t, tokens, secret, start); took > revocationBound {
		t.Fatalf("after reconnecting, a revocation took %v", took)
	}
}

// TestTokenCacheConcurrentRevoke authenticates from many goroutines while
// another pool revokes the tokens one by one: no request that starts
// later than revocationBound after a revocation committed may pass.
func TestTokenCacheConcurrentRevoke(t *testing.T) {
	tokens, otherPool := watchedTokens(t, dispatch.TokenCacheConfig{}, nil)
	other := dispatch.NewTokens(otherPool, nil)
	ctx := context.Background()
	const n = 8
	secrets := make([]string, n)
	for i := range secrets {
		secrets[i] = mustCreate(t, other, fmt.Sprint("app-", i), 0)
	}
	var revokedAt [n]atomic.Int64 // unix nanos; 0 = not revoked
	type pass struct {
		token   int
		started time.Time
	}
	var mu sync.Mutex
	var passes []pass
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := i % n
				started := time.Now()
				_, err := tokens.Authenticate(ctx, secrets[k])
				switch {
				case err == nil:
					mu.Lock()
					passes = append(passes, pass{k, started})
					mu.Unlock()
				case !errors.Is(err, dispatch.ErrForbidden):
					t.Error(err)
					return
				}
			}
		}()
	}
	for k := range n {
		time.Sleep(30 * time.Millisecond)
		if err := other.Revoke(ctx, fmt.Sprint("app-", k)); err != nil {
			t.Fatal(err)
		}
		revokedAt[k].Store(time.Now().UnixNano())
	}
	time.Sleep(revocationBound + 100*time.Millisecond)
	close(stop)
	wg.Wait()
	late := 0
	for _, p := range passes {
		if at := revokedAt[p.token].Load(); at != 0 && p.started.After(time.Unix(0, at).Add(revocationBound)) {
			late++
		}
	}
	s := tokens.CacheStats()
	t.Logf("%d requests passed, cache %+v", len(passes), s)
	if late > 0 {
		t.Fatalf("%d requests passed more than %v after their token was revoked", late, revocationBound)
	}
	if s.Hits == 0 {
		t.Fatal("the cache answered nothing: the test proves nothing")
	}
	for k, secret := range secrets {
		if _, err := tokens.Authenticate(ctx, secret); !errors.Is(err, dispatch.ErrForbidden) {
			t.Fatalf("token %d still authenticates: %v", k, err)
		}
	}
}

// BenchmarkAuthenticate measures one request's token check: read from
// PostgreSQL (no cache) and answered by the cache, against the raw floor
// in the same run (SELECT 1 on the same one-connection pool). pg-µs/op is
// the PostgreSQL backend's CPU per check, read from /proc when the server
// runs on this machine; db-reads/op the cache's misses per check (100
// tokens, each read once).
//
//	go test -run '^$' -bench Authenticate -benchtime 5000x ./dispatch/
func BenchmarkAuthenticate(b *testing.B) {
	cfg, err := pgxpool.ParseConfig(testsvc.DatabaseURL(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	ctx := context.Background()
	plain := dispatch.NewTokens(pool, nil)
	var secrets []string
	for i := range 100 {
		secrets = append(secrets, mustCreate(b, plain, fmt.Sprint("app-", i), 0))
	}
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, op func(i int) error) {
		before, ok := backendCPU(backend)
		i := 0
		for b.Loop() {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if after, ok2 := backendCPU(backend); ok && ok2 {
			b.ReportMetric(float64((after-before).Microseconds())/float64(i), "pg-µs/op")
		}
	}
	b.Run("floor", func(b *testing.B) {
		var one int
		run(b, func(int) error { return pool.QueryRow(ctx, `SELECT 1`).Scan(&one) })
	})
	b.Run("database", func(b *testing.B) {
		run(b, func(i int) error { _, err := plain.Authenticate(ctx, secrets[i%len(secrets)]); return err })
	})
	b.Run("cache", func(b *testing.B) {
		// The cache's LISTEN has a connection of its own (hijacked from
		// the pool); the pool opens another for the reads.
		cached := plain.WithCache(dispatch.TokenCacheConfig{}, testLogger())
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = cached.Watch(wctx) }()
		defer func() { cancel(); <-done }()
		for !cached.CacheStats().Live {
			time.Sleep(time.Millisecond)
		}
		before := cached.CacheStats()
		i := 0
		for b.Loop() {
			if _, err := cached.Authenticate(ctx, secrets[i%len(secrets)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		// The backend above now LISTENs: count database reads instead.
		b.ReportMetric(float64(cached.CacheStats().Misses-before.Misses)/float64(i), "db-reads/op")
	})
}

// backendCPU is the user+system CPU time of a local PostgreSQL backend.
func backendCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name in parentheses; utime and stime are
	// the 14th and 15th fields, in clock ticks (100 per second on Linux).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * 10 * time.Millisecond, true
}
