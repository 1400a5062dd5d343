package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"strconv"
)

// Limits of the PNG chunk walk.
const (
	// maxPNGChunks bounds the walk; a photo has a few dozen chunks before
	// its image data.
	maxPNGChunks = 512
	// maxPNGIDATs is how many image data chunks the walk steps over to
	// find an eXIf after them (ImageMagick writes it there): each step
	// reads one 8-byte header, one 64 KiB block of a ranged read from S3
	// each. Past it, the file's end is searched instead (pngTailExif),
	// which is where such an eXIf stands: an 18.6 MB ImageMagick PNG (569
	// IDAT chunks of 32 KiB) took 154 ms from MinIO with 64 steps, 21 ms
	// with 8.
	maxPNGIDATs = 8
	// maxXMPPacket bounds an XMP packet read from a PNG iTXt chunk or a
	// WebP "XMP " chunk, as a JPEG APP1 segment bounds it.
	maxXMPPacket = 64 << 10
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// scanPNG walks the chunks of a PNG (W3C PNG Specification, 3rd edition,
// §5.3 chunk layout) and returns what scanJPEG returns for a JPEG: the
// TIFF payload of the eXIf chunk (§11.3.6.1; at most one, before or after
// the image data; an "Exif\0\0" prefix of early writers is skipped), or
// else of a "Raw profile type exif" (or "APP1") text chunk, where exiv2
// (GIMP, digiKam, darktable, Shotwell) and old ImageMagick put EXIF; the
// XMP packet of an iTXt chunk with keyword "XML:com.adobe.xmp" (read for
// position and orientation as in a JPEG); and which other metadata the
// team copy drops (iCCP, tEXt/zTXt/iTXt, tIME). It reads 8-byte chunk
// headers and only the payloads it needs, each bounded.
func scanPNG(r io.ReaderAt, size int64) (jpegInfo, error) {
	info, raw, err := walkPNG(r, size)
	if info.tiff == nil {
		info.tiff = raw
	}
	return info, err
}

// walkPNG is scanPNG's chunk walk; raw is the TIFF of a raw-profile text
// chunk, if any.
func walkPNG(r io.ReaderAt, size int64) (info jpegInfo, raw []byte, err error) {
	off := int64(len(pngSignature))
	idats := 0
	var hdr [8]byte
	for n := 0; n < maxPNGChunks; n++ {
		if off+12 > size {
			info.truncated = true
			return info, raw, nil
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return info, raw, ioErr(err)
		}
		length := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		payloadOff := off + 8
		if length > 1<<31-1 || payloadOff+length+4 > size {
			info.truncated = true
			length = max(0, size-payloadOff)
		}
		switch typ {
		case "IEND":
			return info, raw, nil
		case "IDAT":
			if idats++; idats > maxPNGIDATs {
				if info.tiff == nil {
					info.tiff, err = pngTailExif(r, size)
				}
				return info, raw, err
			}
		case "eXIf":
			if info.tiff == nil {
				p, err := readAtMost(r, payloadOff, min(length, maxTIFFBytes+6))
				if err != nil {
					return info, raw, err
				}
				info.tiff = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
			}
		case "tEXt", "zTXt", "iTXt":
			p, err := readAtMost(r, payloadOff, min(length, maxPNGText))
			if err != nil {
				return info, raw, err
			}
			keyword, text, ok := pngText(typ, p)
			switch {
			case !ok:
				info.comment = true
			case keyword == "XML:com.adobe.xmp":
				info.xmp = true
				if info.xmpOrientation == 0 {
					info.xmpOrientation = xmpOrientation(text)
				}
				if info.xmpPosition == nil {
					info.xmpPosition = xmpGPS(text)
				}
			case (keyword == "Raw profile type exif" || keyword == "Raw profile type APP1") && raw == nil:
				raw = rawProfileTIFF(text)
				if raw == nil {
					info.comment = true
				}
			default:
				info.comment = true
			}
		case "tIME":
			info.comment = true
		case "iCCP":
			info.icc = true
		}
		if info.truncated {
			return info, raw, nil
		}
		off = payloadOff + length + 4 // CRC
	}
	return info, raw, nil
}

// maxPNGText bounds a text chunk read (compressed or not) and its
// inflated text: an XMP packet (maxXMPPacket) or a raw EXIF profile, hex
// with line breaks (about 2.1 characters per byte of maxTIFFBytes).
const maxPNGText = 2*maxTIFFBytes + 64<<10

// pngText returns the keyword and text of a tEXt, zTXt or iTXt chunk
// payload (PNG §11.3.3), inflating compressed text up to maxPNGText
// bytes (a damaged stream keeps what inflated). ok is false for a
// malformed chunk.
func pngText(typ string, p []byte) (keyword string, text []byte, ok bool) {
	k, rest, found := bytes.Cut(p, []byte{0})
	if !found || len(k) == 0 || len(k) > 79 {
		return "", nil, false
	}
	compressed := false
	switch typ {
	case "zTXt":
		if len(rest) < 1 {
			return "", nil, false
		}
		compressed, rest = true, rest[1:]
	case "iTXt":
		if len(rest) < 2 {
			return "", nil, false
		}
		compressed, rest = rest[0] == 1, rest[2:]
		for range 2 { // language tag, translated keyword
			var ok bool
			if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
				return "", nil, false
			}
		}
	}
	if !compressed {
		return string(k), rest, true
	}
	zr, err := zlib.NewReader(bytes.NewReader(rest))
	if err != nil {
		return "", nil, false
	}
	defer zr.Close()
	text, _ = io.ReadAll(io.LimitReader(zr, maxPNGText))
	return string(k), text, true
}

// rawProfileTIFF decodes ImageMagick's and exiv2's raw profile text
// ("\n<name>\n<decimal length>\n<hex digits in lines>") and returns its
// TIFF (the data starts with "Exif\0\0", which is skipped), at most
// maxTIFFBytes; nil if it is not one.
func rawProfileTIFF(text []byte) []byte {
	fields := bytes.Fields(text)
	if len(fields) < 3 {
		return nil
	}
	n, err := strconv.Atoi(string(fields[1]))
	if err != nil || n <= 0 {
		return nil
	}
	n = min(n, maxTIFFBytes+6)
	out := make([]byte, 0, n)
	for _, line := range fields[2:] {
		if len(out) >= n {
			break
		}
		b, err := hex.DecodeString(string(line))
		if err != nil {
			return nil
		}
		out = append(out, b...)
	}
	out = bytes.TrimPrefix(out[:min(len(out), n)], []byte("Exif\x00\x00"))
	if len(out) < 8 {
		return nil
	}
	return out
}

// pngTailWindow is how much of a PNG's end pngTailExif reads: an eXIf
// chunk (at most maxTIFFBytes taken) and the text chunks ImageMagick
// writes after it.
const pngTailWindow = maxTIFFBytes + 64<<10

// pngTailExif finds an eXIf chunk in the last pngTailWindow bytes of a PNG
// whose image data is too long to step over chunk by chunk (ImageMagick
// writes eXIf after IDAT, right before its text chunks and IEND). A chunk
// counts only if its length fits and its CRC-32 (PNG §5.3) matches, so
// compressed image data that happens to contain "eXIf" is not taken for
// one. nil if there is none.
func pngTailExif(r io.ReaderAt, size int64) ([]byte, error) {
	start := max(int64(len(pngSignature)), size-pngTailWindow)
	tail, err := readAtMost(r, start, size-start)
	if err != nil {
		return nil, err
	}
	for end := len(tail); ; {
		i := bytes.LastIndex(tail[:end], []byte("eXIf"))
		if i < 4 {
			return nil, nil
		}
		end = i
		n := int(binary.BigEndian.Uint32(tail[i-4:]))
		if n < 0 || n > len(tail)-i-8 {
			continue
		}
		if crc32.ChecksumIEEE(tail[i:i+4+n]) != binary.BigEndian.Uint32(tail[i+4+n:]) {
			continue
		}
		return bytes.TrimPrefix(tail[i+4:i+4+min(n, maxTIFFBytes+6)], []byte("Exif\x00\x00")), nil
	}
}
