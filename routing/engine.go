package routing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Engine holds the active rule set and swaps it atomically on reload, so
// a report is always decided by one complete rule set. A file that fails
// validation is rejected and the previous rules stay active.
type Engine struct {
	path   string
	logger *slog.Logger
	poll   time.Duration

	cur atomic.Pointer[RuleSet]

	mu        sync.Mutex // serialises reloads
	lastErr   error
	lastErrAt time.Time
	seen      []byte // hash of the file contents last tried, to skip unchanged files
	seenStat  string // sizes and mtimes at the last look
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithPollInterval sets how often Watch looks at the files (default 2s).
func WithPollInterval(d time.Duration) EngineOption {
	return func(e *Engine) {
		if d > 0 {
			e.poll = d
		}
	}
}

// NewEngine loads the rules file once; it fails if the file is invalid.
func NewEngine(path string, logger *slog.Logger, opts ...EngineOption) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{path: path, logger: logger, poll: 2 * time.Second}
	for _, o := range opts {
		o(e)
	}
	rs, err := Load(path)
	if err != nil {
		return nil, fmt.Errorf("load rules %s: %w", path, err)
	}
	e.cur.Store(rs)
	// e.seen stays empty: the first poll loads once more, so a change made
	// while NewEngine was loading is not missed.
	logger.Info("rules loaded", "path", path, "version", rs.Version(), "rules", len(rs.rules), "areas", len(rs.areas))
	return e, nil
}

// Current returns the active rule set. Callers should fetch it once per
// report and use that set for the whole report.
func (e *Engine) Current() *RuleSet { return e.cur.Load() }

// Reload loads the file again. On a validation failure it logs, keeps the
// previous rule set and returns the error.
func (e *Engine) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadLocked()
}

func (e *Engine) reloadLocked() error {
	old := e.cur.Load()
	// Hash before loading: if a file changes while it is loaded, the next
	// poll sees a different hash and loads again.
	seen := contentHash(e.watched(old))
	rs, err := Load(e.path)
	e.seen = seen
	if err != nil {
		e.lastErr, e.lastErrAt = err, time.Now()
		e.logger.Error("rules reload rejected; previous rules stay active", "path", e.path, "active_version", old.Version(), "err", err)
		return fmt.Errorf("reload rules %s: %w", e.path, err)
	}
	e.lastErr = nil
	e.cur.Store(rs)
	if rs.Version() != old.Version() {
		e.logger.Info("rules reloaded", "path", e.path, "version", rs.Version(), "previous_version", old.Version(), "rules", len(rs.rules))
	}
	return nil
}

// watched lists the files to watch: the rules file and the files the
// active set loaded.
func (e *Engine) watched(rs *RuleSet) []string {
	return append([]string{e.path}, rs.files[1:]...)
}

// LastError is when the last reload was rejected and its error, or the
// zero time and nil after a successful one.
func (e *Engine) LastError() (time.Time, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErrAt, e.lastErr
}

// Watch reloads on SIGHUP and when the content of the rules file or the
// area file changes (checked every poll interval). It returns nil when
// ctx ends.
func (e *Engine) Watch(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(e.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			e.logger.Info("SIGHUP: reloading rules", "path", e.path)
			_ = e.Reload() // logged
		case <-t.C:
			e.checkFiles()
		}
	}
}

// checkFiles reloads when a watched file's content differs from the last
// attempt. Hashing a few hundred kilobytes every two seconds is cheaper
// than being fooled by mtime granularity or editors that rename files.
func (e *Engine) checkFiles() {
	e.mu.Lock()
	defer e.mu.Unlock()
	files := e.watched(e.cur.Load())
	st := statFiles(files)
	if st == e.seenStat && e.seen != nil {
		return // nothing touched the files: skip reading them
	}
	e.seenStat = st
	if bytes.Equal(contentHash(files), e.seen) {
		return // touched but unchanged
	}
	_ = e.reloadLocked() // logged
}

// statFiles summarises the files' sizes and modification times.
func statFiles(files []string) string {
	var b strings.Builder
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			b.WriteString("missing;")
			continue
		}
		fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

// contentHash hashes the files' contents; unreadable files hash as empty
// with a marker so that their reappearance triggers a reload.
func contentHash(files []string) []byte {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			h.Write([]byte("\x00missing\x00"))
		}
		h.Write(data)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}
