package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
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
// shown as stored, as every HEIF reader shows it. A grid image (iPhones'
// tiled HEIC, §6.6.2.3) is assembled whole. Metadata is still read from
// the Exif item.
func TestTeamCopyHEICTransformsAttack8(t *testing.T) {
	ctx := context.Background()
	s, obj := attack8Store(TypeHEIC)
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
		{"heic_grid.heic", 0, false},
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
		if c.name == "heic_irot3_exif6.heic" || c.name == "heic_grid.heic" {
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

// TestTeamCopyHEICGridBombAttack8: a grid that declares 60000×60000
// pixels, in its grid data or in its ispe, over four tiny tiles, is
// refused before any pixels are allocated (libheif's security limit or
// our pixel limit): no team copy, a clear error, the metadata still read.
func TestTeamCopyHEICGridBombAttack8(t *testing.T) {
	s, obj := attack8Store(TypeHEIC)
	grid := attack8Fixture(t, "heic_grid.heic")
	patch := func(box string, gap, at int) []byte { // two uint32 at at and at+gap after the type
		b := bytes.Clone(grid)
		i := bytes.LastIndex(b, []byte(box))
		if i < 0 {
			t.Fatalf("no %s box", box)
		}
		binary.BigEndian.PutUint32(b[i+at:], 60000)
		binary.BigEndian.PutUint32(b[i+at+gap:], 60000)
		return b
	}
	idat := bytes.Clone(grid)
	i := bytes.Index(idat, []byte("idat"))
	binary.BigEndian.PutUint16(idat[i+8:], 60000) // output_width, output_height (16 bits)
	binary.BigEndian.PutUint16(idat[i+10:], 60000)
	for name, b := range map[string][]byte{"grid data": idat, "ispe": patch("ispe", 4, 8)} {
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeHEIC)
		if err != nil || md.Position == nil {
			t.Errorf("%s: metadata %+v, %v; want the position", name, md.Position, err)
		}
		_, err = s.teamCopy(context.Background(), obj, 1, b)
		if !errors.Is(err, ErrNoDerivative) {
			t.Errorf("%s: team copy error %v, want ErrNoDerivative", name, err)
		}
	}
}

// TestExtractHEICExifHeaderFormsAttack8: the HEIC Exif item (ISO/IEC
// 23008-12 Annex A.2.1: a 4-byte offset to the TIFF header, then usually
// "Exif\0\0") as some writers store it without the offset, starting with
// "Exif\0\0" or with the TIFF header itself. exiftool reads both
// ("Missing Exif header"); so do we (before: "Exif item header offset out
// of range", the position lost).
func TestExtractHEICExifHeaderFormsAttack8(t *testing.T) {
	orig := attack8Fixture(t, "heic_irot3_exif6.heic")
	i := bytes.Index(orig, []byte("\x00\x00\x00\x06Exif\x00\x00"))
	if i < 0 {
		t.Fatal("test premise: no Exif item with offset 6")
	}
	// The item keeps its place and length; the bytes after the shorter
	// header move up and leave the item's tail as padding.
	moved := func(drop int) []byte {
		b := bytes.Clone(orig)
		copy(b[i:], orig[i+drop:])
		return b
	}
	for name, b := range map[string][]byte{"with offset": orig, "Exif\\0\\0 without offset": moved(4), "TIFF header only": moved(10)} {
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeHEIC)
		if err != nil {
			t.Fatal(err)
		}
		if p := md.Position; p == nil || math.Abs(p.Lat-attack8Lat) > 1e-6 || md.Orientation != 6 {
			t.Errorf("%s: position %+v (%s), orientation %d", name, p, md.NoPositionReason, md.Orientation)
		}
	}
}
