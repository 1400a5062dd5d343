package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Hand-overs
//
// Four things a process commits and then finishes itself have no queue
// job while it does: a direct room post (deliver.go), a direct 1:1
// message (outbox.go), a photo report's direct processing (direct.go)
// and an incident's first escalation step (escalation_handover.go). Each carries on its row the time after which
// any replica hands it to the queue, exactly once (FOR UPDATE SKIP LOCKED,
// the time cleared in the transaction that queues the job). handOverLoop
// does that in every replica, in a loop of its own: a replica whose worker
// lease cannot be renewed (its lease connection fails, the lease table is
// locked) still hands over, as its queue keeps working jobs.

// handOverInterval is how often a replica hands over; the hand-over times
// are seconds (posts 10 s, processing 15 s) to a minute (escalation steps)
// ahead, so this only needs to be well below that.
const handOverInterval = time.Second

// handOverLoop hands over every handOverInterval (or LeaseRenewInterval,
// if shorter) until ctx ends.
func (s *Service) handOverLoop(ctx context.Context) {
	tick := time.NewTicker(min(handOverInterval, s.cfg.LeaseRenewInterval))
	defer tick.Stop()
	for {
		if _, err := s.handOverPosts(ctx, ""); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "handing room posts to the queue failed", "err", err)
		}
		if _, err := s.handOverProcessing(ctx, uuid.Nil); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "handing reports to the queue failed", "err", err)
		}
		if _, err := s.handOverEscalations(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "handing escalation steps to the queue failed", "err", err)
		}
		if _, err := s.handOverChats(ctx, nil); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "handing chat messages to the queue failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// handOverRows is one hand-over: in one transaction, claim (an UPDATE …
// RETURNING that clears the hand-over time of the rows it hands over,
// FOR UPDATE SKIP LOCKED where it picks due rows) with args, and a queue
// job for each row it returns, made by job from the row. what names the
// rows in errors ("room posts"). It returns how many jobs it queued.
func (s *Service) handOverRows(ctx context.Context, what, claim string, args []any, job pgx.RowToFunc[river.InsertManyParams]) (int, error) {
	var n int
	err := s.withTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, claim, args...)
		if err != nil {
			return fmt.Errorf("hand over %s: %w", what, err)
		}
		params, err := pgx.CollectRows(rows, job)
		if err != nil {
			return fmt.Errorf("hand over %s: %w", what, err)
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := s.queue.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue handed-over %s: %w", what, err)
		}
		n = len(params)
		return nil
	})
	return n, err
}
