package media

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// attack8Fixture reads a file written by testdata/make_attack8.sh.
func attack8Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "attack8", name))
	if err != nil {
		t.Fatalf("%v (run media/testdata/make_attack8.sh)", err)
	}
	return b
}

// attack8Store is a Store for team copies without S3 (unitStore) that
// allows ct, and an original of type ct for it to copy.
func attack8Store(ct string) (*Store, Object) {
	s := unitStore()
	s.rules = map[string]int64{ct: 50 << 20}
	return s, Object{Key: "orig/2026/05/01a22e03-36bc-732b-b670-3a0238863223", ContentType: ct}
}

// attack8Upright and attack8Taken are what make_attack8.sh draws and tags.
const (
	attack8W, attack8H = 256, 192
	attack8Lat         = 51.0234
	attack8Lon         = 7.5921
	attack8Serial      = "SECRET-SN-4711"
)

var attack8Taken = time.Date(2026, 5, 20, 10, 15, 0, 0, time.FixedZone("", 2*3600))

// attack8Photos are the PNG and WebP photos with EXIF (orientation in the
// name) of make_attack8.sh, and the content type they sniff as.
func attack8Photos() map[string]int {
	out := map[string]int{"png_o6_late.png": 6, "png16_o7.png": 7, "webp_lossy_o6.webp": 6, "png_exiv2_o6.png": 6}
	for o := 1; o <= 8; o++ {
		out[fmt.Sprintf("png_o%d.png", o)] = o
		out[fmt.Sprintf("webp_o%d.webp", o)] = o
	}
	return out
}

// TestExtractPNGWebPAttack8: PNG (eXIf chunk, before or after the image
// data, or exiv2's zTXt "Raw profile type exif") and WebP (RIFF EXIF
// chunk) photos give the position, capture time, orientation and camera
// exiftool shows, and name the metadata the team copy drops. Before,
// Extract answered "no EXIF support" for both: the position was lost and
// the team copy left sideways or mirrored.
func TestExtractPNGWebPAttack8(t *testing.T) {
	for name, o := range attack8Photos() {
		b := attack8Fixture(t, name)
		ct := Sniff(b[:min(len(b), SniffLen)])
		md, err := Extract(bytes.NewReader(b), int64(len(b)), ct)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := md.Position
		if p == nil || math.Abs(p.Lat-attack8Lat) > 1e-6 || math.Abs(p.Lon-attack8Lon) > 1e-6 || md.PositionSource != SourceEXIF {
			t.Errorf("%s (%s): position %+v from %q (%s), want %v, %v from exif", name, ct, p, md.PositionSource, md.NoPositionReason, attack8Lat, attack8Lon)
		}
		if md.Orientation != o {
			t.Errorf("%s: orientation %d, want %d", name, md.Orientation, o)
		}
		if md.Taken == nil || !md.Taken.Equal(attack8Taken) || !md.TakenZoneKnown {
			t.Errorf("%s: taken %v (zone known %v), want %v", name, md.Taken, md.TakenZoneKnown, attack8Taken)
		}
		if md.Make != "Fieldgate" || md.Model != "Testkamera A8" {
			t.Errorf("%s: camera %q %q", name, md.Make, md.Model)
		}
		for _, want := range []string{"GPS", "serial number", "capture time"} {
			if !slices.Contains(md.Dropped, want) {
				t.Errorf("%s: Dropped %v lacks %q", name, md.Dropped, want)
			}
		}
	}
}

// TestExtractXMPOnlyPNGWebPAttack8: GPS and orientation only in XMP (PNG
// iTXt "XML:com.adobe.xmp", WebP "XMP " chunk) are read as from a JPEG's
// XMP segment.
func TestExtractXMPOnlyPNGWebPAttack8(t *testing.T) {
	for _, name := range []string{"xmp_o6.png", "xmp_o6.webp"} {
		b := attack8Fixture(t, name)
		md, err := Extract(bytes.NewReader(b), int64(len(b)), Sniff(b))
		if err != nil {
			t.Fatal(err)
		}
		if p := md.Position; p == nil || math.Abs(p.Lat-attack8Lat) > 1e-6 || math.Abs(p.Lon-attack8Lon) > 1e-6 || md.PositionSource != SourceXMP {
			t.Errorf("%s: position %+v from %q (%s), want XMP's", name, p, md.PositionSource, md.NoPositionReason)
		}
		if md.Orientation != 6 || !slices.Contains(md.Dropped, "XMP") {
			t.Errorf("%s: orientation %d, dropped %v; want 6 and XMP", name, md.Orientation, md.Dropped)
		}
	}
}

// TestTeamCopyPNGWebPUprightAttack8: the team copy of every PNG and WebP
// orientation is upright and not mirrored (the three corner markers where
// the upright drawing has them), at the drawing's size or scaled to a
// smaller configured edge, without the serial number or any metadata
// segment.
func TestTeamCopyPNGWebPUprightAttack8(t *testing.T) {
	for name := range attack8Photos() {
		b := attack8Fixture(t, name)
		md, err := Extract(bytes.NewReader(b), int64(len(b)), Sniff(b))
		if err != nil {
			t.Fatal(err)
		}
		opts := teamOpts
		opts.Orientation = md.Orientation
		tc, err := vips.TeamCopy(b, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.PNG {
			t.Fatalf("%s: PNG team copy for an opaque picture", name)
		}
		checkMarkers(t, name+" team copy", tc.Full, attack8W, attack8H)
		checkMarkers(t, name+" thumbnail", tc.Thumb, 100, 75)
		checkNoMetadata(t, name+" team copy", tc.Full, attack8Serial)
		// A configured edge below the photo's: scaled to it, still upright.
		opts.MaxEdge = 128
		tc, err = vips.TeamCopy(b, opts)
		if err != nil {
			t.Fatalf("%s at 128 px: %v", name, err)
		}
		checkMarkers(t, name+" team copy at 128 px", tc.Full, 128, 96)
	}
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// TestExtractHostilePNGWebPAttack8: broken PNG and WebP containers (chunk
// lengths past the end, a crafted TIFF loop in eXIf, a thousand chunks,
// no image data, a WebP EXIF chunk with JPEG's "Exif\0\0" prefix, raw
// profiles that are not hex, claim 10⁹ bytes or inflate to 20 MB) never
// fail or panic: the result says why there is no position, or reads it.
func TestExtractHostilePNGWebPAttack8(t *testing.T) {
	png := attack8Fixture(t, "png_o6.png")
	webp := attack8Fixture(t, "webp_o6.webp")
	loopTIFF := craftedLoop()[4+2+6 : len(craftedLoop())-2] // the TIFF of the JPEG
	gpsTIFF := craftedGPS(deg(52), deg(13), 'N', 'E')
	gpsTIFF = gpsTIFF[4+2+6 : len(gpsTIFF)-2]
	sig := []byte("\x89PNG\r\n\x1a\n")
	ihdr := pngChunk("IHDR", []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0})
	many := slices.Clone(sig)
	many = append(many, ihdr...)
	for range 1000 {
		many = append(many, pngChunk("tEXt", []byte("k\x00v"))...)
	}
	many = append(many, pngChunk("eXIf", gpsTIFF)...)
	riff := func(chunks ...[]byte) []byte {
		body := []byte("WEBP")
		for _, c := range chunks {
			body = append(body, c...)
		}
		return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
	}
	wchunk := func(typ string, p []byte) []byte {
		c := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(p)))...)
		c = append(c, p...)
		if len(p)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	ztxt := func(keyword string, text []byte) []byte {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(text)
		zw.Close()
		return pngChunk("zTXt", slices.Concat([]byte(keyword), []byte{0, 0}, z.Bytes()))
	}
	rawProfile := func(tiff []byte, length int) []byte { // as exiv2 writes it: 36 bytes a line
		h := hex.EncodeToString(append([]byte("Exif\x00\x00"), tiff...))
		var lines []string
		for len(h) > 72 {
			lines, h = append(lines, h[:72]), h[72:]
		}
		return fmt.Appendf(nil, "\nexif\n%8d\n%s\n", length, strings.Join(append(lines, h), "\n"))
	}
	cases := []struct {
		name, ct string
		b        []byte
		wantPos  bool
	}{
		{"PNG raw profile (exiv2)", TypePNG, slices.Concat(sig, ihdr, ztxt("Raw profile type exif", rawProfile(gpsTIFF, len(gpsTIFF)+6)), pngChunk("IEND", nil)), true},
		{"PNG raw profile, not hex", TypePNG, slices.Concat(sig, ihdr, ztxt("Raw profile type exif", []byte("\nexif\n 40\nzzzz")), pngChunk("IEND", nil)), false},
		{"PNG raw profile, length 10⁹", TypePNG, slices.Concat(sig, ihdr, ztxt("Raw profile type APP1", rawProfile(gpsTIFF, 1_000_000_000)), pngChunk("IEND", nil)), true},
		{"PNG raw profile, 20 MB of zeros inflated", TypePNG, slices.Concat(sig, ihdr, ztxt("Raw profile type exif", make([]byte, 20<<20)), pngChunk("IEND", nil)), false},
		{"PNG raw profile with an IFD loop", TypePNG, slices.Concat(sig, ihdr, ztxt("Raw profile type exif", rawProfile(loopTIFF, len(loopTIFF)+6)), pngChunk("IEND", nil)), false},
		{"PNG cut in its EXIF", TypePNG, png[:len(png)/2], false},
		{"PNG chunk length past the end", TypePNG, append(slices.Clone(sig), 0xFF, 0xFF, 0xFF, 0xF0, 'e', 'X', 'I', 'f', 'I', 'I'), false},
		{"PNG eXIf with an IFD loop", TypePNG, slices.Concat(sig, ihdr, pngChunk("eXIf", loopTIFF), pngChunk("IEND", nil)), false},
		{"PNG eXIf with Exif prefix", TypePNG, slices.Concat(sig, ihdr, pngChunk("eXIf", append([]byte("Exif\x00\x00"), gpsTIFF...)), pngChunk("IEND", nil)), true},
		{"PNG with 1000 text chunks before eXIf", TypePNG, many, false},
		{"PNG signature only", TypePNG, sig, false},
		{"WebP EXIF with Exif prefix", TypeWebP, riff(wchunk("EXIF", append([]byte("Exif\x00\x00"), gpsTIFF...))), true},
		{"WebP EXIF chunk past the end", TypeWebP, riff(append([]byte("EXIF"), 0xFF, 0xFF, 0xFF, 0x7F, 'M', 'M')), false},
		{"WebP odd chunk padding then EXIF", TypeWebP, riff(wchunk("ICCP", []byte{1, 2, 3}), wchunk("EXIF", gpsTIFF)), true},
		{"WebP cut in its EXIF", TypeWebP, webp[:len(webp)-40], false},
	}
	for _, c := range cases {
		md, err := Extract(bytes.NewReader(c.b), int64(len(c.b)), c.ct)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		checkInvariants(t, md)
		if got := md.Position != nil; got != c.wantPos {
			t.Errorf("%s: position %+v (%s), want one: %v", c.name, md.Position, md.NoPositionReason, c.wantPos)
		}
		if md.Position == nil && md.NoPositionReason == "" {
			t.Errorf("%s: no position and no reason", c.name)
		}
	}
}

// TestPNGWebPTeamCopyExiftoolAttack8 stores PNG and WebP photos in the
// real S3 server, reads their metadata back with ranged GETs and makes
// the team copies: upright, and exiftool finds nothing in them but the
// file's own structure.
func TestPNGWebPTeamCopyExiftoolAttack8(t *testing.T) {
	exiftool := requireTool(t, "exiftool")
	s := newTestStore(t, nil)
	ctx := context.Background()
	for _, name := range []string{"png_o6_late.png", "webp_o5.webp", "png_o7.png"} {
		b := attack8Fixture(t, name)
		obj, err := s.Put(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		md, err := s.ReadMetadata(ctx, Object{Key: obj.Key})
		if err != nil {
			t.Fatal(err)
		}
		if md.Position == nil || md.Orientation != attack8Photos()[name] {
			t.Errorf("%s from S3: position %+v (%s), orientation %d", name, md.Position, md.NoPositionReason, md.Orientation)
		}
		d, err := s.MakeDerivative(ctx, obj, md)
		if err != nil {
			t.Fatal(err)
		}
		full := fetchPresigned(t, s, d.Key)
		checkMarkers(t, name+" stored team copy", full, attack8W, attack8H)
		path := filepath.Join(t.TempDir(), "tc.jpg")
		if err := os.WriteFile(path, full, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exiftool, "-a", "-G0", "-s", "-n", path).CombinedOutput()
		if err != nil {
			t.Fatalf("exiftool: %v: %s", err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			group, _, _ := strings.Cut(line, " ")
			switch strings.Trim(group, "[]") {
			case "ExifTool", "System", "File", "JFIF", "Composite":
			default:
				t.Errorf("%s team copy: exiftool finds %q", name, line)
			}
		}
		if strings.Contains(string(out), "GPS") || bytes.Contains(full, []byte(attack8Serial)) {
			t.Errorf("%s team copy keeps GPS or the serial number", name)
		}
	}
}

// TestExtractPNGLongImageDataAttack8: a PNG whose image data is split
// into more IDAT chunks than the walk steps over (libpng writes 8 KiB
// chunks: a 20 MB PNG has 2,500), with its eXIf after them as
// ImageMagick writes it, still gives its position, read from the file's
// end; read from S3 the same way within ReadMetadata's budget. A fake
// "eXIf" inside the image data (wrong CRC) is not taken. Before, the
// walk gave up at the 64th IDAT: "no EXIF data".
func TestExtractPNGLongImageDataAttack8(t *testing.T) {
	sig := []byte("\x89PNG\r\n\x1a\n")
	gpsTIFF := craftedGPS(deg(52), deg(13), 'N', 'E')
	gpsTIFF = gpsTIFF[4+2+6 : len(gpsTIFF)-2]
	b := slices.Concat(sig, pngChunk("IHDR", []byte{0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0}))
	junk := bytes.Repeat([]byte{0x55}, 8<<10)
	for i := range 300 {
		data := junk
		if i == 299 { // a chunk of image data that contains a fake eXIf
			data = slices.Concat(junk[:100], []byte{0, 0, 0, 4}, []byte("eXIfII*\x00"), []byte{1, 2, 3, 4}, junk[:100])
		}
		b = append(b, pngChunk("IDAT", data)...)
	}
	b = slices.Concat(b, pngChunk("eXIf", gpsTIFF), pngChunk("tEXt", []byte("date:create\x002026-05-20")), pngChunk("IEND", nil))
	md, err := Extract(bytes.NewReader(b), int64(len(b)), TypePNG)
	if err != nil {
		t.Fatal(err)
	}
	if p := md.Position; p == nil || p.Lat != 52 || p.Lon != 13 {
		t.Errorf("position %+v (%s), want 52, 13", p, md.NoPositionReason)
	}
	// Without the real eXIf, the fake one must not count.
	noExif := slices.Concat(b[:bytes.LastIndex(b, []byte("eXIf"))-4], pngChunk("IEND", nil))
	md, err = Extract(bytes.NewReader(noExif), int64(len(noExif)), TypePNG)
	if err != nil || md.Position != nil || md.NoPositionReason == "" {
		t.Errorf("without eXIf: %+v (%s), %v; want no position and a reason", md.Position, md.NoPositionReason, err)
	}
	if testing.Short() {
		return
	}
	s := newTestStore(t, nil)
	ctx := context.Background()
	obj, err := s.Put(ctx, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	md, err = s.ReadMetadata(ctx, Object{Key: obj.Key})
	if err != nil || md.Position == nil {
		t.Errorf("from S3: %+v (%s), %v", md.Position, md.NoPositionReason, err)
	}
}

// BenchmarkExtractContainersAttack8 measures Extract on the same EXIF
// (make_attack8.sh's orientation 6 photo) in a JPEG APP1 segment, a PNG
// eXIf chunk and a WebP EXIF chunk, against a raw floor measured in the
// same run: validating and reading that TIFF alone (fromTIFF: cleanTIFF
// and goexif, no container). The ratio is what each container walk adds.
func BenchmarkExtractContainersAttack8(b *testing.B) {
	png := attack8Fixture(b, "png_o6.png")
	info, err := scanPNG(bytes.NewReader(png), int64(len(png)))
	if err != nil || info.tiff == nil {
		b.Fatalf("no eXIf: %v", err)
	}
	b.Run("floor-tiff", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if md, _ := fromTIFF(info.tiff); md.Position == nil {
				b.Fatal("no position")
			}
		}
	})
	files := map[string][]byte{
		"png":  png,
		"webp": attack8Fixture(b, "webp_o6.webp"),
		"jpeg": jpegWithTIFF(info.tiff),
	}
	for _, name := range []string{"jpeg", "png", "webp"} {
		data := files[name]
		ct := Sniff(data)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if md, err := Extract(bytes.NewReader(data), int64(len(data)), ct); err != nil || md.Position == nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTeamCopyPNGOrientationAttack8 measures what applying a PNG's
// or WebP's EXIF orientation costs (the fix of this file): the team copy
// of a 2000×1500 PNG at the default 1600 px edge with orientation 6 and 5
// (turned, turned and mirrored), against orientation 1 in the same run as
// the floor.
func BenchmarkTeamCopyPNGOrientationAttack8(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7 + i/8000)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	src := buf.Bytes()
	for _, o := range []int{1, 6, 5} {
		b.Run(fmt.Sprintf("orientation-%d", o), func(b *testing.B) {
			opts := vips.Options{MaxEdge: 1600, ThumbEdge: 320, MaxPixels: 48_000_000, Orientation: o}
			for b.Loop() {
				if _, err := vips.TeamCopy(src, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
