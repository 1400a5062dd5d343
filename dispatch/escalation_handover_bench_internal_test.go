package dispatch

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// BenchmarkHandOverEscalationsIdle measures the hand-over every replica
// runs each second (handOverLoop) when nothing is due: 20,000 incidents,
// each with a step armed half an hour ahead. The raw floor in the same run
// is BenchmarkHandOverFloor, a transaction of one SELECT 1.
//
//	go test -run '^$' -bench 'HandOver' -benchtime 2000x ./dispatch/
func BenchmarkHandOverEscalationsIdle(b *testing.B) {
	pool := testsvc.Pool(b)
	ctx := context.Background()
	rules, err := routing.NewEngine(filepath.Join("..", "deploy", "demo", "rules.yaml"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Deps{Pool: pool, Rules: rules, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Config{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, priority, escalation_round, escalation_due_at, created_at, updated_at)
		SELECT gen_random_uuid(), 'bench-' || g, 'routed', 'tiefbau', 'normal', 1, now() + interval '30 minutes', now(), now()
		FROM generate_series(1, 20000) g`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE incidents`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if n, err := s.handOverEscalations(ctx); err != nil || n != 0 {
			b.Fatalf("handed over %d: %v", n, err)
		}
	}
}

func BenchmarkHandOverFloor(b *testing.B) {
	pool := testsvc.Pool(b)
	ctx := context.Background()
	var one int
	for b.Loop() {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT 1`).Scan(&one) }); err != nil {
			b.Fatal(err)
		}
	}
}
