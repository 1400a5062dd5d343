package dispatch

import (
	"context"
	"errors"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/fieldgate/fieldgate/media"
)

// readMedia reads every attachment's metadata and makes its team copy,
// outside any transaction (it is I/O against S3 and CPU work), and returns
// the report's position: EXIF of a photo wins over a position sent with the
// message. Attachments are worked on in parallel, at most one per CPU (the
// media store bounds decoding across all reports the same way); each is
// done once: its result is saved, and a retry skips what has metadata.
// A photo that cannot be read costs its metadata, never the report.
func (s *Service) readMedia(ctx context.Context, rep *Report) (*Position, string, error) {
	if s.media != nil {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.NumCPU())
		for i := range rep.Media {
			m := &rep.Media[i]
			if m.Metadata != nil {
				continue
			}
			g.Go(func() error { return s.readOneMedium(gctx, rep.CaseNumber, m) })
		}
		if err := g.Wait(); err != nil {
			return nil, "", err
		}
	}
	pos, source := rep.Position, rep.PositionSource
	for _, m := range rep.Media {
		if md := m.Metadata; md != nil && md.Position != nil && source != SourceEXIF && source != SourceXMP {
			// EXIF of the first photo with a position wins: it is where the
			// evidence was taken.
			pos = &Position{Lat: md.Position.Lat, Lon: md.Position.Lon, Alt: md.Position.Alt}
			source = SourceEXIF
			if md.PositionSource == media.SourceXMP {
				source = SourceXMP
			}
		}
	}
	return pos, source, nil
}

// readOneMedium reads one attachment's metadata, makes its team copy and
// saves both. Only saving can fail.
func (s *Service) readOneMedium(ctx context.Context, caseNumber string, m *MediaObject) error {
	md, err := s.media.ReadMetadata(ctx, m.Object)
	if err != nil {
		s.metric.dependencyError(err)
		s.log.WarnContext(ctx, "reading photo metadata failed", "case", caseNumber, "object", m.Object.Key, "err", err)
		md = media.Metadata{NoPositionReason: "metadata unreadable"}
	}
	m.Metadata = &md
	if d, err := s.media.MakeDerivative(ctx, m.Object, md); err == nil {
		m.DerivativeKey, m.ThumbKey = d.Key, d.ThumbKey
	} else if !errors.Is(err, media.ErrNoDerivative) {
		s.metric.dependencyError(err)
		s.log.WarnContext(ctx, "team copy failed", "case", caseNumber, "object", m.Object.Key, "err", err)
	}
	return s.saveMediaMetadata(ctx, m)
}
