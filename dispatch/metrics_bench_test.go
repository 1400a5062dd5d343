package dispatch_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// BenchmarkScrapeDatabaseGauges measures what one /metrics scrape costs
// for the gauges read from PostgreSQL (open incidents by team and state,
// the job queue by queue and state) with 2,000 open incidents and their
// 2,000 jobs waiting; BenchmarkScrapeFloor is the raw floor in the same
// run: the two round trips the collector makes, as SELECT 1.
//
//	go test -run '^$' -bench 'Scrape' -benchtime 200x ./dispatch/
func BenchmarkScrapeDatabaseGauges(b *testing.B) {
	pool := testsvc.Pool(b)
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: demoRules(b), Logger: discard()}, dispatch.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2000 {
		if _, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:bench",
			Text: "Last", Position: &dispatch.Position{Lat: 43 + float64(i)*0.001, Lon: 11.5}, PositionSource: dispatch.SourceAPI}); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(svc.Collectors()...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScrapeFloor(b *testing.B) {
	pool := testsvc.Pool(b)
	ctx := context.Background()
	var one int
	for b.Loop() {
		for range 2 {
			if err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
				b.Fatal(err)
			}
		}
	}
}
