package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/routing"
)

// runMediaSweep is `fieldgate media sweep [--dry-run] [--grace 1h]`:
// delete (or only list) the objects under orig/ and team/ older than the
// grace period that no report references. The server runs the same sweep
// as a periodic job.
func runMediaSweep(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dryRun bool
	var grace time.Duration
	cfg, _, err := commonFlags("media sweep", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "only count and list the orphans")
		fs.DurationVar(&grace, "grace", time.Hour, "only judge objects older than this (an upload in flight is younger)")
	})
	if err != nil {
		return err
	}
	if grace < time.Minute {
		return fmt.Errorf("--grace %v: at least 1m, or uploads in flight would be deleted", grace)
	}
	log := newLogger(cfg, stderr)
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := openMediaStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Media: store, Rules: noRules{}, Logger: log},
		dispatch.Config{Sweep: dispatch.SweepConfig{Grace: grace, Interval: -1}})
	if err != nil {
		return err
	}
	res, err := svc.SweepOrphans(ctx, dryRun)
	for _, k := range res.Examples {
		fmt.Fprintf(stdout, "orphan\t%s\n", k)
	}
	if dryRun {
		fmt.Fprintf(stdout, "checked %d objects older than %v: %d orphans, would delete %d\n", res.Checked, grace, res.Orphans, res.Orphans)
	} else {
		fmt.Fprintf(stdout, "checked %d objects older than %v: %d orphans, deleted %d\n", res.Checked, grace, res.Orphans, res.Deleted)
	}
	return err
}

// noRules stands in for the rules engine in commands that never route.
type noRules struct{}

func (noRules) Current() *routing.RuleSet { return nil }
