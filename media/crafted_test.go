package media

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// jpegWithTIFF wraps a TIFF block in a minimal JPEG: SOI, Exif APP1, EOI.
func jpegWithTIFF(tiff []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8, 0xFF, 0xE1})
	binary.Write(&b, binary.BigEndian, uint16(2+6+len(tiff)))
	b.WriteString("Exif\x00\x00")
	b.Write(tiff)
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// tiffBuilder writes little-endian TIFF structures at explicit offsets.
type tiffBuilder struct{ b []byte }

func newTIFF(size int) *tiffBuilder {
	t := &tiffBuilder{b: make([]byte, size)}
	copy(t.b, "II*\x00")
	t.u32(4, 8)
	return t
}
func (t *tiffBuilder) u16(off int, v uint16) { binary.LittleEndian.PutUint16(t.b[off:], v) }
func (t *tiffBuilder) u32(off int, v uint32) { binary.LittleEndian.PutUint32(t.b[off:], v) }

// ifd writes an IFD header with n entries at off and returns the offset of
// its first entry; the next-IFD pointer follows the entries.
func (t *tiffBuilder) entry(off int, tag, typ uint16, count, val uint32) {
	t.u16(off, tag)
	t.u16(off+2, typ)
	t.u32(off+4, count)
	t.u32(off+8, val)
}

// craftedLoop is case (a): IFD0 → IFD1 → IFD0. goexif's tiff.Decode only
// compares each next pointer with the previous one, so it loops forever,
// appending to a slice: one core busy and the heap growing.
func craftedLoop() []byte {
	t := newTIFF(8 + 18 + 18)
	t.u16(8, 1)
	t.entry(10, 0x0112, 3, 1, 1) // Orientation 1
	t.u32(22, 26)                // next → IFD1
	t.u16(26, 1)
	t.entry(28, 0x0112, 3, 1, 1)
	t.u32(40, 8) // next → IFD0
	return jpegWithTIFF(t.b)
}

// craftedSubLoop points the Exif IFD at IFD0 and the GPS IFD at itself.
func craftedSubLoop() []byte {
	t := newTIFF(8 + 30 + 18)
	t.u16(8, 2)
	t.entry(10, tagExifIFD, 4, 1, 8)
	t.entry(22, tagGPSIFD, 4, 1, 38)
	t.u16(38, 1)
	t.entry(40, tagGPSIFD, 4, 1, 38)
	return jpegWithTIFF(t.b)
}

// craftedCountOverflow is case (b): a LONG tag whose count × 4 overflows
// uint32 to 4, so goexif reads the value inline and then allocates
// count × 8 bytes (8 GiB) converting it.
func craftedCountOverflow() []byte {
	t := newTIFF(8 + 18)
	t.u16(8, 1)
	t.entry(10, 0x0112, 4, 0x40000001, 1)
	return jpegWithTIFF(t.b)
}

// craftedPanics is case (c): a GPS position with a zero denominator (goexif's
// Rat and LatLong panic in big.NewRat) and an IFD1 thumbnail whose offset is
// far outside the data (JpegThumbnail slices out of range).
func craftedPanics() []byte {
	t := newTIFF(8 + 18 + 54 + 32 + 30 + 8)
	t.u16(8, 1)
	t.entry(10, tagGPSIFD, 4, 1, 26)
	t.u32(22, 80) // next → IFD1 at 80... placed below
	// GPS IFD at 26: LatRef N, Lat (3 rationals at 112), LonRef E, Lon (same data)
	t.u16(26, 4)
	t.entry(28, 1, 2, 2, 'N')
	t.entry(40, 2, 5, 3, 112)
	t.entry(52, 3, 2, 2, 'E')
	t.entry(64, 4, 5, 3, 112)
	// IFD1 at 80: thumbnail offset and length
	t.u16(80, 2)
	t.entry(82, 0x0201, 4, 1, 0x0FFFFFF0)
	t.entry(94, 0x0202, 4, 1, 4096)
	t.u32(106, 0)
	// rationals at 112: 45/0, 30/1, 0/1 (only 8 bytes × 3 = 24 needed)
	t.b = append(t.b[:112], make([]byte, 24)...)
	t.u32(112, 45)
	t.u32(116, 0)
	t.u32(120, 30)
	t.u32(124, 1)
	t.u32(128, 0)
	t.u32(132, 1)
	return jpegWithTIFF(t.b)
}

// craftedValues exercises the position checks: |lat| > 90, ref missing, 0,0.
func craftedGPS(lat, lon [3][2]uint32, latRef, lonRef byte) []byte {
	t := newTIFF(8 + 18 + 54 + 48)
	t.u16(8, 1)
	t.entry(10, tagGPSIFD, 4, 1, 26)
	t.u16(26, 4)
	t.entry(28, 1, 2, 2, uint32(latRef))
	t.entry(40, 2, 5, 3, 80)
	t.entry(52, 3, 2, 2, uint32(lonRef))
	t.entry(64, 4, 5, 3, 104)
	for i := 0; i < 3; i++ {
		t.u32(80+8*i, lat[i][0])
		t.u32(84+8*i, lat[i][1])
		t.u32(104+8*i, lon[i][0])
		t.u32(108+8*i, lon[i][1])
	}
	return jpegWithTIFF(t.b)
}

func deg(d uint32) [3][2]uint32 { return [3][2]uint32{{d, 1}, {0, 1}, {0, 1}} }

func TestExtractCrafted(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		wantOK bool // position expected
	}{
		{"loop", craftedLoop(), false},
		{"sub-IFD loop", craftedSubLoop(), false},
		{"count overflow", craftedCountOverflow(), false},
		{"zero denominator and bad thumbnail", craftedPanics(), false},
		{"valid", craftedGPS(deg(52), deg(13), 'N', 'E'), true},
		{"lat > 90", craftedGPS(deg(91), deg(13), 'N', 'E'), false},
		{"lon > 180", craftedGPS(deg(52), deg(181), 'N', 'W'), false},
		{"zero zero", craftedGPS(deg(0), deg(0), 'N', 'E'), false},
		{"missing ref", craftedGPS(deg(52), deg(13), 0, 'E'), false},
		{"bad ref", craftedGPS(deg(52), deg(13), 'X', 'E'), false},
		{"truncated", craftedGPS(deg(52), deg(13), 'N', 'E')[:60], false},
		{"truncated values", craftedGPS(deg(52), deg(13), 'N', 'E')[:130], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			md, err := Extract(bytes.NewReader(c.data), int64(len(c.data)), TypeJPEG)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := (md.Position != nil); got != c.wantOK {
				t.Fatalf("position %+v (reason %q), want position=%v", md.Position, md.NoPositionReason, c.wantOK)
			}
			if md.Position == nil && md.NoPositionReason == "" {
				t.Error("no position and no reason")
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("Extract allocated %d bytes on a %d-byte input", alloc, len(c.data))
			}
			t.Logf("reason: %s", md.NoPositionReason)
		})
	}
}

func TestExtractSouthWest(t *testing.T) {
	data := craftedGPS([3][2]uint32{{33, 1}, {52, 1}, {3015, 100}}, [3][2]uint32{{151, 1}, {12, 1}, {0, 0}}, 'S', 'E')
	md, _ := Extract(bytes.NewReader(data), int64(len(data)), TypeJPEG)
	if md.Position != nil {
		t.Fatalf("zero denominator in seconds gave position %+v", *md.Position)
	}
	data = craftedGPS([3][2]uint32{{33, 1}, {52, 1}, {3015, 100}}, [3][2]uint32{{151, 1}, {12, 1}, {30, 1}}, 'S', 'W')
	md, _ = Extract(bytes.NewReader(data), int64(len(data)), TypeJPEG)
	wantLat, wantLon := -(33 + 52/60.0 + 30.15/3600), -(151 + 12/60.0 + 30/3600.0)
	if md.Position == nil || math.Abs(md.Position.Lat-wantLat) > 1e-9 || math.Abs(md.Position.Lon-wantLon) > 1e-9 {
		t.Fatalf("position %+v, want %v,%v", md.Position, wantLat, wantLon)
	}
}

// TestExtractCorruptFiles runs goexif's own corrupt samples and the
// repository's test photos, whole and truncated at many points.
func TestExtractCorruptFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/goexif-corrupt/*.jpg")
	for _, n := range []string{"truncated.jpg", "xmp_gps_only.jpg", "gps_no_refs.jpg", "serial_owner.jpg", "gps_ne.jpg", "gps.heic"} {
		files = append(files, testsvc.Photo(t, n))
	}
	if len(files) < 8 {
		t.Fatalf("only %d test files found", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = data[:min(len(data), 64<<10)]
		ct := Sniff(data)
		for _, cut := range []int{len(data), 20000, 6000, 3000, 1000, 200, 30, 3} {
			d := data[:min(cut, len(data))]
			md, err := Extract(bytes.NewReader(d), int64(len(d)), ct)
			if err != nil {
				t.Errorf("%s[:%d]: %v", f, len(d), err)
			}
			if md.Position == nil && md.NoPositionReason == "" {
				t.Errorf("%s[:%d]: no position and no reason", f, len(d))
			}
		}
	}
}
