package dispatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/media"
)

// MediaPatience is how long a report waits for its photos' metadata while
// the object store is unavailable (the processing job retries with
// backoff) before it is routed without them; an urgent report does not
// wait at all. Either way a late job (mediaLateArgs) reads them once the
// store is back, and a position found then completes the report as a late
// location does.
const MediaPatience = 2 * time.Minute

// readMedia reads every attachment's metadata and makes its team copy,
// outside any transaction (it is I/O against S3 and CPU work), and returns
// the report's position: EXIF of a photo wins over a position sent with the
// message. Attachments are worked on in parallel, at most one per CPU (the
// media store bounds decoding across all reports the same way); each is
// done once: its result is saved, and a retry skips what has metadata.
//
// A photo that is itself unreadable costs its metadata, never the report.
// A storage failure (media.ErrUnavailable, a timeout) is not the photo's
// fault and is never stored as its metadata: readMedia returns the error so
// that the job retries, or, once the report may not wait any longer (see
// MediaPatience), leaves that photo unread and queues a late read.
//
// in, for a direct run (direct.go), has attachments worked on already
// while the report arrived; those are not read from S3.
func (s *Service) readMedia(ctx context.Context, rep *Report, in *directRun) (*Position, string, error) {
	mayDefer := rep.Urgent || s.now().Sub(rep.ReceivedAt) >= MediaPatience
	var deferred atomic.Bool
	var mu sync.Mutex
	unsaved := map[int]*media.Metadata{} // read, but the team copy must be retried
	if s.media != nil {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.NumCPU())
		for i := range rep.Media {
			m := &rep.Media[i]
			if m.Metadata != nil {
				continue
			}
			g.Go(func() error {
				md, err := s.readOneMedium(gctx, rep.CaseNumber, m, s.held(in, m.Object.Key))
				if err == nil || !errors.Is(err, errStorageDown) || !mayDefer {
					return err
				}
				s.log.WarnContext(ctx, "storage unavailable: routing without this photo's metadata for now; a late job reads it",
					"case", rep.CaseNumber, "object", m.Object.Key, "urgent", rep.Urgent, "err", err)
				deferred.Store(true)
				mu.Lock()
				unsaved[i] = &md
				mu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, "", fmt.Errorf("media of %s: %w", rep.CaseNumber, err)
		}
	}
	pos, source := rep.Position, rep.PositionSource
	for i, m := range rep.Media {
		md := m.Metadata
		if md == nil {
			md = unsaved[i]
		}
		if md != nil && md.Position != nil && source != SourceEXIF && source != SourceXMP {
			// EXIF of the first photo with a position wins: it is where the
			// evidence was taken.
			pos = &Position{Lat: md.Position.Lat, Lon: md.Position.Lon, Alt: md.Position.Alt}
			source = SourceEXIF
			if md.PositionSource == media.SourceXMP {
				source = SourceXMP
			}
		}
	}
	if deferred.Load() {
		if _, err := s.queue.Insert(ctx, mediaLateArgs{ReportID: rep.ID}, &river.InsertOpts{ScheduledAt: s.now().Add(30 * time.Second)}); err != nil {
			return nil, "", fmt.Errorf("queue late media read of %s: %w", rep.CaseNumber, err)
		}
	}
	return pos, source, nil
}

// errStorageDown marks a storage failure that is to be retried: nothing
// of that attachment was saved.
var errStorageDown = errors.New("object store unavailable")

// readOneMedium reads one attachment's metadata, makes its team copy and
// saves both. A storage outage saves nothing and returns an error wrapping
// errStorageDown (with what was read, if the metadata was).
//
// prepared, if not nil, is the work done already while its report was
// received (PrepareMedium); then S3 is not read.
func (s *Service) readOneMedium(ctx context.Context, caseNumber string, m *MediaObject, prepared *PreparedMedium) (media.Metadata, error) {
	var r mediumResult
	if prepared != nil {
		var err error
		if r, err = prepared.result(ctx); err != nil {
			return media.Metadata{}, fmt.Errorf("%w: %w", errNotPrepared, err)
		}
	} else {
		r = s.workMedium(ctx, m.Object, nil)
	}
	md := r.md
	if r.mdErr != nil {
		s.metric.dependencyError(r.mdErr)
		if storageTransient(r.mdErr) {
			return media.Metadata{}, fmt.Errorf("%w: read metadata: %w", errStorageDown, r.mdErr)
		}
		s.log.WarnContext(ctx, "photo metadata unreadable", "case", caseNumber, "object", m.Object.Key, "err", r.mdErr)
	}
	switch err := r.dErr; {
	case err == nil:
		m.DerivativeKey, m.ThumbKey = r.d.Key, r.d.ThumbKey
	case errors.Is(err, media.ErrNoDerivative):
	case storageTransient(err):
		s.metric.dependencyError(err)
		return md, fmt.Errorf("%w: team copy: %w", errStorageDown, err)
	default:
		s.metric.dependencyError(err)
		s.log.WarnContext(ctx, "team copy failed", "case", caseNumber, "object", m.Object.Key, "err", err)
	}
	m.Metadata = &md
	return md, s.saveMediaMetadata(ctx, m)
}

// storageTransient tells a storage outage (retry later) from a photo that
// cannot be read (final). A cancelled context (a sibling attachment failed,
// the process stops) is never the photo's fault either.
func storageTransient(err error) bool {
	return errors.Is(err, media.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// mediaLateArgs: read the photos of a report that was routed without them
// because the object store was unavailable.
type mediaLateArgs struct {
	ReportID uuid.UUID `json:"report_id" river:"unique"`
}

func (mediaLateArgs) Kind() string { return "media_late" }
func (mediaLateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueDefault, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type mediaLateWorker struct {
	river.WorkerDefaults[mediaLateArgs]
	s *Service
}

// Work reads what is still unread (a storage error returns, and the queue
// retries with backoff); a position found in a photo locates and re-routes
// a report that has none, as a late location message does (locate).
func (w *mediaLateWorker) Work(ctx context.Context, job *river.Job[mediaLateArgs]) error {
	s := w.s
	rep, err := s.loadReport(ctx, s.pool, job.Args.ReportID)
	if err != nil {
		return err
	}
	if rep.ProcessedAt == nil {
		return fmt.Errorf("report %s not processed yet", rep.CaseNumber) // retried
	}
	rep.Urgent = false
	rep.ReceivedAt = s.now() // never defer again: wait for the store
	pos, source, err := s.readMedia(ctx, &rep, nil)
	if err != nil {
		return err
	}
	if (source != SourceEXIF && source != SourceXMP) || rep.Position != nil {
		return nil
	}
	return s.withTx(ctx, func(tx pgx.Tx) error {
		inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, rep.IncidentID))
		if err != nil {
			return err
		}
		var has bool
		if err := tx.QueryRow(ctx, `SELECT lat IS NOT NULL FROM reports WHERE id = $1`, rep.ID).Scan(&has); err != nil {
			return fmt.Errorf("check position: %w", err)
		}
		if has {
			return nil // a location message came first
		}
		// The photo itself brings the position: the case is located and
		// re-routed as by a late location, by fieldgate rather than the sender.
		part := rep
		part.Sender, part.Channel = "fieldgate", "media"
		return s.locate(ctx, tx, inc, rep.ID, part, pos, source, s.now())
	})
}
