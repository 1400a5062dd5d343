package media

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// gpsField is one GPS IFD entry: tag, TIFF type and the value's bytes in
// the file's byte order (count is derived from the type's size).
type gpsField struct {
	tag, typ uint16
	val      []byte
}

// gpsJPEG builds a JPEG whose Exif APP1 holds IFD0 with a GPS IFD pointer
// (gpsAt, or right after IFD0 when 0) and the GPS IFD with fields, in byte
// order bo ("II" or "MM"), as cameras of either order write it.
func gpsJPEG(bo string, gpsAt uint32, fields ...gpsField) []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	if bo == "MM" {
		o = binary.BigEndian
	}
	t := []byte(bo)
	t = o.AppendUint16(t, 42)
	t = o.AppendUint32(t, 8)
	gps := uint32(8 + 2 + 12 + 4)
	if gpsAt == 0 {
		gpsAt = gps
	}
	t = o.AppendUint16(t, 1)
	t = o.AppendUint32(o.AppendUint16(o.AppendUint16(t, tagGPSIFD), tiffTypeLong), 1)
	t = o.AppendUint32(o.AppendUint32(t, gpsAt), 0)
	data := gps + 2 + 12*uint32(len(fields)) + 4
	var values []byte
	t = o.AppendUint16(t, uint16(len(fields)))
	for _, f := range fields {
		t = o.AppendUint16(o.AppendUint16(t, f.tag), f.typ)
		t = o.AppendUint32(t, uint32(len(f.val)/int(typeSizes[f.typ])))
		if len(f.val) <= 4 {
			t = append(t, f.val...)
			t = append(t, make([]byte, 4-len(f.val))...)
			continue
		}
		t = o.AppendUint32(t, data+uint32(len(values)))
		values = append(values, f.val...)
	}
	t = o.AppendUint32(t, 0)
	return jpegWithTIFF(append(t, values...))
}

// rats encodes RATIONALs (type 5) or, with signed, SRATIONALs (type 10).
func rats(bo string, signed bool, nd ...int64) gpsField {
	var o binary.AppendByteOrder = binary.LittleEndian
	if bo == "MM" {
		o = binary.BigEndian
	}
	f := gpsField{typ: 5}
	if signed {
		f.typ = 10
	}
	for _, v := range nd {
		f.val = o.AppendUint32(f.val, uint32(v))
	}
	return f
}

func field(tag uint16, f gpsField) gpsField { f.tag = tag; return f }
func ascii(tag uint16, s string) gpsField   { return gpsField{tag, 2, []byte(s)} }

// TestExtractGPSShapesAttack8: GPS IFDs as cameras and phones of both byte
// orders write them, and as broken writers do. Where exiftool reads a
// position (`exiftool -n -GPSLatitude -GPSLongitude`), fieldgate reads the
// same one; where the data cannot say where the photo was, fieldgate
// reads none and says why, and never a different place. Checked against
// exiftool 12.57 while writing the test:
//   - decimal minutes (51/1 15306/1000 0/1), one rational of decimal
//     degrees, two rationals, four (the fourth ignored), lower-case refs,
//     refs without their NUL, SRATIONALs: 51.2551 / 7.5921 as exiftool;
//   - GPSAltitudeRef 1 as BYTE or SHORT: below sea level, as exiftool;
//   - 0/0 seconds, 51/0 degrees: exiftool shows no latitude, nor do we;
//   - a negative SRATIONAL degree with ref N: exiftool shows 50.7449 (the
//     minutes added to -51), a place 57 km off: refused;
//   - 75 minutes: exiftool shows 52.25, a degree off the writer's
//     intent whatever it was: refused (before: read as 52.25);
//   - latitude as ASCII or DOUBLE (exiftool reads both): refused, stated;
//   - a GPS pointer outside the segment or back at IFD0: refused, stated;
//   - GPSStatus V (measurement interrupted; exiftool: "Measurement Void",
//     and still shows the last fix): refused, stated; A: read.
func TestExtractGPSShapesAttack8(t *testing.T) {
	for _, bo := range []string{"II", "MM"} {
		lat := field(2, rats(bo, false, 51, 1, 15306, 1000, 0, 1))
		lon := field(4, rats(bo, false, 7, 1, 35526, 1000, 0, 1))
		n, e := ascii(1, "N\x00"), ascii(3, "E\x00")
		const wantLat, wantLon = 51.2551, 7.5921
		ok := []struct {
			name string
			f    []gpsField
			lat  float64
			alt  float64 // NaN: none
		}{
			{"decimal minutes", []gpsField{n, lat, e, lon}, wantLat, math.NaN()},
			{"one rational", []gpsField{n, field(2, rats(bo, false, 512551, 10000)), e, field(4, rats(bo, false, 75921, 10000))}, wantLat, math.NaN()},
			{"two rationals", []gpsField{n, field(2, rats(bo, false, 51, 1, 15306, 1000)), e, field(4, rats(bo, false, 7, 1, 35526, 1000))}, wantLat, math.NaN()},
			{"four rationals", []gpsField{n, field(2, rats(bo, false, 51, 1, 15, 1, 18, 1, 36, 100)), e, lon}, 51.255, math.NaN()},
			{"lower-case refs", []gpsField{ascii(1, "n\x00"), lat, ascii(3, "e\x00"), lon}, wantLat, math.NaN()},
			{"refs without NUL", []gpsField{ascii(1, "N"), lat, ascii(3, "E"), lon}, wantLat, math.NaN()},
			{"SRATIONAL", []gpsField{n, field(2, rats(bo, true, 51, 1, 15306, 1000, 0, 1)), e, field(4, rats(bo, true, 7, 1, 35526, 1000, 0, 1))}, wantLat, math.NaN()},
			{"below sea level, BYTE ref", []gpsField{n, lat, e, lon, {5, 1, []byte{1}}, field(6, rats(bo, false, 125, 10))}, wantLat, -12.5},
			{"GPSStatus A (measurement active)", []gpsField{n, lat, e, lon, ascii(9, "A\x00")}, wantLat, math.NaN()},
			{"60 seconds (rounded)", []gpsField{n, field(2, rats(bo, false, 51, 1, 15, 1, 60, 1)), e, lon}, 51 + 16.0/60, math.NaN()},
		}
		for _, c := range ok {
			b := gpsJPEG(bo, 0, c.f...)
			md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
			if err != nil {
				t.Fatal(err)
			}
			p := md.Position
			if p == nil || math.Abs(p.Lat-c.lat) > 1e-9 || math.Abs(p.Lon-wantLon) > 1e-9 {
				t.Errorf("%s %s: position %+v (%s), want %v, %v", bo, c.name, p, md.NoPositionReason, c.lat, wantLon)
				continue
			}
			switch {
			case math.IsNaN(c.alt) && p.Alt != nil:
				t.Errorf("%s %s: altitude %v, want none", bo, c.name, *p.Alt)
			case !math.IsNaN(c.alt) && (p.Alt == nil || *p.Alt != c.alt):
				t.Errorf("%s %s: altitude %v, want %v", bo, c.name, p.Alt, c.alt)
			}
		}
		var o binary.AppendByteOrder = binary.LittleEndian
		if bo == "MM" {
			o = binary.BigEndian
		}
		refused := []struct {
			name, why string
			gpsAt     uint32
			f         []gpsField
		}{
			{"0/0 seconds", "zero denominator", 0, []gpsField{n, field(2, rats(bo, false, 51, 1, 15306, 1000, 0, 0)), e, lon}},
			{"51/0 degrees", "zero denominator", 0, []gpsField{n, field(2, rats(bo, false, 51, 0, 15306, 1000, 0, 1)), e, lon}},
			{"negative SRATIONAL", "negative", 0, []gpsField{n, field(2, rats(bo, true, -51, 1, 15306, 1000, 0, 1)), e, lon}},
			{"75 minutes", "over 60", 0, []gpsField{n, field(2, rats(bo, false, 51, 1, 75, 1, 0, 1)), e, lon}},
			{"ASCII latitude", "wrong type", 0, []gpsField{n, ascii(2, "51.0234\x00"), e, lon}},
			{"DOUBLE latitude", "wrong type", 0, []gpsField{n, {2, 12, o.AppendUint64(nil, math.Float64bits(51.0234))}, e, lon}},
			{"GPS pointer outside the segment", "malformed", 0x7fff0000, []gpsField{n, lat, e, lon}},
			{"GPS pointer at IFD0", "malformed", 8, []gpsField{n, lat, e, lon}},
			{"GPSStatus V (measurement void)", "void", 0, []gpsField{n, lat, e, lon, ascii(9, "V\x00")}},
		}
		for _, c := range refused {
			b := gpsJPEG(bo, c.gpsAt, c.f...)
			md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
			if err != nil {
				t.Fatal(err)
			}
			if md.Position != nil || !strings.Contains(md.NoPositionReason, c.why) {
				t.Errorf("%s %s: position %+v, reason %q; want none because %q", bo, c.name, md.Position, md.NoPositionReason, c.why)
			}
		}
	}
}
