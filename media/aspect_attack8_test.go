package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
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
