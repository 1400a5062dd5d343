// Package vips makes the team copy of a photo from one decode with
// shrink-on-load (JPEG DCT scaling, ITU-T T.81 §A.3.3): libjpeg decodes
// phone JPEGs directly; libvips everything else (PNG, WebP, HEIC/HEIF
// through libheif, CMYK and damaged JPEGs, ImageMagick when its own JPEG
// loader gives up) and converts it to sRGB. libyuv scales the pixels to
// the team copy's edge and turns them upright by the EXIF orientation
// (SIMD code: libvips 8.14 reduces horizontally and rotates with scalar
// code, about 60 of its 110 CPU-ms for a 12 MP photo); lcms2 converts a
// JPEG's colour profile other than sRGB on the scaled pixels; libjpeg
// encodes the team copy and its thumbnail (libvips when they keep alpha:
// PNG), without any metadata, from the same pixels. Figures:
// media/PERFORMANCE.md.
//
// It is a thin cgo binding of our own rather than a general one
// (govips): the pipeline is one C call, which keeps the caller's buffer
// inside that call, and needs libvips options the general bindings do not
// expose (no auto-rotation, ImageMagick for damaged JPEGs that libvips'
// own JPEG loader gives up on after 100 warnings, blocking every other
// loader). Build needs libvips-dev (pkg-config vips ≥ 8.13, which brings
// libjpeg and lcms2) and libyuv-dev; at run time libvips42 and libyuv0.
package vips

/*
#cgo pkg-config: vips
#cgo pkg-config: lcms2
#cgo LDFLAGS: -lyuv -ljpeg -lm
#include <stdlib.h>
#include <glib.h>
#include "teamcopy.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Errors of TeamCopy; match with errors.Is.
var (
	// ErrTooLarge: the source has more pixels than Options.MaxPixels
	// (found from its header, before any decoding).
	ErrTooLarge = errors.New("vips: image exceeds the pixel limit")
	// ErrUnreadable: libvips could not decode the image.
	ErrUnreadable = errors.New("vips: image unreadable")
)

// Options bound and shape a team copy.
type Options struct {
	MaxEdge   int   // longest edge of the team copy in pixels
	ThumbEdge int   // longest edge of the thumbnail in pixels
	MaxPixels int64 // sources with more pixels are refused
	// Orientation is the EXIF orientation (TIFF tag 0x0112, 1..8) to apply;
	// 0 or 1 leave the pixels as stored.
	Orientation int
	// Quality is the JPEG quality of the team copy (1..100; 0: 80). The
	// thumbnail is always 80.
	Quality int
	// Lenient decodes with ImageMagick's JPEG reader, which shows a damaged
	// JPEG as far as it goes, as browsers do (slower; for the fallback only).
	Lenient bool
}

// Result is a team copy: Full is JPEG (PNG when the source has alpha),
// Thumb is always JPEG. Neither carries any metadata (no EXIF, XMP, IPTC
// or ICC profile; colours were converted to sRGB first).
type Result struct {
	Full, Thumb               []byte
	PNG                       bool
	Width, Height             int // of Full
	SourceWidth, SourceHeight int // of the source as stored (before orientation)
	// DecodedWidth, DecodedHeight are the size of the pixels the decoder
	// produced: below the source's when it shrank on load (JPEG DCT
	// scaling, ITU-T T.81 §A.3.3; 2016×1512 for a 4032×3024 photo and a
	// 1600 px team copy).
	DecodedWidth, DecodedHeight int
	// Decoder says which decoder read the pixels: DecoderLibjpeg (YCbCr,
	// RGB and grey JPEGs without damage, with no colour profile or an RGB
	// one), DecoderLibvips (every other type, CMYK, other or unreadable
	// profiles, damaged JPEGs libvips still reads), DecoderMagick
	// (Options.Lenient).
	Decoder string
}

// Decoders of Result.Decoder.
const (
	DecoderLibjpeg = "libjpeg"
	DecoderLibvips = "libvips"
	DecoderMagick  = "ImageMagick"
)

// DefaultQuality is the team copy's JPEG quality when Options.Quality is
// 0: a 1600 px phone photo is about 130 KB, and encoding it without
// optimised Huffman tables costs about 9 ms (media/PERFORMANCE.md).
const DefaultQuality = 80

var (
	initOnce sync.Once
	initErr  error
)

// Init starts libvips; TeamCopy calls it. It fails when libvips cannot start.
func Init() error {
	initOnce.Do(func() {
		if C.fg_init() != 0 {
			initErr = errors.New("vips: libvips failed to start")
		}
	})
	return initErr
}

// TeamCopy decodes src (JPEG, PNG, WebP, HEIC/HEIF) once and returns its
// team copy and thumbnail. src is not retained. Errors wrap ErrTooLarge or
// ErrUnreadable with libvips' message.
func TeamCopy(src []byte, o Options) (Result, error) {
	if err := Init(); err != nil {
		return Result{}, err
	}
	if len(src) == 0 {
		return Result{}, fmt.Errorf("%w: empty", ErrUnreadable)
	}
	if o.Quality == 0 {
		o.Quality = DefaultQuality
	}
	if o.MaxEdge <= 0 || o.ThumbEdge <= 0 || o.MaxPixels <= 0 || o.Quality < 1 || o.Quality > 100 {
		return Result{}, fmt.Errorf("vips: options %+v: edges and pixel limit must be > 0, quality 1..100", o)
	}
	opts := C.fg_opts{
		max_edge:    C.int(o.MaxEdge),
		thumb_edge:  C.int(o.ThumbEdge),
		max_pixels:  C.double(o.MaxPixels),
		orientation: C.int(o.Orientation),
		quality:     C.int(o.Quality),
	}
	if o.Lenient {
		opts.magick = 1
	}
	var r C.fg_result
	code := C.fg_team_copy(unsafe.Pointer(&src[0]), C.size_t(len(src)), &opts, &r)
	defer C.fg_result_free(&r)
	res := Result{SourceWidth: int(r.src_width), SourceHeight: int(r.src_height)}
	switch code {
	case C.FG_OK:
	case C.FG_ERR_TOO_LARGE:
		return res, fmt.Errorf("%w: %d×%d pixels, limit %d", ErrTooLarge, res.SourceWidth, res.SourceHeight, o.MaxPixels)
	default:
		return res, fmt.Errorf("%w: %s", ErrUnreadable, errText(&r))
	}
	res.Full = C.GoBytes(r.full, C.int(r.full_len))
	res.Thumb = C.GoBytes(r.thumb, C.int(r.thumb_len))
	res.PNG = r.png != 0
	res.Decoder = map[C.int]string{C.FG_DECODER_LIBJPEG: DecoderLibjpeg, C.FG_DECODER_LIBVIPS: DecoderLibvips, C.FG_DECODER_MAGICK: DecoderMagick}[r.decoder]
	res.Width, res.Height = int(r.width), int(r.height)
	res.DecodedWidth, res.DecodedHeight = int(r.decoded_width), int(r.decoded_height)
	return res, nil
}

// JPEGThumbnail makes only the thumbnail of a JPEG that is its own team
// copy (media's lossless path): libjpeg decodes src DCT-scaled (1/2…1/8,
// ITU-T T.81 §A.3.3) to about o.ThumbEdge, libyuv scales it to the size
// TeamCopy's thumbnail of the same image has (longest edge o.ThumbEdge,
// never enlarged), libjpeg encodes it at quality 80 without metadata.
// o.Orientation and o.Quality are not used (the source must be upright).
// Result.Full is nil; Width and Height are the source's (those of the team
// copy). The decode checks the whole entropy-coded data: any libjpeg
// warning (damaged data) or error, a colour space other than YCbCr or
// grey, an ICC profile or more than o.MaxPixels is ErrUnreadable, and the
// caller should make the team copy with TeamCopy instead.
func JPEGThumbnail(src []byte, o Options) (Result, error) {
	if err := Init(); err != nil {
		return Result{}, err
	}
	if len(src) == 0 {
		return Result{}, fmt.Errorf("%w: empty", ErrUnreadable)
	}
	if o.ThumbEdge <= 0 || o.MaxPixels <= 0 {
		return Result{}, fmt.Errorf("vips: options %+v: thumbnail edge and pixel limit must be > 0", o)
	}
	opts := C.fg_opts{thumb_edge: C.int(o.ThumbEdge), max_edge: C.int(o.ThumbEdge), max_pixels: C.double(o.MaxPixels)}
	var r C.fg_result
	code := C.fg_jpeg_thumbnail(unsafe.Pointer(&src[0]), C.size_t(len(src)), &opts, &r)
	defer C.fg_result_free(&r)
	if code != C.FG_OK {
		return Result{}, fmt.Errorf("%w: %s", ErrUnreadable, errText(&r))
	}
	return Result{
		Thumb: C.GoBytes(r.thumb, C.int(r.thumb_len)),
		Width: int(r.width), Height: int(r.height), SourceWidth: int(r.src_width), SourceHeight: int(r.src_height),
		Decoder: DecoderLibjpeg,
	}, nil
}

// JPEGPixels decodes a JPEG with libjpeg at full size, as stored (no
// orientation, no colour conversion), into 4 bytes per pixel (B, G, R,
// 255) and returns them with the width and height. Any libjpeg warning
// (damaged data) or error, or more than maxPixels, is ErrUnreadable. It
// is how tests compare a lossless copy with its original, pixel for pixel.
func JPEGPixels(src []byte, maxPixels int64) (pix []byte, width, height int, err error) {
	if err := Init(); err != nil {
		return nil, 0, 0, err
	}
	if len(src) == 0 {
		return nil, 0, 0, fmt.Errorf("%w: empty", ErrUnreadable)
	}
	var r C.fg_result
	code := C.fg_jpeg_pixels(unsafe.Pointer(&src[0]), C.size_t(len(src)), C.double(maxPixels), &r)
	defer C.fg_result_free(&r)
	if code != C.FG_OK {
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrUnreadable, errText(&r))
	}
	return C.GoBytes(r.full, C.int(r.full_len)), int(r.width), int(r.height), nil
}

// IsSRGB reports whether icc is an ICC profile that describes sRGB (IEC
// 61966-2-1): an RGB matrix/TRC profile with sRGB's colorants (within
// 0.002) and tone curves (within 1/255), the test TeamCopy uses to skip
// the conversion. Pixels tagged with it look the same untagged.
func IsSRGB(icc []byte) bool {
	if len(icc) == 0 {
		return false
	}
	return C.fg_is_srgb(unsafe.Pointer(&icc[0]), C.size_t(len(icc))) == 1
}

// errText is the decoder's first message about a failure, or a sentence
// saying it gave none (libpng reports a bad chunk CRC only as a warning,
// which we silence, leaving the error buffer empty).
func errText(r *C.fg_result) string {
	msg := ""
	if r.err != nil {
		msg = firstLine(strings.TrimSpace(C.GoString(r.err)))
	}
	if msg == "" {
		return "the decoder gave up without a reason (damaged or not an image)"
	}
	return msg
}

// firstLine keeps libvips' first message: a damaged file repeats one per
// scanline.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
