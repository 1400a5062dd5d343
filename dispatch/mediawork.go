package dispatch

import (
	"context"
	"errors"

	"github.com/fieldgate/fieldgate/media"
)

// readMedia reads every attachment's metadata and makes its team copy,
// outside any transaction (it is I/O against S3), and returns the report's
// position: EXIF of a photo wins over a position sent with the message.
func (s *Service) readMedia(ctx context.Context, rep *Report) (*Position, string, error) {
	// Media first, outside any transaction: it is I/O against S3. A photo
	// that cannot be read costs its metadata, never the report.
	pos, source := rep.Position, rep.PositionSource
	for i := range rep.Media {
		m := &rep.Media[i]
		if m.Metadata == nil && s.media != nil {
			md, err := s.media.ReadMetadata(ctx, m.Object)
			if err != nil {
				s.metric.dependencyError(err)
				s.log.WarnContext(ctx, "reading photo metadata failed", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
				md = media.Metadata{NoPositionReason: "metadata unreadable"}
			}
			m.Metadata = &md
			if d, err := s.media.MakeDerivative(ctx, m.Object, md); err == nil {
				m.DerivativeKey, m.ThumbKey = d.Key, d.ThumbKey
			} else if !errors.Is(err, media.ErrNoDerivative) {
				s.metric.dependencyError(err)
				s.log.WarnContext(ctx, "team copy failed", "case", rep.CaseNumber, "object", m.Object.Key, "err", err)
			}
			if err := s.saveMediaMetadata(ctx, m); err != nil {
				return nil, "", err
			}
		}
		if md := m.Metadata; md != nil && md.Position != nil && source != SourceEXIF {
			// EXIF of the photo wins: it is where the evidence was taken.
			pos = &Position{Lat: md.Position.Lat, Lon: md.Position.Lon, Alt: md.Position.Alt}
			source = SourceEXIF
		}
	}

	return pos, source, nil
}
