package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Limits of the TIFF validator. They bound what goexif can ever be asked to
// do: it only sees the canonical TIFF that cleanTIFF writes.
const (
	maxTIFFBytes     = 256 << 10 // largest EXIF payload we look at
	maxIFDEntries    = 512       // per IFD; real cameras write < 100
	maxTotalEntries  = 1024      // across IFD0, Exif, GPS and Interop IFDs
	maxValueBudget   = 256 << 10 // sum of all out-of-line tag value bytes
	tagExifIFD       = 0x8769
	tagGPSIFD        = 0x8825
	tagInteropIFD    = 0xA005
	tagMakerNote     = 0x927C
	tiffTypeLong     = 4
	tiffTypeMaxKnown = 12
)

// typeSizes are the byte sizes of TIFF field types 1..12; the types goexif
// knows. Anything else (including type 13, IFD) is dropped.
var typeSizes = [tiffTypeMaxKnown + 1]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8}

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	val      []byte // exactly count × size bytes, in the source byte order
}

type tiffIFD struct {
	entries []tiffEntry
	sub     map[uint16]*tiffIFD // pointer tag → sub-IFD
}

// tiffReport records what the validator found, for Metadata.Dropped and
// for explaining why there is no position.
type tiffReport struct {
	dropped   int  // entries dropped as malformed
	hasGPS    bool // a GPS IFD was present
	badGPS    bool // a GPS IFD pointer was present but unusable
	tags      map[uint16]bool
	truncated bool
	hasThumb  bool   // IFD0 links to IFD1 (embedded thumbnail)
	offsetTO  string // OffsetTimeOriginal (0x9011), if any
}

var errBadTIFF = errors.New("malformed TIFF header")

// cleanTIFF validates the TIFF structure in b and writes a canonical copy
// holding only IFD0 and its Exif, GPS and Interop sub-IFDs: no IFD chain
// (so no cycles), no thumbnail, no maker-note internals, every entry of a
// known type with count ≥ 1 and count × size computed in 64 bits and inside
// b, at most maxTotalEntries entries and maxValueBudget value bytes. Bad
// entries are dropped, not fatal, so one broken tag does not cost the
// position. The result is at most about 2 × maxValueBudget bytes.
func cleanTIFF(b []byte) ([]byte, tiffReport, error) {
	rep := tiffReport{tags: map[uint16]bool{}}
	if len(b) > maxTIFFBytes {
		b, rep.truncated = b[:maxTIFFBytes], true
	}
	if len(b) < 8 {
		return nil, rep, errBadTIFF
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, rep, errBadTIFF
	}
	p := &tiffParser{b: b, bo: bo, seen: map[uint32]bool{}, rep: &rep}
	off0 := bo.Uint32(b[4:8])
	ifd0 := p.ifd(off0, 0)
	if ifd0 == nil {
		return nil, rep, fmt.Errorf("IFD0 unreadable")
	}
	if n := uint64(bo.Uint16(b[off0:])); uint64(off0)+2+12*n+4 <= uint64(len(b)) {
		rep.hasThumb = bo.Uint32(b[uint64(off0)+2+12*n:]) != 0
	}
	return writeTIFF(bo, ifd0), rep, nil
}

type tiffParser struct {
	b       []byte
	bo      binary.ByteOrder
	seen    map[uint32]bool // IFD offsets visited: no IFD is parsed twice
	entries int
	budget  uint64
	rep     *tiffReport
}

// ifd parses the IFD at off; level 0 is IFD0, 1 Exif/GPS, 2 Interop.
func (p *tiffParser) ifd(off uint32, level int) *tiffIFD {
	if off < 8 || p.seen[off] || uint64(off)+2 > uint64(len(p.b)) {
		return nil
	}
	p.seen[off] = true
	n := uint64(p.bo.Uint16(p.b[off:]))
	if n > maxIFDEntries || uint64(off)+2+12*n > uint64(len(p.b)) {
		return nil
	}
	d := &tiffIFD{sub: map[uint16]*tiffIFD{}}
	var subs []struct {
		tag uint16
		off uint32
	}
	for i := uint64(0); i < n; i++ {
		if p.entries >= maxTotalEntries {
			p.rep.dropped += int(n - i)
			break
		}
		e := p.b[uint64(off)+2+12*i:][:12]
		tag, typ, count := p.bo.Uint16(e[0:]), p.bo.Uint16(e[2:]), p.bo.Uint32(e[4:])
		isPtr := tag == tagExifIFD || tag == tagGPSIFD || tag == tagInteropIFD
		if isPtr {
			// Sub-IFD pointers: one LONG, followed at most to level 2.
			if typ != tiffTypeLong || count != 1 || level >= 2 ||
				(tag == tagInteropIFD) != (level == 1) {
				p.rep.dropped++
				p.rep.badGPS = p.rep.badGPS || tag == tagGPSIFD
				continue
			}
			subs = append(subs, struct {
				tag uint16
				off uint32
			}{tag, p.bo.Uint32(e[8:])})
			continue
		}
		if typ == 0 || typ > tiffTypeMaxKnown || count == 0 {
			p.rep.dropped++
			continue
		}
		size := typeSizes[typ] * uint64(count) // ≤ 8 × (2³²−1): no overflow in 64 bits
		var val []byte
		if size <= 4 {
			val = e[8 : 8+size]
		} else {
			voff := uint64(p.bo.Uint32(e[8:]))
			if voff+size > uint64(len(p.b)) || p.budget+size > maxValueBudget {
				p.rep.dropped++
				continue
			}
			p.budget += size
			val = p.b[voff : voff+size]
		}
		p.entries++
		p.rep.tags[tag] = true
		if tag == 0x9011 && typ == 2 && level == 1 {
			p.rep.offsetTO = string(bytes.TrimRight(val, "\x00"))
		}
		d.entries = append(d.entries, tiffEntry{tag: tag, typ: typ, count: count, val: val})
	}
	for _, s := range subs {
		if sub := p.ifd(s.off, level+1); sub != nil {
			d.sub[s.tag] = sub
			if s.tag == tagGPSIFD {
				p.rep.hasGPS = true
			}
		} else {
			p.rep.dropped++
			if s.tag == tagGPSIFD {
				p.rep.badGPS = true
			}
		}
	}
	return d
}

// writeTIFF serialises ifd0 and its sub-IFDs in canonical form.
func writeTIFF(bo binary.ByteOrder, ifd0 *tiffIFD) []byte {
	out := make([]byte, 8, 1024)
	if bo == binary.LittleEndian {
		copy(out, "II*\x00")
	} else {
		copy(out, "MM\x00*")
	}
	bo.PutUint32(out[4:], 8)
	writeIFD(&out, bo, ifd0)
	return out
}

// writeIFD appends d at the end of *out (word-aligned), its values after it,
// then its sub-IFDs, patching the pointer entries. It returns d's offset.
func writeIFD(out *[]byte, bo binary.ByteOrder, d *tiffIFD) uint32 {
	if len(*out)%2 == 1 {
		*out = append(*out, 0)
	}
	start := len(*out)
	ptrTags := make([]uint16, 0, len(d.sub))
	for t := range d.sub {
		ptrTags = append(ptrTags, t)
	}
	sort.Slice(ptrTags, func(i, j int) bool { return ptrTags[i] < ptrTags[j] })
	entries := append([]tiffEntry(nil), d.entries...)
	for _, t := range ptrTags {
		entries = append(entries, tiffEntry{tag: t, typ: tiffTypeLong, count: 1, val: make([]byte, 4)})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].tag < entries[j].tag })
	n := len(entries)
	*out = append(*out, make([]byte, 2+12*n+4)...) // next-IFD offset stays 0: no chain
	bo.PutUint16((*out)[start:], uint16(n))
	ptrSlot := map[uint16]int{}
	for i, e := range entries {
		at := start + 2 + 12*i
		bo.PutUint16((*out)[at:], e.tag)
		bo.PutUint16((*out)[at+2:], e.typ)
		bo.PutUint32((*out)[at+4:], e.count)
		if _, isPtr := d.sub[e.tag]; isPtr && e.typ == tiffTypeLong && e.count == 1 {
			ptrSlot[e.tag] = at + 8
			continue
		}
		if len(e.val) <= 4 {
			copy((*out)[at+8:at+12], e.val)
			continue
		}
		if len(*out)%2 == 1 {
			*out = append(*out, 0)
		}
		bo.PutUint32((*out)[at+8:], uint32(len(*out)))
		*out = append(*out, e.val...)
	}
	for _, t := range ptrTags {
		off := writeIFD(out, bo, d.sub[t])
		bo.PutUint32((*out)[ptrSlot[t]:], off)
	}
	return uint32(start)
}
