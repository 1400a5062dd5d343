package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
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
// the image data; an "Exif\0\0" prefix of early writers is skipped), the
// XMP packet of an iTXt chunk with keyword "XML:com.adobe.xmp" (read for
// position and orientation as in a JPEG), and which other metadata the
// team copy drops (iCCP, tEXt/zTXt/iTXt, tIME). It reads 8-byte chunk
// headers and only the payloads it needs, each bounded.
func scanPNG(r io.ReaderAt, size int64) (jpegInfo, error) {
	var info jpegInfo
	off := int64(len(pngSignature))
	idats := 0
	var hdr [8]byte
	for n := 0; n < maxPNGChunks; n++ {
		if off+12 > size {
			info.truncated = true
			return info, nil
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return info, ioErr(err)
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
			return info, nil
		case "IDAT":
			if idats++; idats > maxPNGIDATs {
				if info.tiff == nil {
					tail, err := pngTailExif(r, size)
					if err != nil {
						return info, err
					}
					info.tiff = tail
				}
				return info, nil
			}
		case "eXIf":
			if info.tiff == nil {
				p, err := readAtMost(r, payloadOff, min(length, maxTIFFBytes+6))
				if err != nil {
					return info, err
				}
				info.tiff = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
			}
		case "iTXt":
			p, err := readAtMost(r, payloadOff, min(length, maxXMPPacket))
			if err != nil {
				return info, err
			}
			if packet, ok := pngXMP(p); ok {
				info.xmp = true
				if info.xmpOrientation == 0 {
					info.xmpOrientation = xmpOrientation(packet)
				}
				if info.xmpPosition == nil {
					info.xmpPosition = xmpGPS(packet)
				}
			} else {
				info.comment = true
			}
		case "tEXt", "zTXt", "tIME":
			info.comment = true
		case "iCCP":
			info.icc = true
		}
		if info.truncated {
			return info, nil
		}
		off = payloadOff + length + 4 // CRC
	}
	return info, nil
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

// pngXMP returns the XMP packet of an iTXt chunk payload p whose keyword
// is "XML:com.adobe.xmp" (XMP Specification Part 3, §1.1.5), inflating it
// (at most maxXMPPacket bytes) when the chunk is compressed.
func pngXMP(p []byte) ([]byte, bool) {
	const keyword = "XML:com.adobe.xmp\x00"
	if !bytes.HasPrefix(p, []byte(keyword)) || len(p) < len(keyword)+2 {
		return nil, false
	}
	compressed := p[len(keyword)] == 1
	rest := p[len(keyword)+2:]
	for range 2 { // language tag, translated keyword
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, false
		}
		rest = rest[i+1:]
	}
	if !compressed {
		return rest, true
	}
	zr, err := zlib.NewReader(bytes.NewReader(rest))
	if err != nil {
		return nil, false
	}
	defer zr.Close()
	packet, _ := io.ReadAll(io.LimitReader(zr, maxXMPPacket)) // a damaged stream keeps what inflated
	return packet, true
}
