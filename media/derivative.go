package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// Derivative is the team copy of an image: upright, without any metadata,
// at most Config.DerivativeMaxEdge pixels on its longest edge, with a
// chat thumbnail. It is re-encoded from pixels, or, for a JPEG that needs
// no pixel work, the original's image data copied losslessly with only
// the segments a decoder needs (lossless.go).
type Derivative struct {
	Key, ThumbKey, ContentType string
	Size                       int64
}

// MakeDerivative writes the team copy and thumbnail of obj under "team/",
// applying md.Orientation, reading the original from S3 (one GET of the
// whole object, at most its type's size limit). It is
// MakeDerivativeFrom for a caller that no longer holds the bytes. At most
// Config.MaxDerivatives read and decode at once (the slot is taken before
// the read, so originals in memory are bounded too, and given back before
// the copies are stored); further calls wait for a slot or ctx.
func (s *Store) MakeDerivative(ctx context.Context, obj Object, md Metadata) (Derivative, error) {
	orientation, limit, err := s.derivativeSource(obj, md)
	if err != nil {
		return Derivative{}, err
	}
	if err := s.derivativeSlot(ctx); err != nil {
		return Derivative{}, err
	}
	src, err := s.readObject(ctx, obj, limit)
	var tc vips.Result
	if err == nil {
		tc, err = s.teamCopy(ctx, obj, orientation, src)
	}
	<-s.dsem
	if err != nil {
		return Derivative{}, err
	}
	return s.storeDerivative(ctx, obj, tc)
}

// Work is what ReadAndDerive did with one stored original: its metadata
// and team copy, each with its own error.
type Work struct {
	Metadata      Metadata // zero if MetadataErr is set
	MetadataErr   error
	Derivative    Derivative // zero if DerivativeErr is set
	DerivativeErr error
}

// ReadAndDerive reads the metadata of a stored original the caller no
// longer holds and makes its team copy, reading it from S3 once where it
// can: an image that can have a team copy (JPEG, PNG, WebP, HEIC, HEIF of
// known size within its type's limit) is read whole, within one of
// Config.MaxDerivatives slots (the bound MakeDerivative's read has), and
// its metadata and team copy come from those bytes, as ReadMetadataFrom
// and MakeDerivativeFrom give them. ReadMetadata with ranged GETs and then
// MakeDerivative with the whole object again cost the object store one
// request per 64 KiB block plus the whole object, each unsealing the
// object's key again under SSE-S3 (deploy/SCALING.md, thirteenth round).
// Any other object gets ReadMetadata (ranged reads, for types that carry
// metadata) and then MakeDerivative (ErrNoDerivative without a read for
// types that get no team copy, and for oversized ones).
//
// Errors: MetadataErr as ReadMetadata's or ReadMetadataFrom's (so the
// metadata of an image read whole has no 8 MiB read bound); DerivativeErr
// as MakeDerivative's. When the whole read fails, DerivativeErr is its
// error and the metadata is read with ranged GETs as before (a report
// that may not wait for the store is routed with the photo's position).
// An unavailable store while reading the metadata of a file not read
// whole, and a context that ends, are both errors at once. Metadata that
// cannot be read leaves the team copy to be made as stored (no
// orientation applied).
func (s *Store) ReadAndDerive(ctx context.Context, obj Object) Work {
	_, limit, err := s.derivativeSource(obj, Metadata{})
	if err != nil || obj.Size <= 0 || obj.Size > limit {
		return s.readThenDerive(ctx, obj)
	}
	if err := s.derivativeSlot(ctx); err != nil {
		return Work{MetadataErr: err, DerivativeErr: err}
	}
	src, err := s.readObject(ctx, obj, limit)
	if err == nil && int64(len(src)) != obj.Size {
		err = fmt.Errorf("%w: %s: %d bytes read for an object of %d", ErrNoDerivative, obj.Key, len(src), obj.Size)
	}
	if err != nil {
		<-s.dsem
		if cerr := ctx.Err(); cerr != nil {
			return Work{MetadataErr: cerr, DerivativeErr: cerr}
		}
		w := Work{DerivativeErr: err}
		if w.Metadata, w.MetadataErr = s.ReadMetadata(ctx, obj); w.MetadataErr != nil {
			w.Metadata = Metadata{}
		}
		return w
	}
	var w Work
	if w.Metadata, w.MetadataErr = s.ReadMetadataFrom(ctx, obj, src); w.MetadataErr != nil {
		w.Metadata = Metadata{}
	}
	if cerr := ctx.Err(); cerr != nil {
		<-s.dsem
		return Work{MetadataErr: cerr, DerivativeErr: cerr}
	}
	orientation, _, _ := s.derivativeSource(obj, w.Metadata)
	tc, err := s.teamCopy(ctx, obj, orientation, src)
	<-s.dsem
	if err != nil {
		w.DerivativeErr = err
		return w
	}
	w.Derivative, w.DerivativeErr = s.storeDerivative(ctx, obj, tc)
	return w
}

// readThenDerive is ReadAndDerive for an object not read whole: the two
// calls, the second skipped while the store is unavailable.
func (s *Store) readThenDerive(ctx context.Context, obj Object) Work {
	var w Work
	if w.Metadata, w.MetadataErr = s.ReadMetadata(ctx, obj); w.MetadataErr != nil {
		w.Metadata = Metadata{}
		if errors.Is(w.MetadataErr, ErrUnavailable) || ctx.Err() != nil {
			w.DerivativeErr = w.MetadataErr // do not ask a store that is down again
			return w
		}
	}
	w.Derivative, w.DerivativeErr = s.MakeDerivative(ctx, obj, w.Metadata)
	return w
}

// MakeDerivativeFrom is MakeDerivative from the original's bytes the
// caller already holds (the intake path, which has just stored them), so
// that S3 is not read again. src must be the whole object obj names: when
// obj.Size is set, len(src) must equal it, and src may not exceed the size
// limit of obj.ContentType. src is only read, and not retained after the
// call. Keys, orientation handling (md.Orientation; HEIC/HEIF are already
// upright from their container), the lenient path for damaged JPEGs, the
// pixel limit (Config.MaxDecodePixels, checked on the header before
// decoding) and the Config.MaxDerivatives bound are those of
// MakeDerivative. Errors: ErrInvalidKey for a key outside "orig/",
// ErrNoDerivative for types without a team copy, oversized or unreadable
// images and a src that does not match obj, S3 errors classified as by
// Put, ctx.Err() while waiting for a slot.
func (s *Store) MakeDerivativeFrom(ctx context.Context, obj Object, md Metadata, src []byte) (Derivative, error) {
	orientation, limit, err := s.derivativeSource(obj, md)
	if err != nil {
		return Derivative{}, err
	}
	if obj.Size > 0 && int64(len(src)) != obj.Size {
		return Derivative{}, fmt.Errorf("%w: %s: %d bytes given for an object of %d", ErrNoDerivative, obj.Key, len(src), obj.Size)
	}
	if int64(len(src)) > limit {
		return Derivative{}, fmt.Errorf("%w: %s: %d bytes, over the %d-byte limit of %s", ErrNoDerivative, obj.Key, len(src), limit, obj.ContentType)
	}
	if err := s.derivativeSlot(ctx); err != nil {
		return Derivative{}, err
	}
	tc, err := s.teamCopy(ctx, obj, orientation, src)
	<-s.dsem
	if err != nil {
		return Derivative{}, err
	}
	return s.storeDerivative(ctx, obj, tc)
}

// derivativeSource checks that obj can have a team copy and returns the
// orientation to apply and the size limit of its type.
func (s *Store) derivativeSource(obj Object, md Metadata) (orientation int, limit int64, err error) {
	if err := validKey(obj.Key); err != nil || !strings.HasPrefix(obj.Key, PrefixOriginal) {
		return 0, 0, fmt.Errorf("%w: derivative source %q", ErrInvalidKey, obj.Key)
	}
	orientation = md.Orientation
	switch obj.ContentType {
	case TypeJPEG, TypePNG, TypeWebP:
	case TypeHEIC, TypeHEIF:
		// libheif applies the container's rotation and mirroring (irot,
		// imir; ISO/IEC 23008-12 §6.5.10); the EXIF orientation inside is
		// informative only and must not be applied a second time.
		orientation = 1
	default:
		return 0, 0, fmt.Errorf("%w: %s", ErrNoDerivative, obj.ContentType)
	}
	limit, ok := s.rules[obj.ContentType]
	if !ok {
		return 0, 0, fmt.Errorf("%w: %s not allowed", ErrNoDerivative, obj.ContentType)
	}
	return orientation, limit, nil
}

// derivativeSlot waits for one of Config.MaxDerivatives slots; the caller
// releases it with <-s.dsem.
func (s *Store) derivativeSlot(ctx context.Context) error {
	select {
	case s.dsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// teamCopy makes the team copy and thumbnail: losslessly for a JPEG
// that needs no pixel work if Config.LosslessTeamCopy is on (lossless.go),
// else by decoding src once
// (shrink-on-load), reading a damaged JPEG again leniently.
func (s *Store) teamCopy(ctx context.Context, obj Object, orientation int, src []byte) (vips.Result, error) {
	opts := vips.Options{
		MaxEdge:     s.cfg.DerivativeMaxEdge,
		ThumbEdge:   s.cfg.ThumbMaxEdge,
		MaxPixels:   int64(s.cfg.MaxDecodePixels),
		Orientation: orientation,
		Quality:     s.cfg.TeamCopyQuality,
	}
	if s.cfg.LosslessTeamCopy && obj.ContentType == TypeJPEG && orientation <= 1 {
		tc, err := losslessTeamCopy(src, opts)
		if err == nil {
			s.paths.lossless.Add(1)
			return tc, nil
		}
		s.log.DebugContext(ctx, "team copy re-encoded", "key", obj.Key, "why", err)
	}
	s.paths.converted.Add(1)
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
		return tc, fmt.Errorf("%w: %s: %w", ErrNoDerivative, obj.Key, err)
	case errors.Is(err, vips.ErrUnreadable):
		return tc, fmt.Errorf("%w: %s: %w", ErrNoDerivative, obj.Key, err)
	case err != nil:
		return tc, fmt.Errorf("media: derivative of %s: %w", obj.Key, err)
	}
	return tc, nil
}

// putSmallTimeout bounds the PUTs of a team copy and its thumbnail.
const putSmallTimeout = time.Minute

// storeDerivative stores the team copy and thumbnail at once under keys
// derived from obj.Key, so that a retry overwrites rather than
// duplicates; if either fails, neither is left.
func (s *Store) storeDerivative(ctx context.Context, obj Object, tc vips.Result) (Derivative, error) {
	base := PrefixTeam + strings.TrimPrefix(obj.Key, PrefixOriginal)
	d := Derivative{Key: base + ".jpg", ThumbKey: base + "-thumb.jpg", ContentType: TypeJPEG, Size: int64(len(tc.Full))}
	if tc.PNG { // keeps transparency
		d.Key, d.ContentType = base+".png", TypePNG
	}
	// The PUTs are not cut short when ctx ends (a report that was not
	// accepted stops its prepared work): a PUT the client abandons may
	// still complete in the server after the delete below, and leave a
	// team copy nobody references. They finish (at most putSmallTimeout),
	// and are then deleted.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), putSmallTimeout)
	defer cancel()
	thumbErr := make(chan error, 1)
	go func() { thumbErr <- s.putSmall(pctx, d.ThumbKey, TypeJPEG, tc.Thumb) }()
	err := s.putSmall(pctx, d.Key, d.ContentType, tc.Full)
	if terr := <-thumbErr; err == nil {
		err = terr
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("media: derivative of %s: %w", obj.Key, ctx.Err())
	}
	if err != nil {
		_ = s.Delete(context.WithoutCancel(ctx), d.Key, d.ThumbKey)
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

// putSmall stores a team copy or thumbnail (b, in memory) under key,
// checked by its SHA-256 as the originals are (putChecked).
func (s *Store) putSmall(ctx context.Context, key, ct string, b []byte) error {
	sum := sha256.Sum256(b)
	return s.putChecked(ctx, key, bytes.NewReader(b), int64(len(b)), sum[:],
		minio.PutObjectOptions{ContentType: ct, ServerSideEncryption: s.sse, CacheControl: "private, max-age=900"})
}
