package media

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// The lossless team copy: a JPEG that needs no pixel work (upright, at
// most the team copy's edge, YCbCr or grey, sRGB or untagged) keeps its
// entropy-coded data byte for byte; only what a decoder needs is copied,
// as `jpegtran -copy none` does. Decoding it and encoding it again would
// cost CPU and quality for nothing (media/PERFORMANCE.md).

// errNotLossless wraps every reason why a JPEG must take the converting
// path instead; the reason is for logs and tests only.
var errNotLossless = errors.New("no lossless team copy")

// Bounds of the lossless path (anything beyond takes the converting path).
const (
	// maxLosslessScans bounds the scans of a progressive JPEG: cameras
	// and libjpeg write 10 at most; thousands of tiny scans make the
	// decode slow for every viewer of the copy.
	maxLosslessScans = 64
	// losslessBytesPerPixel and losslessTableBytes bound the copy's size:
	// a JPEG larger than 1 byte per pixel (plus its tables) is near
	// lossless quality, where the converting path's re-encode saves the
	// team's download several times its CPU.
	losslessBytesPerPixel = 1
	losslessTableBytes    = 4096
)

// losslessLimits are the conditions of the lossless path.
type losslessLimits struct {
	maxEdge   int   // longest edge, pixels (Config.DerivativeMaxEdge)
	maxPixels int64 // Config.MaxDecodePixels
	// maxQuality is the highest IJG quality (estimated from the luminance
	// quantisation table) copied losslessly: Config.TeamCopyQuality plus
	// losslessQualityMargin. A photo saved at a higher quality is several
	// times the size of its re-encoded copy (a 450×600 photo at 96: 125 KB
	// against 49 KB at 80), which every team member downloads and S3
	// stores; below it, the copy is about as large and keeps every pixel.
	maxQuality int
}

// losslessQualityMargin: up to this much above the team copy's quality a
// JPEG is copied losslessly (at most about 1.5 times the re-encode's size).
const losslessQualityMargin = 10

// jpegCopy is a JPEG reduced to what a decoder needs.
type jpegCopy struct {
	data          []byte
	width, height int
	// icc is the reassembled ICC profile of the original (ICC.1:2010
	// Annex B.4), nil when it had none; the copy never carries it.
	icc []byte
}

// losslessJPEG walks every marker segment of src (ITU-T T.81 Annex B)
// and returns a copy that holds SOI, a JFIF APP0 without its thumbnail
// (JFIF 1.02), DQT, DHT, DRI, the frame header and every scan with its
// entropy-coded data (restart markers included) byte for byte, and EOI;
// it drops every other APPn (Exif, XMP, IPTC/Photoshop, MPF, ICC, Adobe,
// maker notes), COM and anything after EOI (trailers, depth maps, second
// images). The copy decodes to exactly the original's pixels.
//
// It accepts only what it can copy safely: a well-formed marker
// structure ending in EOI, one baseline (SOF0) or progressive (SOF2)
// Huffman frame of 8-bit samples with 1 (grey) or 3 (YCbCr) components,
// no Adobe transform other than YCbCr and no component IDs 'R','G','B'
// (RGB without transform), at most lim.maxEdge pixels on the longest edge
// and lim.maxPixels in all, an estimated quality of at most
// lim.maxQuality (0: any), at most maxLosslessScans scans and
// losslessBytesPerPixel bytes per pixel. Anything else is an error
// wrapping errNotLossless that says why. The ICC profile, if any, is
// returned for the caller to check (only sRGB may be dropped). It
// decodes nothing and allocates the copy (once the frame header
// qualifies), the profile and the quantisation tables.
func losslessJPEG(src []byte, lim losslessLimits) (jpegCopy, error) {
	fail := func(format string, a ...any) (jpegCopy, error) {
		return jpegCopy{}, fmt.Errorf("%w: "+format, append([]any{errNotLossless}, a...)...)
	}
	if len(src) < 4 || src[0] != 0xFF || src[1] != 0xD8 {
		return fail("no SOI")
	}
	// Room for the whole copy only once the frame header qualifies: a
	// 12 MP photo is refused there without a copy of its bytes.
	out := make([]byte, 0, 2048)
	out = append(out, 0xFF, 0xD8)
	var (
		frame                []byte // SOF payload
		jfif, adobe          bool
		adobeTransform       byte
		scans, segments      int
		iccChunks            [][]byte
		iccCount             int
		off                  = 2
		width, height, ncomp int
		componentIDs         [3]byte
		lumaTable            = -1 // Tq of the first component
		qtables              [4][]uint16
		iccBroken            bool
	)
	for {
		if segments++; segments > maxJPEGSegments {
			return fail("more than %d segments", maxJPEGSegments)
		}
		// A marker, optionally preceded by fill bytes (T.81 B.1.1.2).
		if off >= len(src) || src[off] != 0xFF {
			return fail("no marker at byte %d", off)
		}
		for off < len(src) && src[off] == 0xFF {
			off++
		}
		if off >= len(src) {
			return fail("truncated at a marker")
		}
		marker := src[off]
		off++
		if marker == 0xD9 { // EOI: what follows is not part of the image
			if scans == 0 {
				return fail("EOI before any scan")
			}
			out = append(out, 0xFF, 0xD9)
			break
		}
		switch {
		case marker == 0x00, marker == 0xD8, marker == 0x01, marker >= 0xD0 && marker <= 0xD7:
			return fail("marker 0x%02X outside its place", marker)
		}
		if off+2 > len(src) {
			return fail("truncated segment header")
		}
		length := int(binary.BigEndian.Uint16(src[off:]))
		if length < 2 || off+length > len(src) {
			return fail("segment 0x%02X of %d bytes overruns the file", marker, length)
		}
		seg := src[off-2 : off+length] // marker and payload
		payload := src[off+2 : off+length]
		off += length
		switch {
		case marker == 0xC0 || marker == 0xC2: // SOF0 baseline, SOF2 progressive
			if frame != nil {
				return fail("second frame header")
			}
			frame = payload
			if len(payload) < 6 {
				return fail("short frame header")
			}
			height = int(binary.BigEndian.Uint16(payload[1:]))
			width = int(binary.BigEndian.Uint16(payload[3:]))
			ncomp = int(payload[5])
			switch {
			case payload[0] != 8:
				return fail("%d-bit samples", payload[0])
			case ncomp != 1 && ncomp != 3:
				return fail("%d components (CMYK or other)", ncomp)
			case len(payload) != 6+3*ncomp:
				return fail("frame header of %d bytes for %d components", len(payload), ncomp)
			case width == 0 || height == 0:
				return fail("%d×%d pixels (height from DNL?)", width, height)
			case max(width, height) > lim.maxEdge:
				return fail("%d×%d is over the edge of %d", width, height, lim.maxEdge)
			case int64(width)*int64(height) > lim.maxPixels:
				return fail("%d×%d is over %d pixels", width, height, lim.maxPixels)
			}
			for i := range ncomp {
				c := payload[6+3*i:]
				if h, v := c[1]>>4, c[1]&15; h < 1 || h > 4 || v < 1 || v > 4 || c[2] > 3 {
					return fail("component %d: sampling %d×%d, table %d", i, h, v, c[2])
				}
				if ncomp == 3 {
					componentIDs[i] = c[0]
				}
				if i == 0 {
					lumaTable = int(c[2])
				}
			}
			out = slices.Grow(out, len(src)-len(out))
			out = append(out, seg...)
		case marker >= 0xC1 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			return fail("frame type 0x%02X (extended, lossless, hierarchical or arithmetic)", marker)
		case marker == 0xDB: // DQT (T.81 B.2.4.1): read for the quality
			for p := payload; len(p) > 0; {
				precision, id := p[0]>>4, p[0]&15
				n := 64 * (1 + int(precision))
				if precision > 1 || id > 3 || len(p) < 1+n {
					return fail("malformed quantisation table")
				}
				t := make([]uint16, 64)
				for k := range t {
					if precision == 0 {
						t[k] = uint16(p[1+k])
					} else {
						t[k] = binary.BigEndian.Uint16(p[1+2*k:])
					}
				}
				qtables[id] = t
				p = p[1+n:]
			}
			out = append(out, seg...)
		case marker == 0xC4, marker == 0xDD: // DHT, DRI
			out = append(out, seg...)
		case marker == 0xDA: // SOS and its entropy-coded data
			if frame == nil {
				return fail("scan before the frame header")
			}
			if scans++; scans > maxLosslessScans {
				return fail("more than %d scans", maxLosslessScans)
			}
			if len(payload) < 1 || payload[0] < 1 || int(payload[0]) > ncomp || len(payload) != 4+2*int(payload[0]) {
				return fail("malformed scan header")
			}
			end := scanEnd(src, off)
			if end < 0 {
				return fail("scan %d has no end (truncated)", scans)
			}
			out = append(out, seg...)
			out = append(out, src[off:end]...)
			off = end
		case marker == 0xE0: // APP0: JFIF kept without its thumbnail
			if !jfif && len(payload) >= 14 && bytes.HasPrefix(payload, []byte("JFIF\x00")) {
				jfif = true
				out = append(out, 0xFF, 0xE0, 0, 16)
				out = append(out, payload[:12]...) // identifier, version, units, densities
				out = append(out, 0, 0)            // no thumbnail
			}
		case marker == 0xE2 && bytes.HasPrefix(payload, []byte("ICC_PROFILE")):
			// Chunk seq of count (ICC.1:2010 Annex B.4), both 1-based.
			switch {
			case len(payload) < 14 || payload[11] != 0 || payload[12] == 0 || payload[12] > payload[13] ||
				(iccCount != 0 && int(payload[13]) != iccCount):
				iccBroken = true
			case iccChunks == nil:
				iccCount = int(payload[13])
				iccChunks = make([][]byte, iccCount)
				fallthrough
			default:
				iccBroken = iccBroken || iccChunks[payload[12]-1] != nil
				iccChunks[payload[12]-1] = payload[14:]
			}
		case marker == 0xEE && bytes.HasPrefix(payload, []byte("Adobe")):
			// APP14 (Adobe TN 5116): the colour transform decides how 3
			// components are read; only YCbCr (1) may be dropped.
			if len(payload) < 12 {
				return fail("short Adobe segment")
			}
			adobe, adobeTransform = true, payload[11]
		case marker >= 0xE0 && marker <= 0xEF, marker == 0xFE: // other APPn, COM: metadata
		default: // DAC, DNL, DHP, EXP, JPGn, reserved
			return fail("marker 0x%02X", marker)
		}
	}
	if ncomp == 3 {
		if adobe && adobeTransform != 1 {
			return fail("Adobe colour transform %d (not YCbCr)", adobeTransform)
		}
		if componentIDs == [3]byte{'R', 'G', 'B'} {
			return fail("RGB components without colour transform")
		}
	}
	if iccBroken {
		return fail("ICC profile chunks malformed")
	}
	var icc []byte
	for i, c := range iccChunks {
		if c == nil {
			return fail("ICC profile chunk %d of %d missing", i+1, iccCount)
		}
		icc = append(icc, c...)
	}
	if lumaTable < 0 || qtables[lumaTable] == nil {
		return fail("no quantisation table %d", lumaTable)
	}
	if q := ijgQuality(qtables[lumaTable]); lim.maxQuality > 0 && q > lim.maxQuality {
		return fail("quality about %d, over %d", q, lim.maxQuality)
	}
	if len(out) > width*height*losslessBytesPerPixel+losslessTableBytes {
		return fail("%d bytes for %d×%d pixels", len(out), width, height)
	}
	return jpegCopy{data: out, width: width, height: height, icc: icc}, nil
}

// stdLuminance is the luminance quantisation table of ITU-T T.81 Table
// K.1, which IJG's libjpeg (and most encoders) scale by their quality.
var stdLuminance = [64]uint16{
	16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
}

// ijgQuality estimates the IJG quality (1..100) a luminance table was
// made with: its mean scale against stdLuminance, inverted as libjpeg's
// jpeg_quality_scaling (scale = 5000/q below 50, 200 - 2q above). Order
// does not matter (sums), so zigzag tables need no reordering.
func ijgQuality(t []uint16) int {
	var sum, std int
	for i, v := range t {
		sum += int(v)
		std += int(stdLuminance[i])
	}
	scale := float64(sum) * 100 / float64(std)
	q := 5000 / scale
	if scale <= 100 {
		q = (200 - scale) / 2
	}
	return max(1, min(100, int(q+0.5)))
}

// scanEnd returns the offset of the marker that ends the entropy-coded
// data starting at off (T.81 B.1.1.5: 0xFF is followed by a stuffed 0x00
// or a restart marker inside it; any other marker, with its fill bytes,
// ends it), or -1 when the file ends first.
func scanEnd(src []byte, off int) int {
	for {
		i := bytes.IndexByte(src[off:], 0xFF)
		if i < 0 || off+i+1 >= len(src) {
			return -1
		}
		off += i
		switch next := src[off+1]; {
		case next == 0x00, next >= 0xD0 && next <= 0xD7:
			off += 2
		default: // a marker (or fill bytes before one)
			return off
		}
	}
}

// teamCopyPaths counts team copies by the way they were made.
type teamCopyPaths struct {
	lossless  atomic.Int64 // losslessTeamCopy
	converted atomic.Int64 // vips.TeamCopy (decoded, converted, re-encoded)
}

// losslessTeamCopy is the team copy of a JPEG that needs no pixel work:
// losslessJPEG's copy, if the original carried no ICC profile or an
// sRGB one (an untagged JPEG is shown as sRGB: the pixels a viewer sees
// stay the same; any other profile needs the converting path), with a
// thumbnail from a DCT-scaled decode of the copy itself, which also
// proves that libjpeg reads the copy without a single warning. o.Orientation
// must be 0 or 1. Errors wrap errNotLossless or vips.ErrUnreadable: the
// caller takes the converting path.
func losslessTeamCopy(src []byte, o vips.Options) (vips.Result, error) {
	if o.Orientation > 1 {
		return vips.Result{}, fmt.Errorf("%w: orientation %d", errNotLossless, o.Orientation)
	}
	c, err := losslessJPEG(src, losslessLimits{maxEdge: o.MaxEdge, maxPixels: o.MaxPixels,
		maxQuality: cmp.Or(o.Quality, vips.DefaultQuality) + losslessQualityMargin})
	if err != nil {
		return vips.Result{}, err
	}
	if c.icc != nil && !vips.IsSRGB(c.icc) {
		return vips.Result{}, fmt.Errorf("%w: colour profile other than sRGB", errNotLossless)
	}
	tc, err := vips.JPEGThumbnail(c.data, o)
	if err != nil {
		return vips.Result{}, err
	}
	if tc.Width != c.width || tc.Height != c.height {
		return vips.Result{}, fmt.Errorf("%w: libjpeg reads %d×%d, the frame header says %d×%d", errNotLossless, tc.Width, tc.Height, c.width, c.height)
	}
	tc.Full = c.data
	tc.Decoder = decoderLossless
	return tc, nil
}

// decoderLossless is vips.Result.Decoder of a lossless team copy: its
// pixels were not decoded (the thumbnail's were, by libjpeg).
const decoderLossless = "lossless"
