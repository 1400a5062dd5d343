package dispatch

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HoldCaseCounter is holdCaseCounter for the external tests (package
// dispatch_test).
var HoldCaseCounter = holdCaseCounter

// HoldSenderLock takes the lock a messenger intake takes on the sender's
// messages to address (intakeTx) until release is called; waiting counts
// the intakes waiting for it.
func HoldSenderLock(t *testing.T, s *Service, sender, address string) (release func(), waiting func() int) {
	t.Helper()
	ctx := context.Background()
	pool := s.pool
	key := senderLockKey(&NewReport{Channel: ChannelXMPP, Sender: sender, Address: address})
	release = holdInTx(t, pool, senderLockSQL, key)
	waiting = func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return release, waiting
}

// holdInTx runs sql with args in a transaction that holds what it locks
// until release (or the test's end) commits it.
func holdInTx(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Commit(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(release)
	return release
}
