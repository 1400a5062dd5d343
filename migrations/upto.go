package migrations

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// UpTo applies the application's migrations up to and including version,
// and all of river's: the schema of an earlier release. Upgrade tests use
// it to build the previous release's database; operators never need it.
func UpTo(ctx context.Context, pool *pgxpool.Pool, version int64, logger *slog.Logger) error {
	p, db, err := provider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	results, err := p.UpTo(ctx, version)
	if err != nil {
		return fmt.Errorf("apply migrations up to %d: %w", version, err)
	}
	for _, r := range results {
		logger.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	return upRiver(ctx, pool, logger)
}
