package gateway

import (
	"context"
	"sync"
	"time"
)

// senderQueues hands incoming stanzas to handlers so that one sender's
// stanzas are handled one at a time, in the order they arrived (the parts
// of a report must not overtake each other: a caption sent right after a
// photo joins the photo's case, see dispatch/group.go), while different
// senders are handled in parallel. A sender whose attachment download is
// slow therefore holds up only its own later stanzas, never another
// sender's.
//
// Bounds: at most workers senders are handled at once (the others wait
// for a free slot, in no particular order), at most perSender stanzas wait
// per sender and at most total stanzas wait in all; a stanza beyond a bound
// is refused (submit reports false) and the caller drops it.
type senderQueues struct {
	handle    func(context.Context, any)
	slots     chan struct{} // one per sender being handled
	perSender int
	total     int

	mu      sync.Mutex
	pending map[string][]any // sender → stanzas waiting; present while a goroutine runs for it
	waiting int              // stanzas in pending
	wg      sync.WaitGroup
}

// newSenderQueues returns queues that call handle for every stanza;
// workers, perSender and total are the bounds described on senderQueues
// (each at least 1).
func newSenderQueues(workers, perSender, total int, handle func(context.Context, any)) *senderQueues {
	return &senderQueues{
		handle:    handle,
		slots:     make(chan struct{}, max(workers, 1)),
		perSender: max(perSender, 1),
		total:     max(total, 1),
		pending:   map[string][]any{},
	}
}

// submit queues v for sender. It reports false, and queues nothing, when
// a bound is reached. The handler runs with ctx; once ctx ends, stanzas
// not yet handled are dropped.
func (q *senderQueues) submit(ctx context.Context, sender string, v any) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting >= q.total {
		return false
	}
	waiting, running := q.pending[sender]
	if running && len(waiting) >= q.perSender {
		return false
	}
	q.pending[sender] = append(waiting, v)
	q.waiting++
	if !running {
		q.wg.Add(1)
		go q.run(ctx, sender)
	}
	return true
}

// run handles sender's stanzas until none is left, holding one slot.
func (q *senderQueues) run(ctx context.Context, sender string) {
	defer q.wg.Done()
	select {
	case q.slots <- struct{}{}:
		defer func() { <-q.slots }()
	case <-ctx.Done():
		q.drop(sender)
		return
	}
	for {
		q.mu.Lock()
		waiting := q.pending[sender]
		if len(waiting) == 0 || ctx.Err() != nil {
			q.waiting -= len(waiting)
			delete(q.pending, sender)
			q.mu.Unlock()
			return
		}
		v := waiting[0]
		waiting[0] = nil
		q.pending[sender] = waiting[1:]
		q.waiting--
		q.mu.Unlock()
		q.handle(ctx, v)
	}
}

// drop forgets what waits for sender.
func (q *senderQueues) drop(sender string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting -= len(q.pending[sender])
	delete(q.pending, sender)
}

// wait blocks until every goroutine started by submit has returned.
func (q *senderQueues) wait() { q.wg.Wait() }

// waitIdle waits until no stanza is waiting or being handled, at most
// timeout (checked every 20 ms); it reports whether the queues are idle.
// Unlike wait it may run while stanzas are still submitted.
func (q *senderQueues) waitIdle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		q.mu.Lock()
		idle := len(q.pending) == 0
		q.mu.Unlock()
		if idle {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
