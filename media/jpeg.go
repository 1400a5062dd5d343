package media

import (
	"bytes"
	"encoding/binary"
	"io"
)

// jpegInfo is what scanJPEG finds before the image data.
type jpegInfo struct {
	tiff            []byte // payload of the first Exif APP1 segment (≤ 64 KiB)
	tiff2           []byte // payload of a second Exif APP1 segment, if any
	xmp, iptc, icc  bool
	comment, others bool
	xmpOrientation  int
	xmpPosition     *Position // exif:GPSLatitude/Longitude in XMP (xmp.go)
	truncated       bool      // file ended inside the header segments
}

// maxJPEGSegments bounds the marker walk; real files have < 30 segments.
const maxJPEGSegments = 512

// xmpOrientation finds tiff:Orientation="N" or <tiff:Orientation>N< in an
// XMP packet; 0 if absent.
func xmpOrientation(p []byte) int {
	const name = "tiff:Orientation"
	for {
		i := bytes.Index(p, []byte(name))
		if i < 0 {
			return 0
		}
		p = p[i+len(name):]
		if len(p) >= 3 && (p[0] == '>' || p[0] == '=' && p[1] == '"') {
			v := p[1:]
			if p[0] == '=' {
				v = p[2:]
			}
			if len(v) >= 2 && v[0] >= '1' && v[0] <= '8' && (v[1] == '<' || v[1] == '"') {
				return int(v[0] - '0')
			}
		}
	}
}

// scanJPEG walks the JPEG marker segments up to the start of scan, reading
// only 4-byte headers and the (at most 64 KiB) APP1 payloads it needs.
func scanJPEG(r io.ReaderAt, size int64) (jpegInfo, error) {
	var info jpegInfo
	var hdr [4]byte
	off := int64(2) // after SOI
	for seg := 0; seg < maxJPEGSegments; seg++ {
		if off+4 > size {
			info.truncated = true
			return info, nil
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return info, ioErr(err)
		}
		if hdr[0] != 0xFF {
			return info, nil // not a marker: corrupt; keep what we have
		}
		marker := hdr[1]
		switch {
		case marker == 0xFF: // fill byte
			off++
			continue
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			off += 2
			continue
		case marker == 0xD9 || marker == 0xDA: // EOI, SOS: metadata ends
			return info, nil
		}
		length := int64(binary.BigEndian.Uint16(hdr[2:]))
		if length < 2 {
			return info, nil
		}
		payloadOff, payloadLen := off+4, length-2
		if payloadOff+payloadLen > size {
			info.truncated = true
			payloadLen = size - payloadOff
		}
		switch marker {
		case 0xE1:
			p, err := readAtMost(r, payloadOff, payloadLen)
			if err != nil {
				return info, err
			}
			switch {
			case len(p) >= 6 && bytes.HasPrefix(p, []byte("Exif\x00")):
				// CIPA DC-008 §4.7.2: "Exif", NUL, a padding byte that is
				// NUL by the standard and 0xFF from some writers (exiftool
				// reads either). A second Exif segment (an app that added
				// its own without removing the camera's) is kept apart.
				switch {
				case info.tiff == nil:
					info.tiff = p[6:]
				case info.tiff2 == nil:
					info.tiff2 = p[6:]
				}
			case bytes.HasPrefix(p, []byte("http://ns.adobe.com/xap/1.0/")), bytes.HasPrefix(p, []byte("http://ns.adobe.com/xmp/extension/")):
				info.xmp = true
				if info.xmpOrientation == 0 {
					info.xmpOrientation = xmpOrientation(p)
				}
				if info.xmpPosition == nil {
					info.xmpPosition = xmpGPS(p)
				}
			default:
				info.others = true
			}
		case 0xE2:
			p, err := readAtMost(r, payloadOff, min(payloadLen, 12))
			if err != nil {
				return info, err
			}
			if bytes.HasPrefix(p, []byte("ICC_PROFILE")) {
				info.icc = true
			} else {
				info.others = true
			}
		case 0xED:
			info.iptc = true
		case 0xFE:
			info.comment = true
		default:
			if marker >= 0xE3 && marker <= 0xEF {
				info.others = true
			}
		}
		if info.truncated {
			return info, nil
		}
		off = payloadOff + payloadLen
	}
	return info, nil
}

// readAtMost reads n bytes at off (n is bounded by the caller), tolerating a
// short read at end of data.
func readAtMost(r io.ReaderAt, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	p := make([]byte, n)
	m, err := r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return nil, ioErr(err)
	}
	return p[:m], nil
}
