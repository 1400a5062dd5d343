package media

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"
)

// TestPhoneShapesAttack8 covers shapes real phones write that already
// worked, so that they keep working:
//   - MPO (Fujifilm/Samsung multi-picture) and Apple/Ultra HDR gain maps:
//     a second JPEG after the first one's EOI, announced by an MPF APP2
//     segment, with EXIF of its own. Position, time and orientation are
//     the first image's (exiftool shows the same); the team copy is the
//     first picture, upright, and carries neither image's metadata.
//   - A 1×1 JPEG with orientation 6: a 1×1 team copy, no failure.
//   - Extended XMP (XMP Specification Part 3 §1.1.3.1: the packet split
//     over APP1 segments "http://ns.adobe.com/xmp/extension/") with the
//     GPS in an extension segment: read. A GPSCoordinate cut in two by the
//     segment boundary is not read at all, never read as a shorter value.
func TestPhoneShapesAttack8(t *testing.T) {
	s, obj := attack8Store(TypeJPEG)
	ctx := context.Background()

	t.Run("MPO and gain map", func(t *testing.T) {
		first := afterSOI(encodeJPEG(t, stored(upright(320, 240), 6)),
			segment(0xE1, append([]byte("Exif\x00\x00"), orientationTIFF(6, "CAMERA-ONE")...)),
			segment(0xE2, []byte("MPF\x00MM\x00*\x00\x00\x00\x08\x00\x00")))
		yellow := image.NewRGBA(image.Rect(0, 0, 160, 120))
		for i := range yellow.Pix {
			yellow.Pix[i] = []byte{240, 230, 20, 255}[i%4]
		}
		gps := exifTIFF(gpsJPEG("II", 0, ascii(1, "N\x00"), field(2, rats("II", false, 48, 1, 6, 1, 0, 1)),
			ascii(3, "E\x00"), field(4, rats("II", false, 11, 1, 30, 1, 0, 1))))
		second := afterSOI(encodeJPEG(t, yellow), segment(0xE1, append([]byte("Exif\x00\x00"), gps...)))
		for _, lossless := range []bool{false, true} {
			s.cfg.LosslessTeamCopy = lossless
			b := append(bytes.Clone(first), second...)
			md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
			if err != nil {
				t.Fatal(err)
			}
			if md.Orientation != 6 || md.Position != nil {
				t.Errorf("orientation %d, position %+v; want the first image's: 6, none", md.Orientation, md.Position)
			}
			o, _, _ := s.derivativeSource(obj, md)
			tc, err := s.teamCopy(ctx, obj, o, b)
			if err != nil {
				t.Fatal(err)
			}
			checkMarkers(t, "MPO team copy", tc.Full, 320, 240)
			checkNoMetadata(t, "MPO team copy", tc.Full, "CAMERA-ONE")
			if bytes.Count(tc.Full, []byte{0xFF, 0xD8}) != 1 || bytes.Contains(tc.Full, []byte("MPF")) {
				t.Errorf("lossless %v: team copy keeps the second image or the MPF segment", lossless)
			}
		}
	})

	t.Run("1×1 with orientation 6", func(t *testing.T) {
		px := image.NewRGBA(image.Rect(0, 0, 1, 1))
		px.Set(0, 0, color.RGBA{200, 30, 30, 255})
		b := afterSOI(encodeJPEG(t, px), segment(0xE1, append([]byte("Exif\x00\x00"), orientationTIFF(6, "X")...)))
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
		if err != nil || md.Orientation != 6 {
			t.Fatalf("orientation %d, %v", md.Orientation, err)
		}
		tc, err := s.teamCopy(ctx, obj, md.Orientation, b)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(tc.Full))
		if err != nil || img.Bounds().Size() != image.Pt(1, 1) {
			t.Fatalf("team copy %v, %v; want 1×1", img.Bounds(), err)
		}
	})

	t.Run("extended XMP", func(t *testing.T) {
		base := encodeJPEG(t, upright(64, 48))
		const guid = "E49FCAF6F89270F3B63451E321E7782E"
		main := []byte(`http://ns.adobe.com/xap/1.0/` + "\x00" + `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="` + guid + `"/></rdf:RDF></x:xmpmeta>`)
		ext := func(part string) []byte {
			return segment(0xE1, []byte("http://ns.adobe.com/xmp/extension/\x00"+guid+"\x00\x00\x01\x00\x00\x00\x00\x00"+part))
		}
		whole := `<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,1.404N" exif:GPSLongitude="7,35.526E"/>`
		b := afterSOI(base, segment(0xE1, main), ext(`<x:xmpmeta><rdf:RDF>`+whole))
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
		if err != nil {
			t.Fatal(err)
		}
		if p := md.Position; p == nil || math.Abs(p.Lat-51.0234) > 1e-9 || math.Abs(p.Lon-7.5921) > 1e-9 || md.PositionSource != SourceXMP {
			t.Errorf("GPS in an extension segment: %+v from %q (%s)", p, md.PositionSource, md.NoPositionReason)
		}
		cut := len(`<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,1.4`)
		b = afterSOI(base, segment(0xE1, main), ext(whole[:cut]), ext(whole[cut:]))
		md, err = Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
		if err != nil || md.Position != nil {
			t.Errorf("GPSCoordinate cut by the segment boundary: %+v, %v; want none", md.Position, err)
		}
	})
}
