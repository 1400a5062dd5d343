package media

import (
	"bytes"
	"encoding/binary"
	"io"
)

// Limits of the ISO-BMFF walk.
const (
	maxMetaBox     = 4 << 20 // the 'meta' box is read into memory whole
	maxTopBoxes    = 64
	maxExifExtents = 16
)

// findHEIFExif locates the Exif item of a HEIC/HEIF file (ISO/IEC 23008-12)
// and returns its TIFF payload, at most maxTIFFBytes. It reads box headers,
// the meta box (bounded) and the item's extents.
func findHEIFExif(r io.ReaderAt, size int64) ([]byte, string, error) {
	var off int64
	for i := 0; i < maxTopBoxes && off+8 <= size; i++ {
		hdr, err := readAtMost(r, off, 16)
		if err != nil {
			return nil, "", err
		}
		if len(hdr) < 8 {
			break
		}
		bsize, hlen := int64(binary.BigEndian.Uint32(hdr)), int64(8)
		typ := string(hdr[4:8])
		switch bsize {
		case 0:
			bsize = size - off
		case 1:
			if len(hdr) < 16 {
				return nil, "truncated box header", nil
			}
			bsize, hlen = int64(binary.BigEndian.Uint64(hdr[8:])), 16
		}
		if bsize < hlen || bsize > size-off {
			return nil, "malformed box " + printable(typ), nil
		}
		if typ == "meta" {
			if bsize-hlen > maxMetaBox {
				return nil, "meta box too large", nil
			}
			meta, err := readAtMost(r, off+hlen, bsize-hlen)
			if err != nil {
				return nil, "", err
			}
			return exifFromMeta(r, size, meta)
		}
		off += bsize
	}
	return nil, "no meta box", nil
}

type bmff struct {
	b   []byte
	bad bool
}

func (p *bmff) u(n int) uint64 {
	if p.bad || n < 0 || n > len(p.b) {
		p.bad = true
		return 0
	}
	var v uint64
	for _, c := range p.b[:n] {
		v = v<<8 | uint64(c)
	}
	p.b = p.b[n:]
	return v
}

// children splits a box payload into (type, payload) pairs.
func children(b []byte, fn func(typ string, payload []byte) bool) {
	for len(b) >= 8 {
		size, hlen := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		if size == 1 {
			if len(b) < 16 {
				return
			}
			size, hlen = binary.BigEndian.Uint64(b[8:]), 16
		} else if size == 0 {
			size = uint64(len(b))
		}
		if size < hlen || size > uint64(len(b)) {
			return
		}
		if !fn(string(b[4:8]), b[hlen:size]) {
			return
		}
		b = b[size:]
	}
}

type extent struct{ off, len uint64 }

func exifFromMeta(r io.ReaderAt, size int64, meta []byte) ([]byte, string, error) {
	if len(meta) < 4 {
		return nil, "truncated meta box", nil
	}
	var exifID uint64
	var found bool
	var idat, iloc []byte
	children(meta[4:], func(typ string, p []byte) bool {
		switch typ {
		case "iloc":
			iloc = p
		case "iinf":
			b := &bmff{b: p}
			v := b.u(1)
			b.u(3)
			if v == 0 {
				b.u(2)
			} else {
				b.u(4)
			}
			if b.bad {
				return true
			}
			children(b.b, func(t string, e []byte) bool {
				if t != "infe" || len(e) < 4 {
					return true
				}
				ib := &bmff{b: e}
				iv := ib.u(1)
				ib.u(3)
				var id uint64
				switch iv {
				case 2:
					id = ib.u(2)
				case 3:
					id = ib.u(4)
				default:
					return true
				}
				ib.u(2) // protection index
				it := ib.b
				if !ib.bad && len(it) >= 4 && string(it[:4]) == "Exif" && !found {
					exifID, found = id, true
				}
				return true
			})
		case "idat":
			idat = p
		}
		return true
	})
	if !found {
		return nil, "no Exif item", nil
	}
	var loc struct {
		method, base uint64
		ext          []extent
	}
	{
		b := &bmff{b: iloc}
		v := b.u(1)
		b.u(3)
		sz := b.u(1)
		offSize, lenSize := int(sz>>4), int(sz&15)
		sz = b.u(1)
		baseSize, idxSize := int(sz>>4), int(sz&15)
		if v != 1 && v != 2 {
			idxSize = 0
		}
		var count uint64
		if v < 2 {
			count = b.u(2)
		} else {
			count = b.u(4)
		}
		for i := uint64(0); i < count && !b.bad; i++ {
			var id, method uint64
			if v < 2 {
				id = b.u(2)
			} else {
				id = b.u(4)
			}
			if v == 1 || v == 2 {
				method = b.u(2) & 15
			}
			b.u(2) // data reference index
			base := b.u(baseSize)
			n := b.u(2)
			var ext []extent
			for j := uint64(0); j < n && !b.bad; j++ {
				b.u(idxSize)
				e := extent{off: b.u(offSize), len: b.u(lenSize)}
				if j < maxExifExtents {
					ext = append(ext, e)
				}
			}
			if !b.bad && id == exifID {
				loc.method, loc.base, loc.ext = method, base, ext
				break
			}
		}
	}
	if len(loc.ext) == 0 {
		return nil, "Exif item has no location", nil
	}
	var data []byte
	for _, e := range loc.ext {
		start := loc.base + e.off
		length := e.len
		room := uint64(maxTIFFBytes + 64 - len(data))
		if length == 0 || length > room {
			length = room
		}
		switch loc.method {
		case 0:
			if start >= uint64(size) {
				return nil, "Exif item outside file", nil
			}
			length = min(length, uint64(size)-start)
			p, err := readAtMost(r, int64(start), int64(length))
			if err != nil {
				return nil, "", err
			}
			data = append(data, p...)
		case 1:
			if start >= uint64(len(idat)) {
				return nil, "Exif item outside idat", nil
			}
			data = append(data, idat[start:min(start+length, uint64(len(idat)))]...)
		default:
			return nil, "unsupported Exif item construction", nil
		}
		if len(data) >= maxTIFFBytes+64 {
			break
		}
	}
	// ExifDataBlock: 4-byte offset to the TIFF header, usually after "Exif\0\0".
	if len(data) < 4 {
		return nil, "Exif item too short", nil
	}
	if h := string(data[:4]); h == "II*\x00" || h == "MM\x00*" || h == "Exif" {
		// Some writers leave the offset out and start with "Exif\0\0" or
		// the TIFF header itself (exiftool reads both, warning "Missing
		// Exif header").
		return bytes.TrimPrefix(data, []byte("Exif\x00\x00")), "", nil
	}
	skip := uint64(binary.BigEndian.Uint32(data))
	data = data[4:]
	if skip > uint64(len(data)) {
		return nil, "Exif item header offset out of range", nil
	}
	data = data[skip:]
	if len(data) >= 6 && string(data[:6]) == "Exif\x00\x00" {
		data = data[6:]
	}
	return data, "", nil
}

func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
