package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
)

// categoryPeriods is a repeatable --category NAME=DURATION flag.
type categoryPeriods map[string]time.Duration

func (c categoryPeriods) String() string { return fmt.Sprint(map[string]time.Duration(c)) }

func (c categoryPeriods) Set(v string) error {
	name, dur, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=DURATION, e.g. strasse=365d")
	}
	d, err := parseRetentionPeriod(dur)
	if err != nil {
		return err
	}
	c[name] = d
	return nil
}

// parseRetentionPeriod reads a retention period flag: a duration as
// time.ParseDuration reads it, or whole or decimal days ("180d"). It must
// be at least one day, as retention.days and retention.category_days
// must (validateRetention): a period of 0 or less deletes a case as soon
// as it is closed, and "180m" is 180 minutes, not months.
func parseRetentionPeriod(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n := len(s); n > 1 && s[n-1] == 'd' {
		d, err = time.ParseDuration(s[:n-1] + "h")
		d *= 24
	}
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 180d: %w", err)
	}
	if d < 24*time.Hour {
		return 0, fmt.Errorf("%q is less than a day; a retention period is at least one day, e.g. 180d (leave a category out for the default)", s)
	}
	return d, nil
}

// runRetention is `fieldgate retention run [--dry-run]`: delete (or list)
// closed incidents past their retention period with their reports, media
// and personal data, keeping anonymous statistics.
func runRetention(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, "usage: fieldgate retention run [--dry-run] [--period 180d] [--category NAME=DURATION]… [--config FILE]")
		return exitError{2}
	}
	var dryRun bool
	var period time.Duration
	cats := categoryPeriods{}
	cfg, _, err := commonFlags("retention run", args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "only list what would be deleted")
		fs.Func("period", "retention period of categories not given with --category, at least 1d (default: retention.days from the config, else 180d)",
			func(v string) (err error) {
				period, err = parseRetentionPeriod(v)
				return err
			})
		fs.Var(cats, "category", "retention period of one category, NAME=DURATION, at least 1d (repeatable)")
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}
	// The config's retention periods, overridden by the flags.
	ret := dispatchConfig(cfg, loc).Retention
	if period > 0 {
		ret.Default = period
	}
	if len(cats) > 0 && ret.Categories == nil {
		ret.Categories = map[string]time.Duration{}
	}
	for c, d := range cats {
		ret.Categories[c] = d
	}
	pool, err := openCheckedPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := openMediaStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	res, err := dispatch.NewRetention(pool, store, ret, nil, log).Run(ctx, dryRun)
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	for _, inc := range res.Incidents {
		fmt.Fprintf(stdout, "%s %s\t%s\tteam=%s category=%s last change %s\treports=%d media objects=%d\n", verb, inc.CaseNumber,
			inc.State, inc.Team, inc.Category, inc.UpdatedAt.In(loc).Format("2006-01-02"), inc.Reports, len(inc.Media))
		if dryRun {
			for _, k := range inc.Media {
				fmt.Fprintf(stdout, "\t%s\n", k)
			}
		}
	}
	fmt.Fprintf(stdout, "%s %d incidents, %d media objects, %d senders' language choices, %d expired console sign-ins, %d unsent messages older than a day\n", verb,
		len(res.Incidents), res.Objects(), res.SenderLanguages, res.ConsoleSignIns, res.UnsentMessages)
	if errors.Is(err, dispatch.ErrBackupRunning) {
		return fmt.Errorf("%w (fieldgate backup): the rest waits; run this again when it has finished", err)
	}
	return err
}
