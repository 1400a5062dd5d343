package media

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// Marker colours at the corners of the upright picture: a mirror or a
// wrong rotation moves at least one of them.
var (
	markTL = color.RGBA{220, 20, 20, 255} // top left: red
	markTR = color.RGBA{20, 20, 220, 255} // top right: blue
	markBL = color.RGBA{20, 200, 20, 255} // bottom left: green
)

// upright draws a w×h grey picture with coloured squares in three corners.
func upright(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s := w / 8
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{128, 128, 128, 255}
			switch {
			case x < s && y < s:
				c = markTL
			case x >= w-s && y < s:
				c = markTR
			case x < s && y >= h-s:
				c = markBL
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// stored returns how a camera stores the upright picture d when it tags
// it with EXIF orientation o (TIFF 6.0 tag 0x0112): the inverse of what a
// viewer applies.
func stored(d *image.RGBA, o int) *image.RGBA {
	w, h := d.Bounds().Dx(), d.Bounds().Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	s := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for sy := 0; sy < sh; sy++ {
		for sx := 0; sx < sw; sx++ {
			var x, y int
			switch o {
			case 1:
				x, y = sx, sy
			case 2: // mirrored horizontally
				x, y = w-1-sx, sy
			case 3: // rotated 180°
				x, y = w-1-sx, h-1-sy
			case 4: // mirrored vertically
				x, y = sx, h-1-sy
			case 5: // transposed
				x, y = sy, sx
			case 6: // viewer rotates 90° clockwise
				x, y = w-1-sy, sx
			case 7: // transversed
				x, y = w-1-sy, h-1-sx
			case 8: // viewer rotates 90° counter-clockwise
				x, y = sy, h-1-sx
			}
			s.SetRGBA(sx, sy, d.RGBAAt(x, y))
		}
	}
	return s
}

// withMetadata inserts after SOI what phones and cameras write: EXIF with
// the orientation and a serial number, XMP with an owner, an ICC profile
// segment, an IPTC segment and a comment.
func withMetadata(t *testing.T, jpg []byte, orientation int, secret string) []byte {
	t.Helper()
	// TIFF, little endian: IFD0 with Orientation (SHORT) and Make (ASCII).
	val := append([]byte(secret), 0)
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	le := binary.LittleEndian
	tiff.Write(le.AppendUint32(nil, 8))
	tiff.Write(le.AppendUint16(nil, 2))
	entry := func(tag, typ uint16, count, value uint32) {
		tiff.Write(le.AppendUint16(nil, tag))
		tiff.Write(le.AppendUint16(nil, typ))
		tiff.Write(le.AppendUint32(nil, count))
		tiff.Write(le.AppendUint32(nil, value))
	}
	entry(0x010F, 2, uint32(len(val)), 8+2+2*12+4)
	entry(0x0112, 3, 1, uint32(orientation))
	tiff.Write(le.AppendUint32(nil, 0))
	tiff.Write(val)
	seg := func(marker byte, payload []byte) []byte {
		b := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
		return append(b, payload...)
	}
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write(seg(0xE1, append([]byte("Exif\x00\x00"), tiff.Bytes()...)))
	out.Write(seg(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:creator>"+secret+"</dc:creator></x:xmpmeta>")))
	out.Write(seg(0xE2, []byte("ICC_PROFILE\x00\x01\x01"+secret)))
	out.Write(seg(0xED, []byte("Photoshop 3.0\x00"+secret)))
	out.Write(seg(0xFE, []byte(secret)))
	out.Write(jpg[2:])
	return out.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// near reports whether two colours differ by at most 40 per channel (JPEG
// and resampling blur the marker edges, not their middles).
func near(a color.Color, b color.RGBA) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { v := int(x>>8) - int(y); return v > -40 && v < 40 }
	return d(r, b.R) && d(g, b.G) && d(bl, b.B)
}

// checkMarkers decodes a team copy and checks its size and the markers.
func checkMarkers(t *testing.T, name string, b []byte, wantW, wantH int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: does not decode: %v", name, err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w != wantW || h != wantH {
		t.Fatalf("%s: %d×%d, want %d×%d", name, w, h, wantW, wantH)
	}
	in := w / 32 // well inside each marker square (w/8)
	for _, c := range []struct {
		x, y int
		want color.RGBA
		name string
	}{{in, in, markTL, "top left red"}, {w - 1 - in, in, markTR, "top right blue"}, {in, h - 1 - in, markBL, "bottom left green"}} {
		if got := img.At(c.x, c.y); !near(got, c.want) {
			t.Errorf("%s: %s at (%d,%d) is %v", name, c.name, c.x, c.y, got)
		}
	}
}

// checkNoMetadata parses the JPEG's segments: nothing but the pixels'
// own tables may be left, and the secret nowhere.
func checkNoMetadata(t *testing.T, name string, b []byte, secret string) {
	t.Helper()
	info, err := scanJPEG(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: scan: %v", name, err)
	}
	if info.tiff != nil || info.xmp || info.iptc || info.icc || info.comment || info.others {
		t.Errorf("%s: metadata left: exif=%v xmp=%v iptc=%v icc=%v comment=%v other APPn=%v",
			name, info.tiff != nil, info.xmp, info.iptc, info.icc, info.comment, info.others)
	}
	if bytes.Contains(b, []byte(secret)) {
		t.Errorf("%s contains the secret %q", name, secret)
	}
}

var teamOpts = vips.Options{MaxEdge: 400, ThumbEdge: 100, MaxPixels: 48_000_000}

// TestTeamCopyUprightEveryOrientation runs every orientation through
// both decoders: libjpeg directly (a plain JPEG) and libvips (the same
// JPEG with an ICC profile segment, which only libvips converts).
func TestTeamCopyUprightEveryOrientation(t *testing.T) {
	const secret = "SERIAL-F70501740"
	d := upright(800, 600)
	for o := 1; o <= 8; o++ {
		plain := encodeJPEG(t, stored(d, o))
		for decoder, src := range map[string][]byte{vips.DecoderLibjpeg: plain, vips.DecoderLibvips: withMetadata(t, plain, o, secret)} {
			opts := teamOpts
			opts.Orientation = o
			if decoder == vips.DecoderLibvips {
				md, err := Extract(bytes.NewReader(src), int64(len(src)), TypeJPEG)
				if err != nil || md.Orientation != o {
					t.Fatalf("orientation %d: Extract = %d, %v", o, md.Orientation, err)
				}
				opts.Orientation = md.Orientation
			}
			tc, err := vips.TeamCopy(src, opts)
			if err != nil {
				t.Fatalf("orientation %d, %s: %v", o, decoder, err)
			}
			if tc.Decoder != decoder {
				t.Errorf("orientation %d: decoded by %q, want %q", o, tc.Decoder, decoder)
			}
			if tc.PNG {
				t.Errorf("orientation %d: PNG team copy for a JPEG", o)
			}
			name := fmt.Sprintf("orientation %d, %s: ", o, decoder)
			checkMarkers(t, name+"team copy", tc.Full, 400, 300)
			checkMarkers(t, name+"thumbnail", tc.Thumb, 100, 75)
			checkNoMetadata(t, name+"team copy", tc.Full, secret)
			checkNoMetadata(t, name+"thumbnail", tc.Thumb, secret)
		}
	}
}

// TestTeamCopyGreyJPEG: a one-component JPEG takes the libjpeg path and
// comes out grey at the right size.
func TestTeamCopyGreyJPEG(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 800, 400))
	for i := range g.Pix {
		g.Pix[i] = 90
	}
	tc, err := vips.TeamCopy(encodeJPEG(t, g), teamOpts)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Decoder != vips.DecoderLibjpeg {
		t.Errorf("decoded by %q, want libjpeg", tc.Decoder)
	}
	img, err := jpeg.Decode(bytes.NewReader(tc.Full))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(400, 200) {
		t.Errorf("size %v, want 400×200", got)
	}
	if r, gr, b, _ := img.At(200, 100).RGBA(); r>>8 < 80 || r>>8 > 100 || r != gr || gr != b {
		t.Errorf("middle pixel %v, want grey 90", img.At(200, 100))
	}
}

func TestTeamCopySmallImageKeepsSize(t *testing.T) {
	tc, err := vips.TeamCopy(encodeJPEG(t, upright(320, 240)), teamOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkMarkers(t, "team copy", tc.Full, 320, 240)
	checkMarkers(t, "thumbnail", tc.Thumb, 100, 75)
}

func TestTeamCopyPNGAlpha(t *testing.T) {
	img := upright(400, 200)
	img.SetRGBA(200, 100, color.RGBA{0, 0, 0, 0})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	tc, err := vips.TeamCopy(b.Bytes(), teamOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !tc.PNG {
		t.Fatal("team copy of a PNG with alpha is not PNG")
	}
	out, err := png.Decode(bytes.NewReader(tc.Full))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Bounds().Size(); got != image.Pt(400, 200) {
		t.Errorf("size %v, want 400×200", got)
	}
	checkMarkers(t, "thumbnail", tc.Thumb, 100, 50)
}

func TestTeamCopyRefusesOverPixelLimit(t *testing.T) {
	// The header says 30000×30000 (900 MP); the pixel data is a few bytes.
	// The limit must be applied before decoding.
	src := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 16, 16)))
	i := bytes.Index(src, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(src[i+5:], 30000)
	binary.BigEndian.PutUint16(src[i+7:], 30000)
	_, err := vips.TeamCopy(src, teamOpts)
	if !errors.Is(err, vips.ErrTooLarge) {
		t.Fatalf("TeamCopy(900 MP header) = %v, want ErrTooLarge", err)
	}
}

func TestTeamCopyGarbage(t *testing.T) {
	for _, src := range [][]byte{[]byte("not an image at all"), {0xFF, 0xD8, 0xFF, 0xE0, 0, 2}, {0x89, 'P', 'N', 'G'}} {
		if _, err := vips.TeamCopy(src, teamOpts); !errors.Is(err, vips.ErrUnreadable) {
			t.Errorf("TeamCopy(%q) = %v, want ErrUnreadable", src, err)
		}
	}
}

// damagedJPEG is made by testdata/make_damaged.sh: its restart markers
// are out of sequence, hundreds of libjpeg warnings.
const damagedJPEG = "testdata/damaged_restart.jpg"

// TestTeamCopyDamagedJPEG: libvips' JPEG loader gives up on a JPEG with
// broken pixel data; the lenient reader still makes a metadata-free copy
// of the right size.
func TestTeamCopyDamagedJPEG(t *testing.T) {
	src, err := os.ReadFile(damagedJPEG)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vips.TeamCopy(src, teamOpts); !errors.Is(err, vips.ErrUnreadable) {
		t.Errorf("strict TeamCopy(damaged) = %v, want ErrUnreadable (else the lenient path is untested)", err)
	}
	opts := teamOpts
	opts.Lenient = true
	tc, err := vips.TeamCopy(src, opts)
	if err != nil {
		t.Fatalf("lenient TeamCopy: %v", err)
	}
	if tc.Decoder != vips.DecoderMagick {
		t.Errorf("lenient copy decoded by %q", tc.Decoder)
	}
	img, err := jpeg.Decode(bytes.NewReader(tc.Full))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(400, 300) {
		t.Errorf("size %v, want 400×300 (1024×768 scaled)", got)
	}
	checkNoMetadata(t, "team copy", tc.Full, "ImageMagick")
}

// TestTeamCopyTruncatedJPEG: a JPEG cut off inside its scan data makes
// libjpeg warn; the copy is then made by libvips, which shows what is
// there, at the right size.
func TestTeamCopyTruncatedJPEG(t *testing.T) {
	src, err := os.ReadFile(testsvc.Photo(t, "truncated.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := vips.TeamCopy(src, teamOpts)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Decoder != vips.DecoderLibvips {
		t.Errorf("decoded by %q, want libvips after libjpeg's warning", tc.Decoder)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(tc.Full))
	if err != nil {
		t.Fatal(err)
	}
	if got := image.Pt(cfg.Width, cfg.Height); got != image.Pt(400, 300) {
		t.Errorf("team copy %v, want 400×300 (640×480 scaled)", got)
	}
	checkNoMetadata(t, "team copy", tc.Full, "Testkamera")
}

// TestTeamCopyPhone12MPRotated: a 4032×3024 phone photo tagged "rotate 90°
// clockwise" is decoded sequentially at 1/2 scale and rotated in memory
// (rotating the decoder's stream directly fails: it reads only forward).
func TestTeamCopyPhone12MPRotated(t *testing.T) {
	src, err := os.ReadFile(testsvc.Photo(t, "phone_12mp.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := Extract(bytes.NewReader(src), int64(len(src)), TypeJPEG)
	if err != nil || md.Orientation != 6 {
		t.Fatalf("test premise: orientation 6, got %d, %v", md.Orientation, err)
	}
	tc, err := vips.TeamCopy(src, vips.Options{MaxEdge: DefaultDerivativeMaxEdge, ThumbEdge: DefaultThumbMaxEdge,
		MaxPixels: DefaultMaxDecodePixels, Orientation: md.Orientation})
	if err != nil {
		t.Fatalf("strict TeamCopy: %v", err)
	}
	img, err := jpeg.Decode(bytes.NewReader(tc.Full))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != image.Pt(1200, 1600) || tc.SourceWidth != 4032 {
		t.Errorf("team copy %v from %d×%d, want 1200×1600 from 4032×3024", got, tc.SourceWidth, tc.SourceHeight)
	}
	if tc.Decoder != vips.DecoderLibjpeg {
		t.Errorf("decoded by %q, want libjpeg (the fast path of plain phone photos)", tc.Decoder)
	}
	// Shrink-on-load: decoded at 1/2 (DCT scaling), never at full size.
	if tc.DecodedWidth != 2016 || tc.DecodedHeight != 1512 {
		t.Errorf("decoded at %d×%d, want 2016×1512 (1/2 of 4032×3024)", tc.DecodedWidth, tc.DecodedHeight)
	}
	checkNoMetadata(t, "team copy", tc.Full, "Testkamera")
}

// TestTeamCopyEdgeAndQuality: the configured long edge is met exactly,
// also where shrink-on-load alone reaches it (2016 and 1008 px from a
// 4032 px photo decoded at 1/2 and 1/4), and the quality is applied.
func TestTeamCopyEdgeAndQuality(t *testing.T) {
	src, err := os.ReadFile(testsvc.Photo(t, "phone_12mp.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for edge, want := range map[int]image.Point{2016: image.Pt(1512, 2016), 1008: image.Pt(756, 1008)} {
		tc, err := vips.TeamCopy(src, vips.Options{MaxEdge: edge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 6})
		if err != nil {
			t.Fatalf("edge %d: %v", edge, err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(tc.Full))
		if err != nil {
			t.Fatal(err)
		}
		if got := image.Pt(cfg.Width, cfg.Height); got != want {
			t.Errorf("edge %d: team copy %v, want %v", edge, got, want)
		}
	}
	small, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{}
	for _, q := range []int{50, 95} {
		tc, err := vips.TeamCopy(small, vips.Options{MaxEdge: DefaultDerivativeMaxEdge, ThumbEdge: DefaultThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels, Orientation: 6, Quality: q})
		if err != nil {
			t.Fatal(err)
		}
		sizes[q] = len(tc.Full)
		checkNoMetadata(t, "team copy", tc.Full, "Testtelefon")
	}
	if sizes[95] < 2*sizes[50] {
		t.Errorf("quality 95 gave %d bytes, quality 50 %d: quality not applied", sizes[95], sizes[50])
	}
	if _, err := vips.TeamCopy(small, vips.Options{MaxEdge: 1600, ThumbEdge: 320, MaxPixels: DefaultMaxDecodePixels, Quality: 101}); err == nil {
		t.Error("quality 101 accepted")
	}
}

// TestDerivativeFromBytes: the from-bytes twins give what the S3 readers
// give for the same object (same metadata, same team copy under the same
// keys), refuse bytes that are not the object's, and keep the bound on
// team copies made at once.
func TestDerivativeFromBytes(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.MaxDerivatives = 1 })
	ctx := context.Background()
	for _, name := range []string{"orientation_6.jpg", "gps.heic", "serial_owner.jpg", damagedJPEG} {
		t.Run(name, func(t *testing.T) {
			obj, src := putPhoto(t, s, name)
			want, err := s.ReadMetadata(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadMetadataFrom(ctx, obj, src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ReadMetadataFrom = %+v\nReadMetadata     = %+v", got, want)
			}
			sniffed, err := s.ReadMetadataFrom(ctx, Object{Key: obj.Key}, src)
			if err != nil || !reflect.DeepEqual(sniffed, want) {
				t.Errorf("ReadMetadataFrom(key only) = %+v, %v; want %+v", sniffed, err, want)
			}

			fromS3, err := s.MakeDerivative(ctx, obj, want)
			if err != nil {
				t.Fatal(err)
			}
			copyS3 := fetchPresigned(t, s, fromS3.Key)
			thumbS3 := fetchPresigned(t, s, fromS3.ThumbKey)
			fromMem, err := s.MakeDerivativeFrom(ctx, obj, got, src)
			if err != nil {
				t.Fatal(err)
			}
			if fromMem != fromS3 {
				t.Errorf("MakeDerivativeFrom = %+v, MakeDerivative = %+v", fromMem, fromS3)
			}
			if !bytes.Equal(fetchPresigned(t, s, fromMem.Key), copyS3) || !bytes.Equal(fetchPresigned(t, s, fromMem.ThumbKey), thumbS3) {
				t.Error("team copy from bytes differs from the one read from S3")
			}
			if _, err := s.MakeDerivativeFrom(ctx, obj, got, src[:len(src)-1]); !errors.Is(err, ErrNoDerivative) {
				t.Errorf("MakeDerivativeFrom(short src) = %v, want ErrNoDerivative", err)
			}
			if _, err := s.ReadMetadataFrom(ctx, obj, src[:len(src)-1]); err == nil {
				t.Error("ReadMetadataFrom(short src) accepted")
			}
		})
	}

	src, err := os.ReadFile(testsvc.Photo(t, "orientation_1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Put(ctx, bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MakeDerivativeFrom(ctx, Object{Key: "team/x.jpg", ContentType: TypeJPEG}, Metadata{}, src); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("MakeDerivativeFrom(team key) = %v, want ErrInvalidKey", err)
	}
	pdf := obj
	pdf.ContentType = TypePDF
	if _, err := s.MakeDerivativeFrom(ctx, pdf, Metadata{}, src); !errors.Is(err, ErrNoDerivative) {
		t.Errorf("MakeDerivativeFrom(PDF) = %v, want ErrNoDerivative", err)
	}
	// The only slot is taken: the call waits for it and gives up with ctx.
	s.dsem <- struct{}{}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.MakeDerivativeFrom(wctx, obj, Metadata{}, src)
	cancel()
	<-s.dsem
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("MakeDerivativeFrom with no free slot = %v, want context.DeadlineExceeded", err)
	}
}

// TestTeamCopyMangledJPEGs feeds truncated and bit-flipped versions of a
// phone photo through both decoders (libjpeg's error exits and warnings
// end in the libvips path): each either gives a team copy of the right
// size or ErrUnreadable, and the process survives.
func TestTeamCopyMangledJPEGs(t *testing.T) {
	src, err := os.ReadFile(testsvc.Photo(t, "messenger_450x600.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	variants := 120
	if testing.Short() {
		variants = 30
	}
	rng := rand.New(rand.NewPCG(17, 1))
	decoders := map[string]int{}
	for i := range variants {
		b := bytes.Clone(src)
		switch i % 3 {
		case 0: // cut anywhere, also inside the headers
			b = b[:rng.IntN(len(b))]
		case 1: // flip bytes in the headers (tables, frame header)
			for range 1 + rng.IntN(4) {
				b[2+rng.IntN(min(len(b)-2, 700))] ^= byte(1 + rng.IntN(255))
			}
		case 2: // flip bytes in the entropy-coded data
			for range 1 + rng.IntN(8) {
				b[700+rng.IntN(len(b)-700)] ^= byte(1 + rng.IntN(255))
			}
		}
		tc, err := vips.TeamCopy(b, vips.Options{MaxEdge: 300, ThumbEdge: 100, MaxPixels: DefaultMaxDecodePixels, Orientation: 6})
		if err != nil {
			if !errors.Is(err, vips.ErrUnreadable) && !errors.Is(err, vips.ErrTooLarge) {
				t.Errorf("variant %d: %v, want ErrUnreadable or ErrTooLarge", i, err)
			}
			decoders["error"]++
			continue
		}
		decoders[tc.Decoder]++
		if _, err := jpeg.DecodeConfig(bytes.NewReader(tc.Full)); err != nil {
			t.Errorf("variant %d: team copy does not decode: %v", i, err)
		}
		if max(tc.Width, tc.Height) > 300 || tc.Width <= 0 || tc.Height <= 0 {
			t.Errorf("variant %d: team copy %d×%d, want a long edge of at most 300", i, tc.Width, tc.Height)
		}
	}
	t.Logf("outcomes: %v", decoders)
	if decoders[vips.DecoderLibvips] == 0 || decoders["error"] == 0 {
		t.Errorf("outcomes %v: the variants reach neither the libvips fallback nor an error", decoders)
	}
}

// Colorants (D50-adapted XYZ, ICC.1:2010 Annex E) of the test profiles.
var (
	sRGBColorants = [3][3]float64{{0.4361, 0.2225, 0.0139}, {0.3851, 0.7169, 0.0971}, {0.1431, 0.0606, 0.7141}}
	p3Colorants   = [3][3]float64{{0.5151, 0.2412, -0.0011}, {0.2919, 0.6922, 0.0419}, {0.1572, 0.0666, 0.7841}}
)

// iccProfile writes a minimal ICC v2 RGB display profile (ICC.1:2001-04:
// header §6.1, tag table §6.2, XYZType §6.5.26) with the given colorants
// and sRGB's tone curve (parametricCurveType, function 3, IEC 61966-2-1)
// for all three channels, as phones embed them (Display P3 uses sRGB's
// curve too).
func iccProfile(colorants [3][3]float64) []byte {
	be := binary.BigEndian
	s15 := func(b []byte, v float64) []byte { return be.AppendUint32(b, uint32(int32(math.Round(v*65536)))) }
	xyzTag := func(x, y, z float64) []byte {
		b := append([]byte("XYZ "), 0, 0, 0, 0)
		return s15(s15(s15(b, x), y), z)
	}
	para := append([]byte("para"), 0, 0, 0, 0, 0, 3, 0, 0)
	for _, v := range []float64{2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045} {
		para = s15(para, v)
	}
	type tag struct {
		sig  string
		data []byte
	}
	tags := []tag{{"wtpt", xyzTag(0.9642, 1, 0.8249)}}
	for i, sig := range []string{"rXYZ", "gXYZ", "bXYZ"} {
		c := colorants[i]
		tags = append(tags, tag{sig, xyzTag(c[0], c[1], c[2])})
	}
	for _, sig := range []string{"rTRC", "gTRC", "bTRC"} {
		tags = append(tags, tag{sig, para})
	}
	off := 128 + 4 + 12*len(tags)
	var table, data []byte
	table = be.AppendUint32(table, uint32(len(tags)))
	for _, t := range tags {
		table = append(table, t.sig...)
		table = be.AppendUint32(table, uint32(off+len(data)))
		table = be.AppendUint32(table, uint32(len(t.data)))
		data = append(data, t.data...)
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
	}
	h := make([]byte, 0, 128)
	h = be.AppendUint32(h, uint32(128+len(table)+len(data)))
	h = append(h, 0, 0, 0, 0, 0x02, 0x10, 0, 0)
	h = append(h, "mntrRGB XYZ "...)
	h = append(h, make([]byte, 12)...) // date
	h = append(h, "acsp"...)
	h = append(h, make([]byte, 24)...) // platform, flags, manufacturer, model, attributes
	h = be.AppendUint32(h, 0)          // perceptual
	h = s15(s15(s15(h, 0.9642), 1), 0.8249)
	h = append(h, make([]byte, 128-len(h))...)
	return append(append(h, table...), data...)
}

// withICC inserts the profile as one APP2 segment after SOI (ICC.1:2010
// Annex B.4: "ICC_PROFILE\0", sequence number 1 of 1).
func withICC(jpg, icc []byte) []byte {
	payload := append([]byte("ICC_PROFILE\x00\x01\x01"), icc...)
	seg := []byte{0xFF, 0xE2, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(append(append([]byte{}, jpg[:2]...), append(seg, payload...)...), jpg[2:]...)
}

// withICCP inserts the profile into a PNG as its iCCP chunk (PNG 1.2
// §4.2.2.4: name, compression method 0, zlib stream) after IHDR.
func withICCP(t *testing.T, png, icc []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(icc); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := append([]byte("test profile\x00\x00"), z.Bytes()...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "iCCP"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	const ihdrEnd = 8 + 4 + 4 + 13 + 4 // signature, IHDR length, type, data, CRC
	return append(append(append([]byte{}, png[:ihdrEnd]...), chunk...), png[ihdrEnd:]...)
}

// TestTeamCopyColourProfiles: a JPEG tagged sRGB takes the libjpeg path
// unchanged; one tagged Display P3 is converted after scaling with lcms2
// to what libvips makes of a PNG with the same pixels and profile (its
// red more saturated in sRGB, its blue lower); a broken profile is
// ignored by libvips.
func TestTeamCopyColourProfiles(t *testing.T) {
	flat := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := 0; i < len(flat.Pix); i += 4 {
		copy(flat.Pix[i:], []byte{200, 100, 50, 255})
	}
	plain := encodeJPEG(t, flat)
	middle := func(t *testing.T, src []byte) (r, g, b int, decoder string) {
		t.Helper()
		tc, err := vips.TeamCopy(src, teamOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkNoMetadata(t, "team copy", tc.Full, "ICC_PROFILE")
		img, err := jpeg.Decode(bytes.NewReader(tc.Full))
		if err != nil {
			t.Fatal(err)
		}
		cr, cg, cb, _ := img.At(200, 150).RGBA()
		return int(cr >> 8), int(cg >> 8), int(cb >> 8), tc.Decoder
	}
	near := func(a, b int) bool { return a-b <= 3 && b-a <= 3 }

	r0, g0, b0, _ := middle(t, plain)
	r, g, b, dec := middle(t, withICC(plain, iccProfile(sRGBColorants)))
	if dec != vips.DecoderLibjpeg || !near(r, r0) || !near(g, g0) || !near(b, b0) {
		t.Errorf("sRGB-tagged: (%d,%d,%d) by %s, want (%d,%d,%d) by libjpeg", r, g, b, dec, r0, g0, b0)
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, flat); err != nil {
		t.Fatal(err)
	}
	vr, vg, vb, vdec := middle(t, withICCP(t, pngBuf.Bytes(), iccProfile(p3Colorants)))
	r, g, b, dec = middle(t, withICC(plain, iccProfile(p3Colorants)))
	t.Logf("plain (%d,%d,%d); tagged Display P3: (%d,%d,%d) by %s, as PNG (%d,%d,%d) by %s", r0, g0, b0, r, g, b, dec, vr, vg, vb, vdec)
	if vdec != vips.DecoderLibvips || vr < r0+8 || vb > b0-4 {
		t.Errorf("P3-tagged PNG: (%d,%d,%d) by %s, want converted by libvips: red above %d, blue below %d", vr, vg, vb, vdec, r0+8, b0-4)
	}
	if dec != vips.DecoderLibjpeg || !near(r, vr) || !near(g, vg) || !near(b, vb) {
		t.Errorf("P3-tagged JPEG: (%d,%d,%d) by %s, want (%d,%d,%d) as libvips converts it, by libjpeg", r, g, b, dec, vr, vg, vb)
	}
	broken := withICC(plain, []byte("not a profile at all, just bytes"))
	r, g, b, dec = middle(t, broken)
	if dec != vips.DecoderLibvips || !near(r, r0) || !near(g, g0) || !near(b, b0) {
		t.Errorf("broken profile: (%d,%d,%d) by %s, want (%d,%d,%d) (ignored) by libvips", r, g, b, dec, r0, g0, b0)
	}

	// Profiles damaged anywhere (lcms2 parses them in both decoders'
	// paths): a copy or ErrUnreadable, never a crash.
	rng := rand.New(rand.NewPCG(17, 2))
	for i := range 60 {
		icc := iccProfile(p3Colorants)
		for range 1 + rng.IntN(6) {
			icc[rng.IntN(len(icc))] ^= byte(1 + rng.IntN(255))
		}
		if _, err := vips.TeamCopy(withICC(plain, icc), teamOpts); err != nil && !errors.Is(err, vips.ErrUnreadable) {
			t.Errorf("damaged profile %d: %v", i, err)
		}
	}
}
