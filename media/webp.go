package media

import (
	"bytes"
	"encoding/binary"
	"io"
)

// maxWebPChunks bounds the RIFF chunk walk; an extended WebP has at most
// VP8X, ICCP, ANIM/ANMF or ALPH and VP8/VP8L, EXIF and "XMP ".
const maxWebPChunks = 64

// scanWebP walks the chunks of a WebP file (RFC 9649, §2.7 extended file
// format) and returns what scanJPEG returns for a JPEG: the TIFF payload
// of the EXIF chunk (it starts with the TIFF header; an "Exif\0\0" prefix
// some writers add is skipped), position and orientation from the
// "XMP " chunk, and whether an ICC profile is there. It reads 8-byte
// chunk headers and only the payloads it needs, each bounded.
func scanWebP(r io.ReaderAt, size int64) (jpegInfo, error) {
	var info jpegInfo
	off := int64(12) // "RIFF", size, "WEBP"
	var hdr [8]byte
	for n := 0; n < maxWebPChunks; n++ {
		if off+8 > size {
			if off < size {
				info.truncated = true
			}
			return info, nil
		}
		if _, err := r.ReadAt(hdr[:], off); err != nil {
			return info, ioErr(err)
		}
		length := int64(binary.LittleEndian.Uint32(hdr[4:8]))
		payloadOff := off + 8
		if payloadOff+length > size {
			info.truncated = true
			length = size - payloadOff
		}
		switch string(hdr[:4]) {
		case "EXIF":
			if info.tiff == nil {
				p, err := readAtMost(r, payloadOff, min(length, maxTIFFBytes+6))
				if err != nil {
					return info, err
				}
				info.tiff = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
			}
		case "XMP ":
			p, err := readAtMost(r, payloadOff, min(length, maxXMPPacket))
			if err != nil {
				return info, err
			}
			info.xmp = true
			if info.xmpOrientation == 0 {
				info.xmpOrientation = xmpOrientation(p)
			}
			if info.xmpPosition == nil {
				info.xmpPosition = xmpGPS(p)
			}
		case "ICCP":
			info.icc = true
		}
		if info.truncated {
			return info, nil
		}
		off = payloadOff + length + length&1 // chunks are padded to an even size
	}
	return info, nil
}
