package migrations

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// indexRepairLock is the session advisory lock under which one process at
// a time rebuilds invalid indexes (two would drop and build each other's).
const indexRepairLock int64 = 0x66676978 // "fgix"

// reindexLeftover matches the names REINDEX CONCURRENTLY gives the copies
// it builds and retires (<name>_ccnew, <name>_ccold, with a number when
// taken): an interrupted REINDEX leaves them INVALID beside the index it
// was rebuilding, so they are dropped, never built.
var reindexLeftover = regexp.MustCompile(`_cc(new|old)[0-9]*$`)

// rebuildInvalidIndexes finds the INVALID indexes of the current schema
// (pg_index.indisvalid false: a CREATE INDEX CONCURRENTLY that was
// interrupted, PostgreSQL 15 "CREATE INDEX", section "Building Indexes
// Concurrently") and rebuilds each: DROP INDEX CONCURRENTLY, then CREATE
// INDEX CONCURRENTLY from its own definition (pg_get_indexdef). An index
// that is being built right now (pg_stat_progress_create_index) is not
// touched. Without this, a migration's CREATE INDEX CONCURRENTLY IF NOT
// EXISTS run again after an interruption would find the invalid index,
// skip it, and the table would stay without a usable index for good.
//
// Each statement waits for locks as long as the pool's lock_timeout; a
// timeout (55P03) leaves the index invalid (or dropped) and Up's retry
// finds and rebuilds it again.
func rebuildInvalidIndexes(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("rebuild invalid indexes: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, indexRepairLock); err != nil {
		return fmt.Errorf("rebuild invalid indexes: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, indexRepairLock)
	}()
	rows, err := conn.Query(ctx, `
		SELECT c.relname, t.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = current_schema()
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
		ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("find invalid indexes: %w", err)
	}
	type invalid struct{ name, table, def string }
	var found []invalid
	var ix invalid
	if _, err := pgx.ForEachRow(rows, []any{&ix.name, &ix.table, &ix.def}, func() error {
		found = append(found, ix)
		return nil
	}); err != nil {
		return fmt.Errorf("find invalid indexes: %w", err)
	}
	for _, ix := range found {
		logger.Warn("an index is INVALID (an interrupted CREATE INDEX CONCURRENTLY or REINDEX); rebuilding it concurrently",
			"index", ix.name, "table", ix.table)
		if _, err := conn.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{ix.name}.Sanitize()); err != nil {
			return fmt.Errorf("drop invalid index %s: %w", ix.name, err)
		}
		if reindexLeftover.MatchString(ix.name) {
			continue
		}
		create, ok := concurrentDefinition(ix.def)
		if !ok {
			return fmt.Errorf("rebuild invalid index %s: unexpected definition %q", ix.name, ix.def)
		}
		if _, err := conn.Exec(ctx, create); err != nil {
			return fmt.Errorf("rebuild invalid index %s: %w", ix.name, err)
		}
		logger.Info("invalid index rebuilt", "index", ix.name, "table", ix.table)
	}
	return nil
}

// concurrentDefinition turns pg_get_indexdef's "CREATE [UNIQUE] INDEX name
// ON …" into the same statement with CONCURRENTLY.
func concurrentDefinition(def string) (string, bool) {
	for _, head := range []string{"CREATE INDEX ", "CREATE UNIQUE INDEX "} {
		if rest, ok := strings.CutPrefix(def, head); ok {
			return head + "CONCURRENTLY " + rest, true
		}
	}
	return "", false
}
