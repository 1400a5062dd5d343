package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// Derivative is the team copy of an image: upright, re-encoded from pixels
// (so it carries no metadata at all), at most Config.DerivativeMaxEdge
// pixels on its longest edge, with a chat thumbnail.
type Derivative struct {
	Key, ThumbKey, ContentType string
	Size                       int64
}

// MakeDerivative reads obj from S3 and calls MakeDerivativeFrom with its
// bytes; see there. The read is refused for more than the type's size
// limit.
func (s *Store) MakeDerivative(ctx context.Context, obj Object, md Metadata) (Derivative, error) {
	if err := derivativeSource(obj); err != nil {
		return Derivative{}, err
	}
	limit, ok := s.rules[obj.ContentType]
	if !ok {
		return Derivative{}, fmt.Errorf("%w: %s not allowed", ErrNoDerivative, obj.ContentType)
	}
	src, err := s.readObject(ctx, obj, limit)
	if err != nil {
		return Derivative{}, err
	}
	return s.MakeDerivativeFrom(ctx, obj, md, src)
}

// derivativeSource checks that obj is an original of a type that gets a
// team copy.
func derivativeSource(obj Object) error {
	if err := validKey(obj.Key); err != nil || !strings.HasPrefix(obj.Key, PrefixOriginal) {
		return fmt.Errorf("%w: derivative source %q", ErrInvalidKey, obj.Key)
	}
	switch obj.ContentType {
	case TypeJPEG, TypePNG, TypeWebP, TypeHEIC, TypeHEIF:
		return nil
	default:
		return fmt.Errorf("%w: %s", ErrNoDerivative, obj.ContentType)
	}
}

// MakeDerivativeFrom writes the team copy and thumbnail of obj under "team/",
// made from src, the original's bytes the caller holds (e.g. kept from the
// upload, so that S3 is not read again), applying md.Orientation. Keys
// derive from obj.Key, so a retry overwrites rather than duplicates. JPEG,
// PNG, WebP and HEIC/HEIF are decoded by libvips once, shrinking on load; a
// JPEG libvips cannot read (damaged pixel data) is read again leniently.
// Other types, sources over the type's size limit, images over
// Config.MaxDecodePixels and unreadable images return ErrNoDerivative. At
// most Config.MaxDerivatives run at once; further calls wait for a slot or
// ctx.
func (s *Store) MakeDerivativeFrom(ctx context.Context, obj Object, md Metadata, src []byte) (Derivative, error) {
	if err := derivativeSource(obj); err != nil {
		return Derivative{}, err
	}
	orientation := md.Orientation
	if obj.ContentType == TypeHEIC || obj.ContentType == TypeHEIF {
		// libheif applies the container's rotation and mirroring (irot,
		// imir; ISO/IEC 23008-12 §6.5.10); the EXIF orientation inside is
		// informative only and must not be applied a second time.
		orientation = 1
	}
	limit, ok := s.rules[obj.ContentType]
	if !ok {
		return Derivative{}, fmt.Errorf("%w: %s not allowed", ErrNoDerivative, obj.ContentType)
	}
	if int64(len(src)) > limit {
		return Derivative{}, fmt.Errorf("%w: %s: %d bytes, over the %d-byte limit of %s", ErrNoDerivative, obj.Key, len(src), limit, obj.ContentType)
	}
	select {
	case s.dsem <- struct{}{}:
		defer func() { <-s.dsem }()
	case <-ctx.Done():
		return Derivative{}, ctx.Err()
	}

	opts := vips.Options{
		MaxEdge:     s.cfg.DerivativeMaxEdge,
		ThumbEdge:   s.cfg.ThumbMaxEdge,
		MaxPixels:   int64(s.cfg.MaxDecodePixels),
		Orientation: orientation,
		Quality:     s.cfg.TeamCopyQuality,
	}
	tc, err := vips.TeamCopy(src, opts)
	if errors.Is(err, vips.ErrUnreadable) && obj.ContentType == TypeJPEG {
		// Damaged JPEG: show what is there, as a browser would.
		opts.Lenient = true
		var lerr error
		if tc, lerr = vips.TeamCopy(src, opts); lerr == nil {
			s.log.WarnContext(ctx, "team copy made from a damaged JPEG", "key", obj.Key, "err", err)
		}
		err = lerr
	}
	switch {
	case errors.Is(err, vips.ErrTooLarge):
		return Derivative{}, fmt.Errorf("%w: %s: %w", ErrNoDerivative, obj.Key, err)
	case errors.Is(err, vips.ErrUnreadable):
		return Derivative{}, fmt.Errorf("%w: %s: %w", ErrNoDerivative, obj.Key, err)
	case err != nil:
		return Derivative{}, fmt.Errorf("media: derivative of %s: %w", obj.Key, err)
	}

	base := PrefixTeam + strings.TrimPrefix(obj.Key, PrefixOriginal)
	d := Derivative{Key: base + ".jpg", ThumbKey: base + "-thumb.jpg", ContentType: TypeJPEG, Size: int64(len(tc.Full))}
	if tc.PNG { // keeps transparency
		d.Key, d.ContentType = base+".png", TypePNG
	}
	if err := s.putSmall(ctx, d.Key, d.ContentType, tc.Full); err != nil {
		return Derivative{}, err
	}
	if err := s.putSmall(ctx, d.ThumbKey, TypeJPEG, tc.Thumb); err != nil {
		_ = s.Delete(context.WithoutCancel(ctx), d.Key)
		return Derivative{}, err
	}
	return d, nil
}

// readObject reads a whole original into memory (libvips decodes from a
// buffer), refusing more than limit bytes.
func (s *Store) readObject(ctx context.Context, obj Object, limit int64) ([]byte, error) {
	if obj.Size > limit {
		return nil, fmt.Errorf("%w: %s: %d bytes, over the %d-byte limit of %s", ErrNoDerivative, obj.Key, obj.Size, limit, obj.ContentType)
	}
	src, err := s.client.GetObject(ctx, s.cfg.Bucket, obj.Key, minio.GetObjectOptions{ServerSideEncryption: s.sse})
	if err != nil {
		return nil, fmt.Errorf("media: derivative of %s: %w", obj.Key, s.classify(err))
	}
	defer src.Close()
	var buf bytes.Buffer
	if obj.Size > 0 {
		buf.Grow(int(obj.Size) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(src, limit+1)); err != nil {
		return nil, fmt.Errorf("media: derivative of %s: read: %w", obj.Key, s.classify(err))
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%w: %s: over the %d-byte limit of %s", ErrNoDerivative, obj.Key, limit, obj.ContentType)
	}
	return buf.Bytes(), nil
}

func (s *Store) putSmall(ctx context.Context, key, ct string, b []byte) error {
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: ct, ServerSideEncryption: s.sse, CacheControl: "private, max-age=900"})
	if err != nil {
		return fmt.Errorf("media: put %s: %w", key, s.classify(err))
	}
	return nil
}
