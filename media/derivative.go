package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/media/internal/jpegsalvage"
	"golang.org/x/image/webp"
)

// Derivative is the team copy of an image: upright, re-encoded from pixels
// (so it carries no metadata at all), at most Config.DerivativeMaxEdge
// pixels on its longest edge, with a chat thumbnail.
type Derivative struct {
	Key, ThumbKey, ContentType string
	Size                       int64
}

// MakeDerivative writes the team copy and thumbnail of obj under "team/",
// applying md.Orientation. Keys derive from obj.Key, so a retry overwrites
// rather than duplicates. Non-images and HEIC/HEIF (pure Go has no HEVC
// decoder) return ErrNoDerivative.
func (s *Store) MakeDerivative(ctx context.Context, obj Object, md Metadata) (Derivative, error) {
	if err := validKey(obj.Key); err != nil || !strings.HasPrefix(obj.Key, PrefixOriginal) {
		return Derivative{}, fmt.Errorf("%w: derivative source %q", ErrInvalidKey, obj.Key)
	}
	var decode func(io.Reader) (image.Image, error)
	var decodeConfig func(io.Reader) (image.Config, error)
	switch obj.ContentType {
	case TypeJPEG:
		decode, decodeConfig = jpeg.Decode, jpeg.DecodeConfig
	case TypePNG:
		decode, decodeConfig = png.Decode, png.DecodeConfig
	case TypeWebP:
		decode, decodeConfig = webp.Decode, webp.DecodeConfig
	case TypeHEIC, TypeHEIF:
		return Derivative{}, fmt.Errorf("%w: %s needs a HEVC decoder, which pure Go lacks; teams get the link to no copy", ErrNoDerivative, obj.ContentType)
	default:
		return Derivative{}, fmt.Errorf("%w: %s", ErrNoDerivative, obj.ContentType)
	}
	select {
	case s.dsem <- struct{}{}:
		defer func() { <-s.dsem }()
	case <-ctx.Done():
		return Derivative{}, ctx.Err()
	}

	src, err := s.client.GetObject(ctx, s.cfg.Bucket, obj.Key, minio.GetObjectOptions{ServerSideEncryption: s.sse})
	if err != nil {
		return Derivative{}, fmt.Errorf("media: derivative of %s: %w", obj.Key, s.classify(err))
	}
	defer src.Close()
	cfg, err := decodeConfig(src)
	if err != nil {
		return Derivative{}, fmt.Errorf("%w: %s: image header unreadable: %w", ErrNoDerivative, obj.Key, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(s.cfg.MaxDecodePixels) {
		return Derivative{}, fmt.Errorf("%w: %s is %d×%d pixels, over the %d-pixel decode limit",
			ErrNoDerivative, obj.Key, cfg.Width, cfg.Height, s.cfg.MaxDecodePixels)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return Derivative{}, fmt.Errorf("media: derivative of %s: %w", obj.Key, err)
	}
	img, err := decodeSafely(decode, src)
	if err != nil && obj.ContentType == TypeJPEG {
		// Damaged JPEG: decode what is there, as a browser would.
		if _, serr := src.Seek(0, io.SeekStart); serr != nil {
			return Derivative{}, fmt.Errorf("media: derivative of %s: %w", obj.Key, serr)
		}
		var partial bool
		img, partial, err = salvageJPEG(src)
		if err == nil && partial {
			s.log.WarnContext(ctx, "team copy made from a partly damaged JPEG", "key", obj.Key)
		}
	}
	if err != nil {
		return Derivative{}, fmt.Errorf("%w: %s: image unreadable: %w", ErrNoDerivative, obj.Key, err)
	}
	full := orient(fit(img, s.cfg.DerivativeMaxEdge), md.Orientation)
	img = nil // let the decoded original go before encoding
	thumb := fit(full, s.cfg.ThumbMaxEdge)

	base := PrefixTeam + strings.TrimPrefix(obj.Key, PrefixOriginal)
	d := Derivative{Key: base + ".jpg", ThumbKey: base + "-thumb.jpg", ContentType: TypeJPEG}
	var buf bytes.Buffer
	if obj.ContentType == TypeJPEG {
		err = jpeg.Encode(&buf, full, &jpeg.Options{Quality: 85})
	} else { // keep transparency
		d.Key, d.ContentType = base+".png", TypePNG
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, full)
	}
	if err != nil {
		return Derivative{}, fmt.Errorf("media: derivative of %s: encode: %w", obj.Key, err)
	}
	d.Size = int64(buf.Len())
	if err := s.putSmall(ctx, d.Key, d.ContentType, buf.Bytes()); err != nil {
		return Derivative{}, err
	}
	buf.Reset()
	if err := jpeg.Encode(&buf, flatten(thumb), &jpeg.Options{Quality: 80}); err != nil {
		return Derivative{}, fmt.Errorf("media: thumbnail of %s: encode: %w", obj.Key, err)
	}
	if err := s.putSmall(ctx, d.ThumbKey, TypeJPEG, buf.Bytes()); err != nil {
		_ = s.Delete(context.WithoutCancel(ctx), d.Key)
		return Derivative{}, err
	}
	return d, nil
}

// decodeSafely turns a decoder panic into an error: the image decoders are
// standard library code, but the input is not trusted.
func decodeSafely(decode func(io.Reader) (image.Image, error), r io.Reader) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return decode(r)
}

func salvageJPEG(r io.Reader) (img image.Image, partial bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, partial, err = nil, false, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return jpegsalvage.Decode(r)
}

func (s *Store) putSmall(ctx context.Context, key, ct string, b []byte) error {
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: ct, ServerSideEncryption: s.sse, CacheControl: "private, max-age=900"})
	if err != nil {
		return fmt.Errorf("media: put %s: %w", key, s.classify(err))
	}
	return nil
}
