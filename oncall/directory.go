package oncall

// The in-memory directory of imported calendars.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fieldgate/fieldgate/routing"
)

// DirectoryConfig configures a Directory. Zero values take the defaults.
type DirectoryConfig struct {
	// Fetcher loads https calendars. Default NewFetcher(FetchConfig{}).
	Fetcher *Fetcher
	// TTL: a loaded calendar is reloaded after this long. Default 15m.
	TTL time.Duration
	// RetryAfter: after a failed load, the next attempt waits this long;
	// it is also how often Run looks for due calendars. Default 1m.
	RetryAfter time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets load failures. Default slog.Default().
	Logger *slog.Logger
}

// Directory answers "who is on call" from memory: the schedules of the
// rules in force plus the calendars they import, which Refresh (called by
// Run in a loop of its own) loads. Lookups never load or fetch anything,
// so they are safe inside a database transaction. A calendar that cannot
// be reloaded keeps its last good copy. Safe for concurrent use.
type Directory struct {
	fetch      *Fetcher
	ttl, retry time.Duration
	now        func() time.Time
	log        *slog.Logger
	kick       chan struct{}

	mu      sync.RWMutex
	entries map[calKey]*entry
}

// calKey identifies a loaded calendar: the same file read with another
// zone or selector is another calendar.
type calKey struct {
	src      string // resolved path or URL
	loc      string
	property string
	value    string
}

type entry struct {
	cal    *Calendar // last good copy (nil: never loaded)
	loaded time.Time // of cal
	tried  time.Time // last attempt
	err    error     // of the last attempt
}

// NewDirectory builds an empty Directory.
func NewDirectory(cfg DirectoryConfig) *Directory {
	d := &Directory{
		fetch:   cfg.Fetcher,
		ttl:     cfg.TTL,
		retry:   cfg.RetryAfter,
		now:     cfg.Now,
		log:     cfg.Logger,
		kick:    make(chan struct{}, 1),
		entries: map[calKey]*entry{},
	}
	if d.fetch == nil {
		d.fetch = NewFetcher(FetchConfig{})
	}
	if d.ttl <= 0 {
		d.ttl = 15 * time.Minute
	}
	if d.retry <= 0 {
		d.retry = time.Minute
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d
}

// Source is where schedule s of rule set rs imports its calendar from:
// a path relative to the rules file is made absolute ("" if none).
func Source(rs *routing.RuleSet, s routing.Schedule) string {
	src := s.ICS
	if src != "" && !strings.Contains(src, "://") && !filepath.IsAbs(src) && rs.Path() != "" {
		src = filepath.Join(filepath.Dir(rs.Path()), src)
	}
	return src
}

// OptionsFor are the parse options of schedule s under rs.
func OptionsFor(rs *routing.RuleSet, s routing.Schedule) Options {
	return Options{Location: rs.Location(), Select: Selector{Property: s.ICSProperty, Value: s.ICSCategory}}
}

func keyOf(rs *routing.RuleSet, s routing.Schedule) calKey {
	o := OptionsFor(rs, s)
	return calKey{src: Source(rs, s), loc: o.Location.String(), property: o.Select.Property, value: o.Select.Value}
}

// Lookup answers who is on call under schedule s (of rule set rs) at the
// instant at, from memory. When the schedule's calendar has not been
// loaded yet, the answer comes from the rotation and overrides alone,
// Answer.Note says so, and a refresh is requested.
func (d *Directory) Lookup(rs *routing.RuleSet, s routing.Schedule, at time.Time) (Answer, bool) {
	var cal *Calendar
	note := ""
	if s.ICS != "" {
		d.mu.RLock()
		e := d.entries[keyOf(rs, s)]
		if e != nil {
			cal = e.cal
		}
		d.mu.RUnlock()
		if cal == nil {
			note = "calendar of schedule " + s.Name + " not loaded"
			d.Kick()
		}
	}
	a, ok := At(s, cal, at)
	a.Note = note
	return a, ok
}

// Kick asks Run for a refresh soon, without waiting.
func (d *Directory) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Calendar returns the loaded copy of schedule s's calendar (nil if none)
// and the error of the last load attempt.
func (d *Directory) Calendar(rs *routing.RuleSet, s routing.Schedule) (*Calendar, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e := d.entries[keyOf(rs, s)]; e != nil {
		return e.cal, e.err
	}
	return nil, nil
}

// Refresh loads the calendars of rs's schedules that are due: never
// loaded, older than TTL, or failed more than RetryAfter ago. Calendars no
// schedule imports any more are forgotten. It returns the load errors
// (the directory keeps last good copies); it never holds the lock while
// loading.
func (d *Directory) Refresh(ctx context.Context, rs *routing.RuleSet) error {
	if rs == nil {
		return nil
	}
	now := d.now()
	want := map[calKey]routing.Schedule{}
	for _, s := range rs.Schedules() {
		if s.ICS != "" {
			want[keyOf(rs, s)] = s
		}
	}
	d.mu.Lock()
	for k := range d.entries {
		if _, ok := want[k]; !ok {
			delete(d.entries, k)
		}
	}
	var due []calKey
	for k := range want {
		e := d.entries[k]
		if e == nil || (now.Sub(e.loaded) >= d.ttl && now.Sub(e.tried) >= d.retry) {
			due = append(due, k)
		}
	}
	d.mu.Unlock()

	var errs []error
	for _, k := range due {
		s := want[k]
		cal, err := LoadCalendar(ctx, k.src, OptionsFor(rs, s), d.fetch)
		d.mu.Lock()
		e := d.entries[k]
		if e == nil {
			e = &entry{}
			d.entries[k] = e
		}
		e.tried, e.err = now, err
		if err == nil {
			e.cal, e.loaded = cal, now
		}
		d.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", s.Name, err))
			continue
		}
		if n := len(cal.Warnings); n > 0 {
			d.log.WarnContext(ctx, "on-call calendar loaded with warnings; see fieldgate oncall check", "schedule", s.Name, "warnings", n, "first_line", cal.Warnings[0].Line) // no text: warnings may name people
		}
	}
	return errors.Join(errs...)
}

// Run refreshes the directory now and then every RetryAfter (or when a
// lookup misses a calendar) from the rule set current returns, until ctx
// ends. Failures are logged with the schedule, never with the URL's query.
func (d *Directory) Run(ctx context.Context, current func() *routing.RuleSet) {
	t := time.NewTicker(d.retry)
	defer t.Stop()
	for {
		if err := d.Refresh(ctx, current()); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "on-call calendar not loaded; using the last good copy if any", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
	}
}
