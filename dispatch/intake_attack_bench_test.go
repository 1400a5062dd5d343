package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// BenchmarkPoolIntakeKeyCheck measures what the idempotency key's lock
// and check (the first two statements of an API intake batch with a
// client's key, queueKeyLock) add to a text report routed at intake: the
// same intake with a key and without one (no lock, no check), beside a
// floor of one INSERT round trip on the same pool. Sequential, so the
// figures are latencies.
//
//	go test -run '^$' -bench PoolIntakeKeyCheck -benchtime 400x ./dispatch/
func BenchmarkPoolIntakeKeyCheck(b *testing.B) {
	pool := testsvc.Pool(b)
	svc := newTestService(b, testServiceOptions{Pool: pool, Config: dispatch.Config{DuplicateDistance: -1}})
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = svc.Stop(sctx)
		cancel()
	})
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text)`); err != nil {
		b.Fatal(err)
	}
	n := 0
	intake := func(b *testing.B, keyed bool) {
		for b.Loop() {
			n++
			in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:bench", Text: "Schlagloch",
				Position: &dispatch.Position{Lat: 51.02 + float64(n%100)*0.0001, Lon: 7.59}, PositionSource: dispatch.SourceAPI}
			if keyed {
				in.IdempotencyKey = fmt.Sprintf("bench-%d", n)
			}
			if _, err := svc.Intake(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("floor-insert", func(b *testing.B) {
		for b.Loop() {
			if _, err := pool.Exec(ctx, `INSERT INTO bench_floor (body) VALUES ('Schlagloch')`); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text-without-key", func(b *testing.B) { intake(b, false) })
	b.Run("text-with-key", func(b *testing.B) { intake(b, true) })
}
