package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// retryNowBatch bounds how many waiting jobs one call makes due; a larger
// backlog is worked off by the jobs' own backoff (or the next call).
const retryNowBatch = 1000

// RetryRoomPosts makes the room_post jobs for room (a bare room JID) that
// wait out a retry backoff due at once, because the room became usable
// again. It returns how many it made due. Only jobs that wait for a retry
// (waitingRetry) are touched, locked while they are moved, so a job that
// runs, ran or was discarded meanwhile is left alone; a retried post
// still looks in the room's archive for its origin-id before it is sent
// (roomPostWorker), so exactly-once holds.
func (s *Service) RetryRoomPosts(ctx context.Context, room string) (int, error) {
	return s.retryWaiting(ctx, `SELECT id FROM river_job
		WHERE `+waitingRetry+` AND queue = $1 AND kind = $2 AND args->>'room' = $3
		ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED`,
		queueXMPP, roomPostArgs{}.Kind(), strings.ToLower(room), retryNowBatch)
}

// RetryXMPPQueue makes every job of the xmpp queue (room posts,
// corrections, 1:1 messages) that waits out a retry backoff due at once,
// because the component connection is up again. It returns how many it
// made due. Each kind's worker keeps its own check for an earlier delivery
// before it sends again.
func (s *Service) RetryXMPPQueue(ctx context.Context) (int, error) {
	return s.retryWaiting(ctx, `SELECT id FROM river_job
		WHERE `+waitingRetry+` AND queue = $1
		ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, queueXMPP, retryNowBatch)
}

// waitingRetry selects jobs that failed and wait for their next attempt:
// river marks them "retryable", or "available" with a scheduled_at in the
// future when the retry is due within its scheduler's interval. A job
// inserted to run later is "scheduled" and not touched (the fallback of a
// direct post, an escalation timer).
const waitingRetry = `attempt > 0 AND (state = 'retryable' OR (state = 'available' AND scheduled_at > now()))`

// retryWaiting locks the jobs that query selects and makes them available
// now with river's JobRetryTx, in one transaction.
func (s *Service) retryWaiting(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("list waiting jobs: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("list waiting jobs: %w", err)
		}
		for _, id := range ids {
			if _, err := s.queue.JobRetryTx(ctx, tx, id); err != nil {
				return fmt.Errorf("retry job %d: %w", id, err)
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
