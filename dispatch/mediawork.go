package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

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
// outside any transaction (it is I/O against S3), and returns the report's
// position: EXIF of a photo wins over a position sent with the message.
//
// A photo that is itself unreadable costs its metadata, never the report.
// A storage failure (media.ErrUnavailable, a timeout) is not the photo's
// fault and is never stored as its metadata: readMedia returns the error so
// that the job retries, or, once the report may not wait any longer (see
// MediaPatience), leaves that photo unread and queues a late read.
func (s *Service) readMedia(ctx context.Context, rep *Report) (*Position, string, error) {
	pos, source := rep.Position, rep.PositionSource
	mayDefer := rep.Urgent || s.now().Sub(rep.ReceivedAt) >= MediaPatience
	deferred := false
	for i := range rep.Media {
		m := &rep.Media[i]
		md := m.Metadata
		if md == nil && s.media != nil {
			read, save, err := s.readOne(ctx, rep, m)
			if err != nil {
				if !mayDefer {
					return nil, "", fmt.Errorf("photo %d of %s: %w", i+1, rep.CaseNumber, err)
				}
				s.log.WarnContext(ctx, "storage unavailable: routing without this photo's metadata for now; a late job reads it",
					"case", rep.CaseNumber, "object", m.Object.Key, "urgent", rep.Urgent, "err", err)
				deferred = true
			}
			if save {
				m.Metadata = &read
				if err := s.saveMediaMetadata(ctx, m); err != nil {
					return nil, "", err
				}
			}
			md = &read
		}
		if md != nil && md.Position != nil && source != SourceEXIF {
			// EXIF of the photo wins: it is where the evidence was taken.
			pos = &Position{Lat: md.Position.Lat, Lon: md.Position.Lon, Alt: md.Position.Alt}
			source = SourceEXIF
		}
	}
	if deferred {
		if _, err := s.queue.Insert(ctx, mediaLateArgs{ReportID: rep.ID}, &river.InsertOpts{ScheduledAt: s.now().Add(30 * time.Second)}); err != nil {
			return nil, "", fmt.Errorf("queue late media read of %s: %w", rep.CaseNumber, err)
		}
	}
	return pos, source, nil
}

// readOne reads one attachment's metadata and makes its team copy. save
// says whether the result is final and belongs in the database; err is a
// storage failure to retry (md may still hold what was read).
func (s *Service) readOne(ctx context.Context, rep *Report, m *MediaObject) (md media.Metadata, save bool, err error) {
	md, err = s.media.ReadMetadata(ctx, m.Object)
	if err != nil {
		s.metric.dependencyError(err)
		if storageTransient(err) {
			return media.Metadata{}, false, fmt.Errorf("read metadata: %w", err)
		}
		s.log.WarnContext(ctx, "photo metadata unreadable", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
		md = media.Metadata{NoPositionReason: "metadata unreadable"}
	}
	d, err := s.media.MakeDerivative(ctx, m.Object, md)
	switch {
	case err == nil:
		m.DerivativeKey, m.ThumbKey = d.Key, d.ThumbKey
	case errors.Is(err, media.ErrNoDerivative):
	case storageTransient(err):
		s.metric.dependencyError(err)
		return md, false, fmt.Errorf("team copy: %w", err)
	default:
		s.metric.dependencyError(err)
		s.log.WarnContext(ctx, "team copy failed", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
	}
	return md, true, nil
}

// storageTransient tells a storage outage (retry later) from a photo that
// cannot be read (final).
func storageTransient(err error) bool {
	return errors.Is(err, media.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
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
// retries with backoff); a position found in a photo completes a report
// that has none, as a late location message does (completeLocation).
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
	pos, source, err := s.readMedia(ctx, &rep)
	if err != nil {
		return err
	}
	if source != SourceEXIF || rep.Position != nil {
		return nil
	}
	return s.withTx(ctx, func(tx pgx.Tx) error {
		return s.completeLocation(ctx, tx, &NewReport{Position: pos, PositionSource: SourceEXIF, Sender: "fieldgate", Channel: "media"},
			s.now(), rep.IncidentID)
	})
}
