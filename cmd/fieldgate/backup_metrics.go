package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// recordBackup notes a verified backup in backup_runs (migrations 00021,
// 00023), at the database's clock, with the number of old backups beyond
// --keep it could not delete, for backupCollector; rows older than 400
// days go.
func recordBackup(ctx context.Context, pool *pgxpool.Pool, m *backupManifest, pruneFailures int) error {
	_, err := pool.Exec(ctx, `
		WITH old AS (DELETE FROM backup_runs WHERE finished_at < now() - interval '400 days')
		INSERT INTO backup_runs (finished_at, schema_version, database_bytes, objects, prune_failures) VALUES (now(), $1, $2, $3, $4)`,
		m.SchemaVersion, m.Database.Bytes, len(m.Objects), pruneFailures)
	if err != nil {
		return fmt.Errorf("record the backup for monitoring: %w", err)
	}
	return nil
}

var descBackupLastSuccess = prometheus.NewDesc("fieldgate_backup_last_success_timestamp_seconds",
	"When the newest backup that `fieldgate backup` wrote and verified finished (Unix time, seconds; 0 if none is recorded). Read from the database at scrape time.",
	nil, nil)

var descBackupPruneFailures = prometheus.NewDesc("fieldgate_backup_prune_failures",
	"How many old backups beyond --keep the newest backup could not delete (0 if none is recorded); they still hold personal data. The reason is in the backup's log. Read from the database at scrape time.",
	nil, nil)

// backupCollector exports fieldgate_backup_last_success_timestamp_seconds
// and fieldgate_backup_prune_failures,
// so that an alert (deploy/monitoring/alerts.yaml, FieldgateBackupMissing)
// notices backups that stopped: the nightly backup is a command started by
// a timer, and its failures are seen by nobody.
type backupCollector struct {
	db interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}
	log *slog.Logger
}

func (c backupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBackupLastSuccess
	ch <- descBackupPruneFailures
}

func (c backupCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var ts, pruneFailures float64
	if err := c.db.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM max(finished_at)), 0)::float8,
		coalesce((SELECT prune_failures FROM backup_runs ORDER BY finished_at DESC, id DESC LIMIT 1), 0)::float8
		FROM backup_runs`).Scan(&ts, &pruneFailures); err != nil {
		// fieldgate_metrics_database_up (dispatch) tells that the database
		// cannot be read; no value here rather than a wrong one.
		c.log.Warn("metrics: cannot read the last backup's time", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descBackupLastSuccess, prometheus.GaugeValue, ts)
	ch <- prometheus.MustNewConstMetric(descBackupPruneFailures, prometheus.GaugeValue, pruneFailures)
}
