package dispatch

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/internal/msg"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Roles an API token can hold.
const (
	RoleReporter   = "reporter"   // may file reports and read its own
	RoleDispatcher = "dispatcher" // may read and act on every incident
	RoleMetrics    = "metrics"    // may read /metrics only
)

// Token is an authenticated API client.
type Token struct {
	Name  string
	Roles []string
	// Addresses are the function addresses (local parts) it may file
	// reports to; "*" means all. Empty: only public addresses.
	Addresses []string
}

// AllAddresses in Token.Addresses lets a token file to every address.
const AllAddresses = "*"

// Has reports whether the token holds role.
func (t Token) Has(role string) bool { return slices.Contains(t.Roles, role) }

// Teams returns the teams of the token's team:<id> roles.
func (t Token) Teams() []string {
	var out []string
	for _, r := range t.Roles {
		if id, ok := strings.CutPrefix(r, "team:"); ok {
			out = append(out, id)
		}
	}
	return out
}

// MayFileTo reports whether the token may file a report to the address
// named address whose allow-list is public (routing.Address.Allows("")):
// dispatchers and "*" tokens everywhere, others to the addresses they
// name and to public ones.
func (t Token) MayFileTo(address string, public bool) bool {
	if t.Has(RoleDispatcher) || slices.Contains(t.Addresses, AllAddresses) {
		return true
	}
	return public || slices.ContainsFunc(t.Addresses, func(a string) bool { return strings.EqualFold(a, address) })
}

// Sender is how reports filed with this token name their sender.
func (t Token) Sender() string { return "token:" + t.Name }

const tokenPrefix = "fg_"

// Tokens creates, revokes and checks API tokens. It needs only the
// database and a clock, so `fieldgate token` uses it without a Service.
// With WithCache and Watch it keeps authenticated tokens in memory
// (tokencache.go).
type Tokens struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	log   *slog.Logger
	cfg   TokenCacheConfig
	cache *tokenCache // nil: every Authenticate reads the database
}

// NewTokens returns the token store on pool; now is the clock (nil =
// time.Now). It caches nothing.
func NewTokens(pool *pgxpool.Pool, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{pool: pool, now: func() time.Time { return now().UTC() }, log: slog.Default()}
}

// WithCache returns the store with an in-process cache of authenticated
// tokens (see TokenCacheConfig), logging to log (nil = slog.Default()).
// The cache is used only while Watch runs; a negative cfg.MaxAge returns
// the store without one.
func (s *Tokens) WithCache(cfg TokenCacheConfig, log *slog.Logger) *Tokens {
	if cfg.MaxAge < 0 {
		return s
	}
	cfg = cfg.withDefaults()
	return &Tokens{pool: s.pool, now: s.now, log: cmp.Or(log, s.log), cfg: cfg, cache: newTokenCache(cfg)}
}

// tokens is the service's token store, with the cache that WatchTokens
// keeps in step.
func (s *Service) tokens() *Tokens { return s.tok }

// WatchTokens runs the service's token cache until ctx ends (Tokens.Watch).
// Until it runs, every request's token is read from the database.
func (s *Service) WatchTokens(ctx context.Context) error { return s.tok.Watch(ctx) }

// TokenCacheStats reports the service's token cache counters.
func (s *Service) TokenCacheStats() TokenCacheStats { return s.tok.CacheStats() }

// CreateToken stores a new token and returns its secret (Tokens.Create).
func (s *Service) CreateToken(ctx context.Context, name string, roles []string, ttl time.Duration, secret string) (string, error) {
	return s.tokens().Create(ctx, name, roles, ttl, secret)
}

// CreateScopedToken stores a token with the addresses it may file to
// (Tokens.CreateScoped).
func (s *Service) CreateScopedToken(ctx context.Context, spec TokenSpec) (string, error) {
	return s.tokens().CreateScoped(ctx, spec)
}

// RevokeToken disables a token by name (Tokens.Revoke).
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	return s.tokens().Revoke(ctx, name)
}

// TokenActive reports whether a token of this name is neither revoked nor
// expired: a console session signed in with an API token lasts only as
// long as the token (api/console asks on each request of such a session).
func (s *Service) TokenActive(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens
		WHERE name = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2))`, name, s.now()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("token active: %w", err)
	}
	return ok, nil
}

// Authenticate returns the token for a presented secret (Tokens.Authenticate).
func (s *Service) Authenticate(ctx context.Context, secret string) (Token, error) {
	return s.tokens().Authenticate(ctx, secret)
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	Name  string
	Roles []string // reporter, dispatcher, metrics, team:<id>
	// Addresses it may file to (local parts, or "*"); empty = public only.
	Addresses []string
	TTL       time.Duration // 0 = no expiry
	Secret    string        // "" = generate
}

// Create stores a new token that may file to public addresses only
// (CreateScoped without addresses).
func (s *Tokens) Create(ctx context.Context, name string, roles []string, ttl time.Duration, secret string) (string, error) {
	return s.CreateScoped(ctx, TokenSpec{Name: name, Roles: roles, TTL: ttl, Secret: secret})
}

// CreateScoped stores a new token and returns its secret, which is shown
// once: only its SHA-256 is kept. spec.Secret may be given (e.g. a fixed
// dev token); empty generates 32 random bytes. Errors: ErrInvalid for a
// bad name, role, address or secret; ErrConflict for a name in use.
func (s *Tokens) CreateScoped(ctx context.Context, spec TokenSpec) (string, error) {
	name, roles, ttl, secret := spec.Name, spec.Roles, spec.TTL, spec.Secret
	addrs := make([]string, 0, len(spec.Addresses))
	for _, a := range spec.Addresses {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			continue
		}
		if a != AllAddresses && strings.ContainsAny(a, "@/ \t:") {
			return "", newError(ErrInvalid, func(ts msg.Texts) string { return ts.TokenAddress(a) })
		}
		addrs = append(addrs, a)
	}
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\n:") {
		return "", newError(ErrInvalid, msg.Texts.TokenName)
	}
	for _, r := range roles {
		team, isTeam := strings.CutPrefix(r, "team:")
		// "team:" alone (--role "team:$TEAM" with TEAM unset) names no team.
		if (r != RoleReporter && r != RoleDispatcher && r != RoleMetrics && !isTeam) || (isTeam && strings.TrimSpace(team) == "") {
			return "", newError(ErrInvalid, func(ts msg.Texts) string { return ts.TokenRole(r) })
		}
	}
	if len(roles) == 0 {
		return "", newError(ErrInvalid, msg.Texts.TokenNoRole)
	}
	if secret == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	} else if len(secret) < 24 {
		return "", newError(ErrInvalid, func(ts msg.Texts) string { return ts.TokenSecretShort(24) })
	}
	sum := sha256.Sum256([]byte(secret))
	var expires *time.Time
	if ttl > 0 {
		e := s.now().Add(ttl)
		expires = &e
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, name, hash, roles, addresses, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		mustV7(), name, sum[:], roles, addrs, s.now(), expires)
	if isUniqueViolation(err) {
		return "", newError(ErrConflict, func(ts msg.Texts) string { return ts.TokenExists(name) })
	}
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return secret, nil
}

// Revoke disables a token by name; ErrNotFound when there is no active
// one. The api_tokens trigger (migration 00015) announces it on commit, so
// every process's cache forgets the token at once (Watch); this process's
// own cache forgets it before Revoke returns.
func (s *Tokens) Revoke(ctx context.Context, name string) error {
	rows, err := s.pool.Query(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING hash`, name, s.now())
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if len(hashes) == 0 {
		return newError(ErrNotFound, func(ts msg.Texts) string { return ts.TokenNotFound(name) })
	}
	if s.cache != nil {
		for _, h := range hashes {
			s.cache.notified(hex.EncodeToString(h))
		}
	}
	return nil
}

// Authenticate returns the token for a presented secret; ErrForbidden for
// a missing, unknown, expired or revoked one. With a cache (WithCache,
// while Watch runs) a token that authenticated within the cache's MaxAge
// and has not expired since is answered from memory; everything else,
// unknown secrets included, is read from the database as without one.
func (s *Tokens) Authenticate(ctx context.Context, secret string) (Token, error) {
	if secret == "" {
		return Token{}, newError(ErrForbidden, msg.Texts.TokenMissing)
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	var gen uint64
	cacheable := false
	if s.cache != nil {
		if t, ok := s.cache.get(sum, now); ok {
			return t, nil
		}
		gen, cacheable = s.cache.begin()
	}
	var t Token
	var expires *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT name, roles, addresses, expires_at FROM api_tokens
		WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
		sum[:], now).Scan(&t.Name, &t.Roles, &t.Addresses, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, newError(ErrForbidden, msg.Texts.TokenInvalid)
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	if cacheable {
		e := cachedToken{tok: t.clone(), readAt: now}
		if expires != nil {
			e.expires = *expires
		}
		s.cache.put(sum, gen, e)
	}
	return t, nil
}

// Replay returns the receipt of an earlier report with the same
// idempotency key, or ErrNotFound.
func (s *Service) Replay(ctx context.Context, channel, sender, key string) (Receipt, error) {
	return s.findByIdempotencyKey(ctx, s.pool, NewReport{Channel: channel, Sender: sender, IdempotencyKey: key})
}
