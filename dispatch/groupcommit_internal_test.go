package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// fakeSender records the batches sent to it (their first statement's
// SQL), blocks the first send until release is closed, and fails a
// batch containing a statement "fail".
type fakeSender struct {
	mu      sync.Mutex
	sent    [][]string
	release chan struct{}
	first   sync.Once
}

func (f *fakeSender) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	f.first.Do(func() { <-f.release })
	var sqls []string
	failed := false
	for _, q := range b.QueuedQueries {
		sqls = append(sqls, q.SQL)
		failed = failed || q.SQL == "fail"
	}
	f.mu.Lock()
	f.sent = append(f.sent, sqls)
	f.mu.Unlock()
	if failed {
		return fakeResults{err: &pgconn.PgError{Code: "23514", Message: "check violation"}}
	}
	return fakeResults{}
}

// fakeResults answers Close, the only method intakeGroup calls (through
// sendBatch); the embedded interface is nil.
type fakeResults struct {
	pgx.BatchResults
	err error
}

func (r fakeResults) Close() error { return r.err }

// TestIntakeGroupGathersWhileOneIsInFlight: while one batch is being
// sent, the intakes that arrive gather and go as one group; a group with
// a failing batch is sent again batch by batch, and only the failing
// intake gets an error.
func TestIntakeGroupGathersWhileOneIsInFlight(t *testing.T) {
	f := &fakeSender{release: make(chan struct{})}
	g := &batchGroup{q: f, timeout: time.Minute}
	ctx := context.Background()
	errs := make([]error, 6)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = g.send(ctx, batchOf("r0")) }()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	for i := 1; i < 6; i++ {
		sql := fmt.Sprintf("r%d", i)
		if i == 3 {
			sql = "fail"
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = g.send(ctx, batchOf(sql)) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 5 })
	close(f.release)
	wg.Wait()

	// r0 alone; then the five as one group, which fails; then each alone.
	if len(f.sent) != 7 || len(f.sent[0]) != 1 || len(f.sent[1]) != 5 {
		t.Fatalf("batches sent: %v; want r0, the group of five, then the five alone", f.sent)
	}
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Errorf("intake %d: error %v", i, err)
		}
	}
	var pe *pgconn.PgError
	if !errors.As(errs[3], &pe) {
		t.Errorf("the failing intake's error %v is not the server's", errs[3])
	}
	if g.busy || len(g.pending) != 0 {
		t.Errorf("group left busy %v with %d pending", g.busy, len(g.pending))
	}
}

// TestIntakeGroupCapsAGroup: no group holds more than maxGroupBatches
// batches; the rest go in the next one, and every intake is answered.
func TestIntakeGroupCapsAGroup(t *testing.T) {
	f := &fakeSender{release: make(chan struct{})}
	g := &batchGroup{q: f, timeout: time.Minute}
	ctx := context.Background()
	n := maxGroupBatches + 10
	var wg sync.WaitGroup
	var failed sync.Map
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.send(ctx, batchOf(fmt.Sprintf("r%d", i))); err != nil {
				failed.Store(i, err)
			}
		}()
		if i == 0 {
			waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
		}
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == n })
	close(f.release)
	wg.Wait()
	total := 0
	for _, b := range f.sent {
		if len(b) > maxGroupBatches {
			t.Errorf("a group of %d batches", len(b))
		}
		total += len(b)
	}
	if total != n+1 || len(f.sent) != 3 {
		t.Errorf("%d batches in %d sends, want %d in 3", total, len(f.sent), n+1)
	}
	failed.Range(func(k, v any) bool { t.Errorf("intake %v: %v", k, v); return true })
}

func batchOf(sql string) *pgx.Batch {
	var b pgx.Batch
	b.Queue(sql)
	return &b
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// panicSender panics on its first send, as a bug in a statement's result
// handling would.
type panicSender struct {
	fakeSender
	once sync.Once
}

func (p *panicSender) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	p.once.Do(func() { <-p.release; panic("boom") })
	return p.fakeSender.SendBatch(ctx, b)
}

// TestIntakeGroupSurvivesAPanickingSend: a group whose send panics
// answers its batches with an error and lets the next group go; intake
// does not stall.
func TestIntakeGroupSurvivesAPanickingSend(t *testing.T) {
	// One release for both waits: the panicking send's and fakeSender's.
	p := &panicSender{fakeSender: fakeSender{release: make(chan struct{})}}
	g := &batchGroup{q: p, timeout: time.Minute}
	ctx := context.Background()
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = g.send(ctx, batchOf("r0"))
	}()
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.busy })
	errs := make(chan error, 2)
	for i := 1; i <= 2; i++ {
		go func() { errs <- g.send(ctx, batchOf(fmt.Sprintf("r%d", i))) }()
	}
	waitUntil(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.pending) == 2 })
	close(p.release)
	if r := <-panicked; r == nil {
		t.Fatal("the panic was swallowed")
	}
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("a batch after the panicking group: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("intake stalled after a panicking group")
		}
	}
}
