package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func liveCache(t *testing.T, cfg TokenCacheConfig) *tokenCache {
	t.Helper()
	c := newTokenCache(cfg.withDefaults())
	c.reset(true)
	return c
}

func hashOf(secret string) tokenHash { return sha256.Sum256([]byte(secret)) }

func TestTokenCacheFreshness(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := liveCache(t, TokenCacheConfig{MaxAge: 30 * time.Second})
	h := hashOf("secret-a")
	gen, ok := c.begin()
	if !ok {
		t.Fatal("a live cache refuses to cache")
	}
	c.put(h, gen, cachedToken{tok: Token{Name: "app", Roles: []string{RoleReporter}}, readAt: t0, expires: t0.Add(time.Minute)})

	cases := []struct {
		name string
		at   time.Time
		hit  bool
	}{
		{"just read", t0, true},
		{"within max age", t0.Add(29 * time.Second), true},
		{"max age reached", t0.Add(30 * time.Second), false},
		{"clock went backwards", t0.Add(-time.Second), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.put(h, c.gen, cachedToken{tok: Token{Name: "app"}, readAt: t0, expires: t0.Add(time.Minute)})
			tok, hit := c.get(h, tc.at)
			if hit != tc.hit {
				t.Fatalf("hit = %v, want %v", hit, tc.hit)
			}
			if hit && tok.Name != "app" {
				t.Fatalf("token %+v", tok)
			}
		})
	}

	// A token that expires before the max age is over is refused from
	// the moment it expires.
	c.put(h, c.gen, cachedToken{tok: Token{Name: "app"}, readAt: t0, expires: t0.Add(10 * time.Second)})
	if _, hit := c.get(h, t0.Add(9*time.Second)); !hit {
		t.Fatal("not yet expired token missed")
	}
	if _, hit := c.get(h, t0.Add(10*time.Second)); hit {
		t.Fatal("expired token answered from the cache")
	}
	if s := c.stats(); s.Len != 0 {
		t.Fatalf("a stale entry stays: %+v", s)
	}
}

func TestTokenCacheHitIsACopy(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := liveCache(t, TokenCacheConfig{})
	h := hashOf("secret-a")
	c.put(h, c.gen, cachedToken{tok: Token{Name: "app", Roles: []string{RoleReporter}, Addresses: []string{"tiefbau"}}, readAt: t0})
	tok, _ := c.get(h, t0)
	tok.Roles[0], tok.Addresses[0] = RoleDispatcher, AllAddresses
	again, hit := c.get(h, t0)
	if !hit || again.Has(RoleDispatcher) || again.Addresses[0] != "tiefbau" {
		t.Fatalf("a caller changed the cached token: %+v", again)
	}
}

func TestTokenCacheInvalidation(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	h, other := hashOf("secret-a"), hashOf("secret-b")
	entry := cachedToken{tok: Token{Name: "app"}, readAt: t0}

	t.Run("a read that raced a revocation is not stored", func(t *testing.T) {
		c := liveCache(t, TokenCacheConfig{})
		gen, _ := c.begin() // the read starts
		c.notified(hex.EncodeToString(h[:]))
		c.put(h, gen, entry) // and ends with the token as it was
		if _, hit := c.get(h, t0); hit {
			t.Fatal("the revoked token came back")
		}
	})
	t.Run("notification drops one token", func(t *testing.T) {
		c := liveCache(t, TokenCacheConfig{})
		c.put(h, c.gen, entry)
		c.put(other, c.gen, entry)
		c.notified(hex.EncodeToString(h[:]))
		if _, hit := c.get(h, t0); hit {
			t.Fatal("notified token still cached")
		}
		if _, hit := c.get(other, t0); !hit {
			t.Fatal("another token was dropped too")
		}
	})
	t.Run("an unreadable payload forgets everything", func(t *testing.T) {
		for _, payload := range []string{"", "zz", hex.EncodeToString([]byte("short"))} {
			c := liveCache(t, TokenCacheConfig{})
			c.put(h, c.gen, entry)
			c.notified(payload)
			if s := c.stats(); s.Len != 0 || !s.Live {
				t.Fatalf("payload %q: %+v", payload, s)
			}
		}
	})
	t.Run("nothing is cached while not listening", func(t *testing.T) {
		c := newTokenCache(TokenCacheConfig{}.withDefaults())
		gen, ok := c.begin()
		if ok {
			t.Fatal("a cache that never listened may cache")
		}
		c.put(h, gen, entry)
		c.reset(true)
		c.put(h, c.gen, entry)
		c.reset(false) // the connection was lost
		if s := c.stats(); s.Len != 0 || s.Live {
			t.Fatalf("after losing the connection: %+v", s)
		}
		gen, _ = c.begin()
		c.put(h, gen, entry)
		if _, hit := c.get(h, t0); hit {
			t.Fatal("cached while not listening")
		}
	})
	t.Run("a read from before listening is not stored", func(t *testing.T) {
		c := newTokenCache(TokenCacheConfig{}.withDefaults())
		gen, _ := c.begin()
		c.reset(true)
		c.put(h, gen, entry)
		if c.stats().Len != 0 {
			t.Fatal("a read begun before the LISTEN was cached")
		}
	})
}

func TestTokenCacheBound(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := liveCache(t, TokenCacheConfig{Size: 16})
	for i := range 100 {
		c.put(hashOf(fmt.Sprint("secret-", i)), c.gen, cachedToken{tok: Token{Name: fmt.Sprint(i)}, readAt: t0})
		if _, hit := c.get(hashOf("secret-0"), t0); i < 50 && !hit {
			t.Fatalf("the most recently used token was evicted at %d", i)
		}
	}
	if n := c.stats().Len; n != 16 {
		t.Fatalf("%d entries, want the bound 16", n)
	}
}

func TestTokenCacheConcurrent(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	c := liveCache(t, TokenCacheConfig{Size: 64})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				h := hashOf(fmt.Sprint("secret-", (w*7+i)%100))
				switch i % 5 {
				case 0:
					c.notified(hex.EncodeToString(h[:]))
				case 1:
					if i%500 == 1 {
						c.reset(true)
					}
				default:
					if _, hit := c.get(h, t0); !hit {
						gen, _ := c.begin()
						c.put(h, gen, cachedToken{tok: Token{Name: "x", Roles: []string{RoleReporter}}, readAt: t0})
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := c.stats().Len; n > 64 {
		t.Fatalf("%d entries over the bound", n)
	}
}

func TestTokenCacheMetrics(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	tokens := NewTokens(nil, func() time.Time { return t0 }).WithCache(TokenCacheConfig{}, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(tokens.collectors()...)
	c := tokens.cache
	h := hashOf("secret-a")
	c.get(h, t0) // miss: not listening yet
	c.reset(true)
	c.put(h, c.gen, cachedToken{tok: Token{Name: "app"}, readAt: t0})
	c.get(h, t0)
	c.get(h, t0)
	want := `
# HELP fieldgate_api_token_cache_listening 1 while the API token cache listens for revocations (and caches), 0 while it reads every token from PostgreSQL.
# TYPE fieldgate_api_token_cache_listening gauge
fieldgate_api_token_cache_listening 1
# HELP fieldgate_api_token_cache_lookups_total API token checks answered from this process's cache (hit) or read from PostgreSQL (miss, unknown secrets included).
# TYPE fieldgate_api_token_cache_lookups_total counter
fieldgate_api_token_cache_lookups_total{result="hit"} 2
fieldgate_api_token_cache_lookups_total{result="miss"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if NewTokens(nil, nil).WithCache(TokenCacheConfig{MaxAge: -1}, nil).collectors() != nil {
		t.Fatal("a disabled cache exports metrics")
	}
}
