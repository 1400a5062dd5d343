package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// exifTIFF is the TIFF of a JPEG made by gpsJPEG (its Exif APP1 payload
// after "Exif\0\0").
func exifTIFF(jpg []byte) []byte { return jpg[4+2+6 : len(jpg)-2] }

// orientationTIFF is a little-endian TIFF whose IFD0 holds only
// Orientation o and Make (the camera's name, a stand-in for personal data).
func orientationTIFF(o uint16, make string) []byte {
	le := binary.LittleEndian
	val := append([]byte(make), 0)
	t := le.AppendUint32([]byte("II*\x00"), 8)
	t = le.AppendUint16(t, 2)
	t = le.AppendUint32(le.AppendUint16(le.AppendUint16(t, 0x010F), 2), uint32(len(val)))
	t = le.AppendUint32(t, 8+2+2*12+4)
	t = le.AppendUint32(le.AppendUint16(le.AppendUint16(t, 0x0112), 3), 1)
	t = le.AppendUint32(t, uint32(o))
	t = le.AppendUint32(t, 0)
	return append(t, val...)
}

// TestExtractExifSegmentsAttack8: the Exif APP1 segments real files carry
// besides the one a camera writes.
//   - "Exif\0" with 0xFF as its padding byte (CIPA DC-008 §4.7.2 says NUL;
//     exiftool reads either): the position was lost ("no EXIF data").
//   - Two Exif segments (an app added its own without removing the
//     camera's): the first wins for orientation and for a position of its
//     own, as in exiftool and browsers; when the first has no GPS at all,
//     the second's position is taken, as exiftool shows it (was: "no GPS
//     data in EXIF"). Both are dropped from the team copy, on the
//     re-encoding and on the lossless path.
func TestExtractExifSegmentsAttack8(t *testing.T) {
	gpsA := exifTIFF(gpsJPEG("MM", 0, ascii(1, "N\x00"), field(2, rats("MM", false, 51, 1, 15306, 1000, 0, 1)),
		ascii(3, "E\x00"), field(4, rats("MM", false, 7, 1, 35526, 1000, 0, 1))))
	gpsB := exifTIFF(gpsJPEG("II", 0, ascii(1, "N\x00"), field(2, rats("II", false, 48, 1, 6, 1, 0, 1)),
		ascii(3, "E\x00"), field(4, rats("II", false, 11, 1, 30, 1, 0, 1))))
	base := encodeJPEG(t, upright(320, 240))
	exif := func(pad byte, tiff []byte) []byte {
		return segment(0xE1, append([]byte{'E', 'x', 'i', 'f', 0, pad}, tiff...))
	}
	cases := []struct {
		name        string
		b           []byte
		lat         float64 // 0: none
		orientation int
	}{
		{"padding 0xFF", afterSOI(base, exif(0xFF, gpsA)), 51.2551, 0},
		{"orientation first, GPS second", afterSOI(base, exif(0, orientationTIFF(6, "CAMERA-ONE")), exif(0, gpsB)), 48.1, 6},
		{"GPS in both: the first wins", afterSOI(base, exif(0, gpsA), exif(0, gpsB)), 51.2551, 0},
		{"orientation in both: the first wins", afterSOI(base, exif(0, orientationTIFF(1, "CAMERA-ONE")), exif(0, orientationTIFF(3, "APP-TWO"))), 0, 1},
	}
	s, obj := attack8Store(TypeJPEG)
	for _, c := range cases {
		md, err := Extract(bytes.NewReader(c.b), int64(len(c.b)), TypeJPEG)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.lat == 0 && md.Position != nil:
			t.Errorf("%s: position %+v, want none", c.name, md.Position)
		case c.lat != 0 && (md.Position == nil || math.Abs(md.Position.Lat-c.lat) > 1e-9 || md.PositionSource != SourceEXIF):
			t.Errorf("%s: position %+v (%s), want latitude %v from exif", c.name, md.Position, md.NoPositionReason, c.lat)
		}
		if md.Orientation != c.orientation {
			t.Errorf("%s: orientation %d, want %d", c.name, md.Orientation, c.orientation)
		}
		if c.lat != 0 && !slices.Contains(md.Dropped, "GPS") {
			t.Errorf("%s: Dropped %v lacks GPS", c.name, md.Dropped)
		}
		for _, lossless := range []bool{false, true} {
			s.cfg.LosslessTeamCopy = lossless
			o, _, err := s.derivativeSource(obj, md)
			if err != nil {
				t.Fatal(err)
			}
			tc, err := s.teamCopy(context.Background(), obj, o, c.b)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, secret := range []string{"CAMERA-ONE", "APP-TWO"} {
				checkNoMetadata(t, c.name+" team copy", tc.Full, secret)
			}
			if bytes.Contains(tc.Full, []byte("Exif")) {
				t.Errorf("%s (lossless %v): team copy keeps an Exif segment", c.name, lossless)
			}
		}
	}
}
