package dispatch_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// gatedMedia is a slowMedia whose team copies from bytes in hand wait
// until gate is closed, then fail with fail (nil: succeed): prepared work
// that is stuck behind busy decode slots, as under load.
type gatedMedia struct {
	slowMedia
	gate chan struct{}
	fail error
}

func (g *gatedMedia) MakeDerivativeFrom(ctx context.Context, obj media.Object, md media.Metadata, src []byte) (media.Derivative, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return media.Derivative{}, ctx.Err()
	}
	if g.fail != nil {
		return media.Derivative{}, g.fail
	}
	return g.slowMedia.MakeDerivative(ctx, obj, md)
}

func newGatedService(t *testing.T, fail error) (*dispatch.Service, *gatedMedia) {
	t.Helper()
	gm := &gatedMedia{slowMedia: slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }},
		gate: make(chan struct{}), fail: fail}
	svc := newTestService(t, testServiceOptions{Pool: testsvc.Pool(t), Media: gm})
	return svc, gm
}

func attackObject() media.Object {
	return media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1}
}

// TestHeldBytesStayInOriginalsBudget: while the prepared work of earlier
// uploads fills the memory budget for originals (OriginalsBudget), further
// uploads must not be held in memory outside it: each concurrent request
// would otherwise pin up to MaxHeldPerReport until its body ends, so a
// client with many slow requests could make the process hold unbounded
// memory. Once the stuck work ends (here: it fails), the budget is free
// again.
func TestHeldBytesStayInOriginalsBudget(t *testing.T) {
	svc, gm := newGatedService(t, errors.New("team copy failed"))
	photo := make([]byte, dispatch.MaxHeldPerReport)
	filling := make([]*dispatch.NewReport, dispatch.OriginalsBudget/dispatch.MaxHeldPerReport)
	for i := range filling {
		in := &dispatch.NewReport{}
		svc.HoldMedium(in, attackObject(), photo)
		if len(in.Prepared) != 1 {
			t.Fatalf("upload %d within the budget was not prepared", i)
		}
		filling[i] = in
	}
	for range 8 {
		in := &dispatch.NewReport{}
		svc.HoldMedium(in, attackObject(), photo)
		if len(in.Prepared) != 0 || in.HeldRoom() != dispatch.MaxHeldPerReport {
			t.Fatal("an upload was held although the budget was full")
		}
	}

	close(gm.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, in := range filling {
		if out := in.PreparedOutputs(ctx); len(out) != 0 {
			t.Errorf("a failed team copy has outputs %v", out)
		}
	}
	in := &dispatch.NewReport{}
	svc.HoldMedium(in, attackObject(), photo)
	if len(in.Prepared) != 1 {
		t.Error("the budget was not released by prepared work that failed")
	}
	_ = in.PreparedOutputs(ctx)
}

// TestPreparedSmallAttachmentsBounded: many tiny attachments (the budget
// counts bytes) must not start an unbounded number of prepared works, each
// a goroutine waiting for a decode slot.
func TestPreparedSmallAttachmentsBounded(t *testing.T) {
	svc, gm := newGatedService(t, nil)
	before := runtime.NumGoroutine()
	tiny := make([]byte, media.SniffLen)
	var prepared []*dispatch.PreparedMedium
	for range 20000 {
		if p := svc.PrepareMedium(attackObject(), tiny); p != nil {
			prepared = append(prepared, p)
		}
	}
	grown := runtime.NumGoroutine() - before
	close(gm.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range prepared {
		_ = p.Outputs(ctx) // a refused report's cleanup
	}
	const bound = 2048
	if len(prepared) > bound || grown > bound {
		t.Errorf("20000 tiny attachments: %d prepared at once (%d goroutines), want at most %d", len(prepared), grown, bound)
	}
	if len(prepared) == 0 {
		t.Error("no tiny attachment was prepared")
	}
}

// TestRefusedReportStopsPreparedWork: a report that is not accepted stops
// its attachments' prepared work: team copies still waiting for a decode
// slot are not made for nothing, the refusal is answered at once instead
// of after them, and their memory budget is free again.
func TestRefusedReportStopsPreparedWork(t *testing.T) {
	svc, _ := newGatedService(t, nil) // the gate stays shut: no decode slot
	photo := make([]byte, dispatch.MaxHeldPerReport)
	var refused []*dispatch.NewReport
	for range dispatch.OriginalsBudget / dispatch.MaxHeldPerReport {
		in := &dispatch.NewReport{}
		svc.HoldMedium(in, attackObject(), photo)
		if len(in.Prepared) != 1 {
			t.Fatal("an upload within the budget was not prepared")
		}
		refused = append(refused, in)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	for _, in := range refused {
		if out := in.PreparedOutputs(ctx); len(out) != 0 {
			t.Errorf("a stopped team copy has outputs %v", out)
		}
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("discarding the refused reports' prepared work took %v: it waited for team copies nobody wants", took)
	}
	waitForBudget := time.Now().Add(5 * time.Second)
	for {
		in := &dispatch.NewReport{}
		svc.HoldMedium(in, attackObject(), photo)
		if len(in.Prepared) == 1 {
			_ = in.PreparedOutputs(ctx)
			break
		}
		if time.Now().After(waitForBudget) {
			t.Fatal("the budget of the refused reports' prepared work was not released")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
