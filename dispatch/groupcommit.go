package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Group commit of new reports
//
// Every new report draws its case number from the year's counter row, and
// case numbers have no gaps, so each intake holds that row from its draw
// to its commit and the next one waits: under load the intakes queue at
// the counter, one commit after the other, each with its own round trip,
// statements, WAL record and wake-up of the next waiter. intakeGroup
// sends the batches of concurrent intakes that are their own
// transaction (insertRouted with the pool) as one batch, one implicit
// transaction: one commit, one holder of the counter row, for all of them.
// The records of direct room posts (recordDirectPost) are grouped the same
// way: one commit for the posts the rooms echoed meanwhile.
// While a group is in flight, the next intakes gather; the first of them
// sends the next group when the one before has ended (leader and
// followers, no goroutine of its own), so an idle system sends a report's
// batch at once and a busy one sends fewer, larger ones.
//
// All or nothing: when a group fails (one report's Idempotency-Key was
// used before, a constraint, a lost connection, a deadlock with a single
// batch), nothing of it is committed by the server, or, if the
// connection broke, possibly all of it; each batch is then sent again on
// its own, which gives each report the answer it would have had alone (a
// replay of a report the group did commit fails on its idempotency key
// and is answered from the stored report).

// maxGroupBatches bounds the batches of one group (its statements, the
// time the counter row is held by one transaction).
const maxGroupBatches = 64

// batchGroup gathers the batches of concurrent callers, each its own
// transaction, into groups (see above). timeout bounds each send.
type batchGroup struct {
	q       batchSender
	timeout time.Duration

	mu      sync.Mutex
	busy    bool // a group is being sent
	pending []*groupedBatch
}

// groupedBatch is one caller's batch waiting in a group.
type groupedBatch struct {
	b    *pgx.Batch
	done chan error    // its outcome
	lead chan struct{} // closed when it is to send the next group
}

// send sends b, its own transaction, alone or with the batches of other
// callers; its error is sendBatch's for b alone. It runs to its end,
// bounded by g.timeout (twice if its group fails and is sent again batch
// by batch), even if ctx ends: once sent, it may commit while
// its answer is lost.
func (g *batchGroup) send(ctx context.Context, b *pgx.Batch) error {
	me := &groupedBatch{b: b, done: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	if g.busy {
		g.pending = append(g.pending, me)
		g.mu.Unlock()
		select {
		case err := <-me.done:
			return err
		case <-me.lead:
		}
		g.mu.Lock()
	} else {
		g.busy = true
		g.pending = append(g.pending, me)
	}
	// This intake sends the group: those waiting now, itself among them.
	n := min(len(g.pending), maxGroupBatches)
	group := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	func() {
		defer g.passOn() // also if sendGroup panics: the others go on
		g.sendGroup(ctx, group)
	}()
	return <-me.done
}

// passOn lets the next waiting caller send the next group, or ends the
// busy time.
func (g *batchGroup) passOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead)
	} else {
		g.busy = false
	}
}

// errGroupAborted answers the batches of a group whose sender panicked.
var errGroupAborted = errors.New("dispatch: batch group aborted")

// sendGroup sends group as one transaction and tells each batch its
// outcome; if the group fails, each batch is sent again alone. If it
// panics, the batches not yet answered get errGroupAborted (whether they
// committed is unknown) and the panic goes on.
func (g *batchGroup) sendGroup(ctx context.Context, group []*groupedBatch) {
	answered := 0
	defer func() {
		for _, gb := range group[answered:] {
			gb.done <- errGroupAborted
		}
	}()
	if len(group) == 1 {
		group[0].done <- g.sendOne(ctx, group[0].b)
		answered = 1
		return
	}
	// Copies of the queued statements: pgx notes on a queued statement
	// the prepared statement of the connection that sent it, and a batch
	// sent again alone may go over another connection.
	var all pgx.Batch
	all.QueuedQueries = groupQueries(group)
	err := g.sendOne(ctx, &all)
	if err == nil {
		for _, gb := range group {
			gb.done <- nil
		}
		answered = len(group)
		return
	}
	// Rolled back by the server, or (the connection broke, the timeout)
	// possibly committed: then a batch's replay may be the group's own
	// commit of it, and its caller must not take it for rolled back.
	unknown := !batchRolledBack(err)
	// The re-sends share one timeout: each with its own, one after the
	// other, the last caller of a group stuck on a lock would wait for
	// them all (65 timeouts), and every intake arriving meanwhile too.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()
	for _, gb := range group {
		err := sendBatch(rctx, g.q, gb.b)
		if unknown && errors.Is(err, errReplay) {
			err = fmt.Errorf("%w (%w)", errReplay, errMaybeStoredByGroup)
		}
		gb.done <- err
		answered++
	}
}

// errMaybeStoredByGroup marks the replay of a batch whose group failed
// with its outcome unknown: the key may be the batch's own, stored by the
// group (batchRolledBack is false for it).
var errMaybeStoredByGroup = errors.New("dispatch: its group may have stored it")

// sendOne sends b as one implicit transaction, bounded by g.timeout.
func (g *batchGroup) sendOne(ctx context.Context, b *pgx.Batch) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()
	return sendBatch(ctx, g.q, b)
}

// groupQueries is the statements of group's batches, copied, in their
// order, except that the idempotency keys' locks and checks
// (queueKeyLock) come first, in the order of their keys. Alone, a batch
// takes its key's lock before it draws the case number, so it never holds
// the counter row while it waits for a key that a transaction intake
// holds while it waits for the counter row; in a group, the batch before
// it would already hold the counter row: a deadlock, broken by PostgreSQL
// only after deadlock_timeout. In the order of their keys, two groups
// (two replicas) take their keys' locks without waiting for each other in
// a cycle.
func groupQueries(group []*groupedBatch) []*pgx.QueuedQuery {
	type keyLock struct {
		key         string
		lock, check *pgx.QueuedQuery
	}
	var locks []keyLock
	var rest []*pgx.QueuedQuery
	for _, gb := range group {
		qs := gb.b.QueuedQueries
		for i := 0; i < len(qs); i++ {
			cp := *qs[i]
			if cp.SQL == keyLockSQL && i+1 < len(qs) && qs[i+1].SQL == keyCheckSQL && len(cp.Arguments) == 1 {
				check := *qs[i+1]
				locks = append(locks, keyLock{key: fmt.Sprint(cp.Arguments[0]), lock: &cp, check: &check})
				i++
				continue
			}
			rest = append(rest, &cp)
		}
	}
	slices.SortStableFunc(locks, func(a, b keyLock) int { return strings.Compare(a.key, b.key) })
	all := make([]*pgx.QueuedQuery, 0, 2*len(locks)+len(rest))
	for _, l := range locks {
		all = append(all, l.lock, l.check)
	}
	return append(all, rest...)
}
