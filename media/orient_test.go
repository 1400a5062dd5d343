package media

import (
	"image"
	"image/color"
	"testing"
)

// TestOrient checks where the stored top-left and top-right pixels land for
// every EXIF orientation (TIFF 6.0 / EXIF 2.3 tag 0x0112).
func TestOrient(t *testing.T) {
	const w, h = 3, 2
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			src.Set(x, y, color.RGBA{uint8(10 * (x + 1)), uint8(10 * (y + 1)), 0, 255})
		}
	}
	tl, tr := src.At(0, 0), src.At(w-1, 0)
	for _, tc := range []struct {
		o      int
		tl, tr image.Point // where stored TL and TR are displayed
	}{
		{1, image.Pt(0, 0), image.Pt(2, 0)},
		{2, image.Pt(2, 0), image.Pt(0, 0)}, // mirrored horizontally
		{3, image.Pt(2, 1), image.Pt(0, 1)}, // rotated 180
		{4, image.Pt(0, 1), image.Pt(2, 1)}, // mirrored vertically
		{5, image.Pt(0, 0), image.Pt(0, 2)}, // transposed
		{6, image.Pt(1, 0), image.Pt(1, 2)}, // rotate 90 CW to display
		{7, image.Pt(1, 2), image.Pt(1, 0)}, // transverse
		{8, image.Pt(0, 2), image.Pt(0, 0)}, // rotate 90 CCW to display
	} {
		dst := orient(src, tc.o)
		wantW, wantH := w, h
		if tc.o >= 5 {
			wantW, wantH = h, w
		}
		if dst.Bounds().Dx() != wantW || dst.Bounds().Dy() != wantH {
			t.Errorf("orientation %d: size %v, want %dx%d", tc.o, dst.Bounds().Size(), wantW, wantH)
			continue
		}
		if dst.At(tc.tl.X, tc.tl.Y) != tl || dst.At(tc.tr.X, tc.tr.Y) != tr {
			t.Errorf("orientation %d: TL at %v is %v, TR at %v is %v; want %v, %v",
				tc.o, tc.tl, dst.At(tc.tl.X, tc.tl.Y), tc.tr, dst.At(tc.tr.X, tc.tr.Y), tl, tr)
		}
	}
}

func TestFit(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 4000, 1000))
	if got := fit(src, 2048).Bounds().Size(); got != image.Pt(2048, 512) {
		t.Errorf("fit 4000x1000 → %v, want 2048x512", got)
	}
	if got := fit(image.NewRGBA(image.Rect(0, 0, 100, 50)), 2048).Bounds().Size(); got != image.Pt(100, 50) {
		t.Errorf("fit small → %v, want unchanged", got)
	}
	if got := fit(image.NewRGBA(image.Rect(0, 0, 10, 5000)), 320).Bounds().Size(); got != image.Pt(1, 320) {
		t.Errorf("fit thin → %v, want 1x320", got)
	}
}
