package media

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// TestTeamCopyHEICTransformsAttack8: HEIC photos are shown as their
// transformative properties say (ISO/IEC 23008-12 §6.5.10 irot, §6.5.12
// imir as amended: 0 exchanges top and bottom, 1 left and right), which
// libheif applies while decoding; the EXIF orientation inside is
// informative and never applied on top (an iPhone photo carries both:
// turned twice, it would lie on its side). The team copy of each is
// upright and not mirrored; one with EXIF orientation 6 but no irot is
// shown as stored, as every HEIF reader shows it. Metadata is still read
// from the Exif item.
func TestTeamCopyHEICTransformsAttack8(t *testing.T) {
	s := unitStore()
	s.rules = map[string]int64{TypeHEIC: 50 << 20}
	ctx := context.Background()
	obj := Object{Key: "orig/2026/05/01a22e03-36bc-732b-b670-3a0238863223", ContentType: TypeHEIC}
	for _, c := range []struct {
		name        string
		orientation int // what Extract reports from the Exif item
		stored      bool
	}{
		{"heic_irot3.heic", 0, false},
		{"heic_irot3_exif6.heic", 6, false},
		{"heic_imir1.heic", 0, false},
		{"heic_imir0.heic", 0, false},
		{"heic_exif6_only.heic", 6, true},
	} {
		b := attack8Fixture(t, c.name)
		if ct := Sniff(b); ct != TypeHEIC {
			t.Fatalf("%s sniffs as %s", c.name, ct)
		}
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeHEIC)
		if err != nil {
			t.Fatal(err)
		}
		if md.Orientation != c.orientation {
			t.Errorf("%s: Extract orientation %d, want %d", c.name, md.Orientation, c.orientation)
		}
		if c.name == "heic_irot3_exif6.heic" {
			if p := md.Position; p == nil || math.Abs(p.Lat-attack8Lat) > 1e-6 || math.Abs(p.Lon-attack8Lon) > 1e-6 {
				t.Errorf("%s: position %+v (%s)", c.name, p, md.NoPositionReason)
			}
		}
		o, _, err := s.derivativeSource(obj, md)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := s.teamCopy(ctx, obj, o, b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkNoMetadata(t, c.name+" team copy", tc.Full, attack8Serial)
		if !c.stored {
			checkMarkers(t, c.name+" team copy", tc.Full, attack8W, attack8H)
			continue
		}
		// Shown as stored: the upright drawing turned 90° anti-clockwise,
		// its top-left red square now bottom left.
		img, err := jpeg.Decode(bytes.NewReader(tc.Full))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Size() != image.Pt(attack8H, attack8W) || !near(img.At(4, attack8W-5), markTL) {
			t.Errorf("%s: %v, bottom-left %v; want the stored picture, red bottom left", c.name, img.Bounds().Size(), img.At(4, attack8W-5))
		}
	}
}
