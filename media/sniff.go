package media

import (
	"bytes"
	"encoding/binary"
	"net/http"
)

// SniffLen is how many leading bytes Sniff looks at.
const SniffLen = 512

// Sniff returns the content type of a body from its first bytes, ignoring
// any name or type a client claims. Unknown data falls back to
// net/http.DetectContentType, which no default allow-list entry matches for
// executables or archives.
func Sniff(head []byte) string {
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return TypeJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return TypeWebP
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return TypePDF
	}
	if t := sniffFtyp(head); t != "" {
		return t
	}
	return http.DetectContentType(head)
}

// sniffFtyp classifies an ISO-BMFF file by the brands in its ftyp box.
func sniffFtyp(head []byte) string {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return ""
	}
	size := int(binary.BigEndian.Uint32(head[0:4]))
	if size < 16 || size > len(head) {
		size = min(len(head), 256)
	}
	brands := [][]byte{head[8:12]}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, head[i:i+4])
	}
	has := func(list ...string) bool {
		for _, b := range brands {
			for _, l := range list {
				if string(b) == l {
					return true
				}
			}
		}
		return false
	}
	major := string(head[8:12])
	switch {
	case has("heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"):
		return TypeHEIC
	case major == "mif1" || major == "msf1" || has("mif1", "msf1") && !has("avif", "avis"):
		if has("avif", "avis") {
			return "image/avif"
		}
		return TypeHEIF
	case has("avif", "avis"):
		return "image/avif"
	case major == "qt  ":
		return TypeMOV
	case has("isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V ", "MSNV", "dash", "mmp4", "3gp4", "3gp5", "3gp6"):
		return TypeMP4
	}
	return ""
}
