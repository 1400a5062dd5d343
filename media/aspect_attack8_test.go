package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// TestTeamCopyExtremeAspectAttack8: a strip far longer than the team
// copy's edge times its width (1×40000, 40000×1: a panorama taken to the
// extreme, or a crafted file) gets a team copy of the configured edge,
// one pixel thick, from PNG (libvips' shrink) as from JPEG (libjpeg).
// Before, the PNG failed as "unreadable: shrinkh: image has shrunk to
// nothing", a wrong reason and no team copy.
func TestTeamCopyExtremeAspectAttack8(t *testing.T) {
	for _, size := range []image.Point{{1, 40000}, {40000, 1}, {3, 30000}} {
		img := image.NewGray(image.Rectangle{Max: size})
		for i := range img.Pix {
			img.Pix[i] = 200
		}
		var p, j bytes.Buffer
		if err := png.Encode(&p, img); err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(&j, img, nil); err != nil {
			t.Fatal(err)
		}
		for name, src := range map[string][]byte{"PNG": p.Bytes(), "JPEG": j.Bytes()} {
			tc, err := vips.TeamCopy(src, teamOpts)
			if err != nil {
				t.Errorf("%v %s: %v", size, name, err)
				continue
			}
			if max(tc.Width, tc.Height) != teamOpts.MaxEdge || min(tc.Width, tc.Height) != 1 {
				t.Errorf("%v %s: team copy %d×%d, want %d on the long edge, 1 across", size, name, tc.Width, tc.Height, teamOpts.MaxEdge)
			}
			got, err := jpeg.Decode(bytes.NewReader(tc.Full))
			if err != nil {
				t.Fatalf("%v %s: %v", size, name, err)
			}
			if c := color.GrayModel.Convert(got.At(0, 0)).(color.Gray); c.Y < 180 || c.Y > 220 {
				t.Errorf("%v %s: pixel %v, want the grey 200", size, name, c)
			}
		}
	}
}

// TestTeamCopyDeclaredBombsAttack8: PNG and WebP headers that declare
// 60000×60000 (IHDR) and 16383×16383 (VP8X canvas and VP8L header, the
// format's largest) over a few bytes of data are refused from the header,
// before any decoding, with ErrNoDerivative wrapping vips.ErrTooLarge
// (JPEG: TestTeamCopyRefusesOverPixelLimit); their metadata is still read.
func TestTeamCopyDeclaredBombsAttack8(t *testing.T) {
	png := bytes.Clone(attack8Fixture(t, "png_o6.png"))
	binary.BigEndian.PutUint32(png[16:], 60000) // IHDR width, height
	binary.BigEndian.PutUint32(png[20:], 60000)
	badCRC := bytes.Clone(png)                                           // the IHDR's CRC no longer matches
	binary.BigEndian.PutUint32(png[29:], crc32.ChecksumIEEE(png[12:29])) // type and data
	webp := bytes.Clone(attack8Fixture(t, "webp_o6.webp"))
	x := bytes.Index(webp, []byte("VP8X")) + 12 // canvas width−1, height−1: 24 bits each
	copy(webp[x:], []byte{0xFE, 0x3F, 0, 0xFE, 0x3F, 0})
	l := bytes.Index(webp, []byte("VP8L")) + 9 // after the 0x2F signature: 14 bits each
	bits := binary.LittleEndian.Uint32(webp[l:])&^(1<<28-1) | 16382 | 16382<<14
	binary.LittleEndian.PutUint32(webp[l:], bits)
	for _, c := range []struct {
		ct string
		b  []byte
	}{{TypePNG, png}, {TypeWebP, webp}} {
		s, obj := attack8Store(c.ct)
		md, err := Extract(bytes.NewReader(c.b), int64(len(c.b)), c.ct)
		if err != nil || md.Position == nil || md.Orientation != 6 {
			t.Errorf("%s: metadata %+v orientation %d, %v", c.ct, md.Position, md.Orientation, err)
		}
		_, err = s.teamCopy(context.Background(), obj, md.Orientation, c.b)
		if !errors.Is(err, ErrNoDerivative) || !errors.Is(err, vips.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrNoDerivative and vips.ErrTooLarge", c.ct, err)
		}
	}
	// A broken IHDR CRC: refused as unreadable, with a reason (libpng's
	// complaint is only a warning; the error used to end in ": ").
	_, err := vips.TeamCopy(badCRC, teamOpts)
	if !errors.Is(err, vips.ErrUnreadable) || strings.HasSuffix(err.Error(), ": ") {
		t.Errorf("PNG with a bad IHDR CRC: %q, want ErrUnreadable with a reason", err)
	}
}
