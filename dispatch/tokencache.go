package dispatch

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
)

// tokenNotifyChannel is the PostgreSQL channel the api_tokens trigger
// (migration 00015) notifies on commit with the hex SHA-256 of every token
// row that was updated (revoked) or deleted, and with "" when the table
// was truncated.
const tokenNotifyChannel = "fieldgate_api_tokens"

// TokenCacheConfig tunes the in-process cache of authenticated API tokens
// (Tokens.WithCache). Zero values take the documented defaults.
type TokenCacheConfig struct {
	// MaxAge: a cached token is read from the database again at the
	// latest this long after it was read. It bounds how long a revocation
	// can go unnoticed if its notification is lost without the listening
	// connection failing. Default 30s; negative disables the cache.
	MaxAge time.Duration
	// Size: at most this many tokens are cached; the least recently used
	// one goes first. Only tokens that authenticated are cached, so a
	// client guessing secrets never adds an entry. Default 4096 (each
	// entry holds a name, roles and addresses: a few hundred bytes).
	Size int
	// PingInterval: the listening connection is checked this often while
	// no notification arrives; a dead one empties the cache. Default
	// MaxAge/3.
	PingInterval time.Duration
	// RetryInterval: after the listening connection was lost, listening is
	// tried again this often; meanwhile nothing is cached and every
	// request reads the database. Default 1s.
	RetryInterval time.Duration
}

func (c TokenCacheConfig) withDefaults() TokenCacheConfig {
	c.MaxAge = cmp.Or(c.MaxAge, 30*time.Second)
	c.Size = cmp.Or(c.Size, 4096)
	c.PingInterval = cmp.Or(c.PingInterval, c.MaxAge/3)
	c.RetryInterval = cmp.Or(c.RetryInterval, time.Second)
	return c
}

// TokenCacheStats counts the cache's work since the process started.
type TokenCacheStats struct {
	Hits   uint64 // answered from memory
	Misses uint64 // read from the database (including unknown secrets)
	Len    int    // tokens cached now
	Live   bool   // the cache is listening for revocations (else it caches nothing)
}

// tokenHash is the SHA-256 of a token's secret: the cache's key, as the
// database's. The secret itself is never kept.
type tokenHash = [sha256.Size]byte

// cachedToken is a token as read from the database at readAt.
type cachedToken struct {
	tok     Token
	expires time.Time // zero: no expiry
	readAt  time.Time
}

// tokenCache holds authenticated tokens while, and only while, a
// LISTEN on tokenNotifyChannel is in place (live). Every change that may
// make a cached entry wrong (a notification, a lost connection) bumps gen
// under mu; a database read remembers gen before it starts and its result
// is stored only if gen is unchanged, so a read that raced a revocation
// can never put the revoked token back.
type tokenCache struct {
	maxAge  time.Duration
	entries *lru.Cache[tokenHash, cachedToken]

	mu   sync.Mutex
	gen  uint64
	live bool

	hits, misses atomic.Uint64
}

func newTokenCache(cfg TokenCacheConfig) *tokenCache {
	entries, err := lru.New[tokenHash, cachedToken](cfg.Size)
	if err != nil { // only for a size below 1, which withDefaults prevents
		panic(fmt.Sprintf("token cache: %v", err))
	}
	return &tokenCache{maxAge: cfg.MaxAge, entries: entries}
}

// get returns the cached token for hash if it is still fresh at now and
// not expired.
func (c *tokenCache) get(hash tokenHash, now time.Time) (Token, bool) {
	e, ok := c.entries.Get(hash)
	if !ok || now.Before(e.readAt) || now.Sub(e.readAt) >= c.maxAge || (!e.expires.IsZero() && !now.Before(e.expires)) {
		if ok {
			c.entries.Remove(hash)
		}
		c.misses.Add(1)
		return Token{}, false
	}
	c.hits.Add(1)
	return e.tok.clone(), true
}

// begin is called before a database read: the generation to hand to put,
// and whether the result may be cached at all.
func (c *tokenCache) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.live
}

// put stores e if nothing was invalidated since begin returned gen.
func (c *tokenCache) put(hash tokenHash, gen uint64, e cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.gen == gen {
		c.entries.Add(hash, e)
	}
}

// drop forgets one token (revoked, deleted or changed).
func (c *tokenCache) drop(hash tokenHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries.Remove(hash)
}

// reset forgets every token; live says whether caching may go on (a
// LISTEN is in place) or must stop until it is.
func (c *tokenCache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	c.entries.Purge()
}

// notified handles a payload of tokenNotifyChannel: the hex hash of one
// token, or anything else (a truncated table) to forget them all.
func (c *tokenCache) notified(payload string) {
	var h tokenHash
	if b, err := hex.DecodeString(payload); err == nil && len(b) == len(h) {
		copy(h[:], b)
		c.drop(h)
		return
	}
	c.reset(true)
}

func (c *tokenCache) stats() TokenCacheStats {
	c.mu.Lock()
	live := c.live
	c.mu.Unlock()
	return TokenCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Len: c.entries.Len(), Live: live}
}

// clone copies the slices, so that no caller can change a cached token.
func (t Token) clone() Token {
	t.Roles, t.Addresses = slices.Clone(t.Roles), slices.Clone(t.Addresses)
	return t
}

// Watch keeps the token cache in step with the database until ctx ends:
// it LISTENs on tokenNotifyChannel on a connection of its own and drops a
// token the moment any process (`fieldgate token revoke`, another
// replica, an administrator's SQL) revokes, changes or deletes it. The
// cache is used only while the LISTEN is in place: when the connection is
// lost, every token is forgotten (notifications may have been missed) and
// nothing is cached until listening again. Without a cache (WithCache not
// called, or disabled) it returns at once.
func (s *Tokens) Watch(ctx context.Context) error {
	if s.cache == nil {
		return nil
	}
	for {
		err := s.listen(ctx)
		s.cache.reset(false)
		if ctx.Err() != nil {
			return nil
		}
		s.log.WarnContext(ctx, "token cache: listening connection lost; every request reads the database until it is back", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.RetryInterval):
		}
	}
}

func (s *Tokens) listen(ctx context.Context) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// A LISTENing connection must not go back to the pool.
	conn := pooled.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+tokenNotifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// From here on every committed change is announced to us: tokens read
	// after this point may be cached.
	s.cache.reset(true)
	for {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.PingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			s.cache.notified(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			// Quiet: make sure the connection is still there, so that a
			// dead one is noticed within PingInterval, not only at MaxAge.
			pctx, pcancel := context.WithTimeout(ctx, s.cfg.PingInterval)
			err = conn.Ping(pctx)
			pcancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

// CacheStats reports the token cache's counters (zero without a cache).
func (s *Tokens) CacheStats() TokenCacheStats {
	if s.cache == nil {
		return TokenCacheStats{}
	}
	return s.cache.stats()
}

// collectors export the cache's work: fieldgate_api_token_cache_lookups_total
// {result="hit|miss"} and fieldgate_api_token_cache_listening (1 while
// revocations reach the cache, 0 while it caches nothing). None without a
// cache.
func (s *Tokens) collectors() []prometheus.Collector {
	c := s.cache
	if c == nil {
		return nil
	}
	const lookups = "fieldgate_api_token_cache_lookups_total"
	const lookupsHelp = "API token checks answered from this process's cache (hit) or read from PostgreSQL (miss, unknown secrets included)."
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: lookups, Help: lookupsHelp, ConstLabels: prometheus.Labels{"result": "hit"}},
			func() float64 { return float64(c.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: lookups, Help: lookupsHelp, ConstLabels: prometheus.Labels{"result": "miss"}},
			func() float64 { return float64(c.misses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fieldgate_api_token_cache_listening",
			Help: "1 while the API token cache listens for revocations (and caches), 0 while it reads every token from PostgreSQL."},
			func() float64 {
				if c.stats().Live {
					return 1
				}
				return 0
			}),
	}
}
