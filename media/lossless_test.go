package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// Test JPEGs of media/testdata/make_lossless.sh.
const (
	restartJPEG            = "testdata/restart.jpg"
	progressiveJPEG        = "testdata/progressive.jpg"
	progressiveRestartJPEG = "testdata/progressive_restart.jpg"
	cmykJPEG               = "testdata/cmyk.jpg"
	messengerUprightJPEG   = "testdata/messenger_upright_450x600.jpg"
)

var testLimits = losslessLimits{maxEdge: DefaultDerivativeMaxEdge, maxPixels: DefaultMaxDecodePixels}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segment is one marker segment: marker byte and payload.
func segment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(payload)+2))
	return append(b, payload...)
}

// afterSOI inserts segments right after SOI.
func afterSOI(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// gpsTIFF is a big-endian TIFF with IFD0 (Make, a serial in Artist,
// orientation 1) and a GPS IFD with a position.
func gpsTIFF(secret string) []byte {
	be := binary.BigEndian
	var b []byte
	b = append(b, "MM\x00\x2A"...)
	b = be.AppendUint32(b, 8)
	ifd0 := func(tag, typ uint16, count, val uint32) {
		b = be.AppendUint16(b, tag)
		b = be.AppendUint16(b, typ)
		b = be.AppendUint32(b, count)
		b = be.AppendUint32(b, val)
	}
	str := append([]byte(secret), 0)
	// IFD0 at 8: 3 entries (2+36+4 bytes) → GPS IFD at 50, string after it.
	b = be.AppendUint16(b, 3)
	gpsOff := uint32(8 + 2 + 3*12 + 4)
	gpsLen := uint32(2 + 3*12 + 4)
	ratOff := gpsOff + gpsLen
	strOff := ratOff + 2*3*8
	ifd0(0x0112, 3, 1, 1<<16)
	ifd0(0x013B, 2, uint32(len(str)), strOff)
	ifd0(0x8825, 4, 1, gpsOff)
	b = be.AppendUint32(b, 0)
	b = be.AppendUint16(b, 3)
	ifd0(0x0001, 2, 2, 'N'<<24)
	ifd0(0x0002, 5, 3, ratOff)
	ifd0(0x0004, 5, 3, ratOff+24)
	b = be.AppendUint32(b, 0)
	for _, v := range []uint32{51, 1, 1, 1, 24, 1, 7, 1, 35, 1, 31, 1} {
		b = be.AppendUint32(b, v)
	}
	return append(b, str...)
}

// everyMetadata adds to jpg what phones, editors and messengers write:
// JFIF with a thumbnail, JFXX, EXIF with GPS, XMP, extended XMP, IPTC,
// an sRGB ICC profile in two chunks, MPF, a maker-notes-like APP, Adobe
// APP14 (YCbCr), comments, fill bytes before a marker, and after EOI a
// second image (MPF/depth map) and a Samsung-style trailer. secret is
// written into every one of them.
func everyMetadata(t testing.TB, jpg []byte, secret string) []byte {
	t.Helper()
	icc := iccProfile(sRGBColorants)
	half := len(icc) / 2
	jfif := append([]byte("JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x02\x01"), bytes.Repeat([]byte{0x7F}, 2*1*3)...)
	src := afterSOI(jpg,
		segment(0xE0, jfif),
		segment(0xE0, append([]byte("JFXX\x00\x10"), []byte(secret)...)),
		segment(0xE1, append([]byte("Exif\x00\x00"), gpsTIFF(secret)...)),
		segment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:creator>"+secret+"</dc:creator></x:xmpmeta>")),
		segment(0xE1, []byte("http://ns.adobe.com/xmp/extension/\x00"+secret)),
		segment(0xE2, append([]byte("ICC_PROFILE\x00\x01\x02"), icc[:half]...)),
		segment(0xE2, append([]byte("ICC_PROFILE\x00\x02\x02"), icc[half:]...)),
		segment(0xE2, append([]byte("MPF\x00MM\x00\x2A\x00\x00\x00\x08\x00\x01\xB0\x00\x00\x07\x00\x00\x00\x040100\x00\x00\x00\x00"), secret...)),
		segment(0xEB, []byte("Samsung maker notes "+secret)),
		segment(0xED, photoshopIPTC(secret)),
		segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")),
		segment(0xFE, []byte("comment "+secret)),
		[]byte{0xFF, 0xFF, 0xFF}, // fill bytes before the next marker (T.81 B.1.1.2)
	)
	// A comment and an APP1 between the tables and the frame header.
	i := segmentOffset(t, src, 0xDB)
	src = append(src[:i:i], append(append(segment(0xFE, []byte(secret)), segment(0xE1, []byte("Exif\x00\x00"+secret))...), src[i:]...)...)
	src = append(src, []byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00second image "+secret+"\xFF\xD9")...)
	return append(src, []byte("SEFHSEFT depth map "+secret)...)
}

// photoshopIPTC is an APP13 Photoshop segment payload holding an IPTC
// By-line (IIM 2:80) in its 0x0404 resource, as editors write it.
func photoshopIPTC(s string) []byte {
	iptc := append([]byte{0x1C, 2, 80}, byte(len(s)>>8), byte(len(s)))
	iptc = append(iptc, s...)
	b := append([]byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00"), binary.BigEndian.AppendUint32(nil, uint32(len(iptc)))...)
	b = append(b, iptc...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// segmentOffset walks the header segments of jpg to the first one with
// the given marker.
func segmentOffset(t testing.TB, jpg []byte, marker byte) int {
	t.Helper()
	for off := 2; off+4 <= len(jpg); off += 2 + int(binary.BigEndian.Uint16(jpg[off+2:])) {
		for jpg[off+1] == 0xFF {
			off++
		}
		if jpg[off] == 0xFF && jpg[off+1] == marker {
			return off
		}
	}
	t.Fatalf("no marker %02X", marker)
	return 0
}

// allowedMarkers lists the markers a lossless copy may hold outside its
// entropy-coded data.
var allowedMarkers = map[byte]bool{0xD8: true, 0xE0: true, 0xDB: true, 0xC4: true, 0xDD: true, 0xC0: true, 0xC2: true, 0xDA: true, 0xD9: true}

// checkCopyStructure walks a copy independently of losslessJPEG: only
// allowed markers, a JFIF APP0 of 16 bytes without thumbnail, EOI as the
// last two bytes.
func checkCopyStructure(t *testing.T, name string, c []byte) {
	t.Helper()
	if !bytes.HasPrefix(c, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(c, []byte{0xFF, 0xD9}) {
		t.Fatalf("%s: does not start with SOI and end with EOI", name)
	}
	for off := 2; off < len(c)-2; {
		m := c[off+1]
		if c[off] != 0xFF || !allowedMarkers[m] {
			t.Fatalf("%s: marker %02X %02X at %d", name, c[off], m, off)
		}
		n := int(binary.BigEndian.Uint16(c[off+2:]))
		if m == 0xE0 && (n != 16 || !bytes.Equal(c[off+4:off+9], []byte("JFIF\x00")) || c[off+16] != 0 || c[off+17] != 0) {
			t.Errorf("%s: APP0 %q is not JFIF without thumbnail", name, c[off+4:off+2+n])
		}
		off += 2 + n
		if m == 0xDA {
			off = scanEnd(c, off)
		}
	}
}

// decodeEqual decodes both JPEGs with libjpeg and, where it can read the
// original, with image/jpeg, and requires the same pixels byte for byte.
func decodeEqual(t *testing.T, name string, a, b []byte) {
	t.Helper()
	pa, wa, ha, err := vips.JPEGPixels(a, DefaultMaxDecodePixels)
	if err != nil {
		t.Fatalf("%s: libjpeg: original: %v", name, err)
	}
	pb, wb, hb, err := vips.JPEGPixels(b, DefaultMaxDecodePixels)
	if err != nil {
		t.Fatalf("%s: libjpeg: copy: %v", name, err)
	}
	if wa != wb || ha != hb || !bytes.Equal(pa, pb) {
		t.Errorf("%s: libjpeg decodes %d×%d, the copy %d×%d, pixels equal: %v", name, wa, ha, wb, hb, bytes.Equal(pa, pb))
	}
	goDecodeEqual(t, name, a, b)
}

// goDecodeEqual decodes both JPEGs with image/jpeg, if it reads the
// original (it refuses progressive JPEGs with restart markers), and
// requires the same pixels (Y, Cb, Cr planes or grey, byte for byte).
func goDecodeEqual(t *testing.T, name string, a, b []byte) {
	t.Helper()
	ia, err := jpeg.Decode(bytes.NewReader(a))
	if err != nil {
		t.Logf("%s: image/jpeg cannot read the original: %v", name, err)
		return
	}
	ib, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: image/jpeg: copy: %v", name, err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("%s: %v, copy %v", name, ia.Bounds(), ib.Bounds())
	}
	switch pa := ia.(type) {
	case *image.YCbCr:
		pb, ok := ib.(*image.YCbCr)
		if !ok || pa.SubsampleRatio != pb.SubsampleRatio || !bytes.Equal(pa.Y, pb.Y) || !bytes.Equal(pa.Cb, pb.Cb) || !bytes.Equal(pa.Cr, pb.Cr) {
			t.Errorf("%s: image/jpeg: pixels differ", name)
		}
	case *image.Gray:
		pb, ok := ib.(*image.Gray)
		if !ok || !bytes.Equal(pa.Pix, pb.Pix) {
			t.Errorf("%s: image/jpeg: pixels differ", name)
		}
	default:
		t.Fatalf("%s: decoded as %T", name, ia)
	}
}

// losslessBases are the JPEGs every lossless test starts from.
func losslessBases(t *testing.T) map[string][]byte {
	grey := image.NewGray(image.Rect(0, 0, 123, 77))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i * 7)
	}
	return map[string][]byte{
		"messenger_450x600.jpg (orientation 6)": readFile(t, testsvc.Photo(t, "messenger_450x600.jpg")),
		"messenger upright":                     readFile(t, messengerUprightJPEG),
		"restart markers":                       readFile(t, restartJPEG),
		"progressive":                           readFile(t, progressiveJPEG),
		"progressive with restart markers":      readFile(t, progressiveRestartJPEG),
		"image/jpeg baseline":                   encodeJPEG(t, upright(333, 201)),
		"image/jpeg grey":                       encodeJPEG(t, grey),
	}
}

// TestLosslessJPEGKeepsPixels: the copy of each base, plain and with
// every kind of metadata and trailer, decodes to exactly the original's
// pixels, holds nothing but what a decoder needs (no secret left), and
// copying it again changes nothing.
func TestLosslessJPEGKeepsPixels(t *testing.T) {
	const secret = "SECRET-51.0234-owner@example.org"
	for name, base := range losslessBases(t) {
		for variant, src := range map[string][]byte{"plain": base, "every metadata": everyMetadata(t, base, secret)} {
			name := name + ", " + variant
			c, err := losslessJPEG(src, testLimits)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			decodeEqual(t, name, src, c.data)
			checkCopyStructure(t, name, c.data)
			checkNoMetadata(t, name, c.data, secret)
			for _, s := range []string{"Exif", "http://ns.adobe.com", "Photoshop", "MPF", "ICC_PROFILE", "JFXX", "Adobe", "SEFT"} {
				if bytes.Contains(c.data, []byte(s)) {
					t.Errorf("%s: copy contains %q", name, s)
				}
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(src))
			if err != nil || cfg.Width != c.width || cfg.Height != c.height {
				t.Errorf("%s: copy says %d×%d, image/jpeg %d×%d (%v)", name, c.width, c.height, cfg.Width, cfg.Height, err)
			}
			if variant == "every metadata" && !vips.IsSRGB(c.icc) {
				t.Errorf("%s: the sRGB profile was not reassembled from its two chunks (%d bytes)", name, len(c.icc))
			}
			again, err := losslessJPEG(c.data, testLimits)
			if err != nil || !bytes.Equal(again.data, c.data) {
				t.Errorf("%s: copying the copy: %v, same bytes %v", name, err, bytes.Equal(again.data, c.data))
			}
			if len(c.data) > len(src) {
				t.Errorf("%s: copy %d bytes, original %d", name, len(c.data), len(src))
			}
		}
	}
}

// patched returns a copy of src with b written at the first occurrence
// of marker m plus off.
func patched(t *testing.T, src []byte, m []byte, off int, b ...byte) []byte {
	t.Helper()
	i := bytes.Index(src, m)
	if i < 0 {
		t.Fatalf("no %X", m)
	}
	out := bytes.Clone(src)
	copy(out[i+off:], b)
	return out
}

// TestLosslessJPEGRefuses: everything outside the strict conditions is
// refused with a reason, so that it takes the converting path.
func TestLosslessJPEGRefuses(t *testing.T) {
	base := encodeJPEG(t, upright(320, 240))
	sos := bytes.Index(base, []byte{0xFF, 0xDA})
	eoi := len(base) - 2
	noise := image.NewRGBA(image.Rect(0, 0, 96, 96))
	rng := rand.New(rand.NewPCG(17, 3))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	var noisy bytes.Buffer
	if err := jpeg.Encode(&noisy, noise, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	icc := iccProfile(sRGBColorants)
	manyScans := append([]byte{}, base[:eoi]...)
	for range maxLosslessScans {
		manyScans = append(manyScans, base[sos:eoi]...)
	}
	cases := map[string]struct {
		src []byte
		lim losslessLimits
	}{
		"CMYK (Adobe YCCK)":             {readFile(t, cmykJPEG), testLimits},
		"over the edge":                 {base, losslessLimits{maxEdge: 319, maxPixels: DefaultMaxDecodePixels}},
		"over the pixel limit":          {base, losslessLimits{maxEdge: 1600, maxPixels: 320*240 - 1}},
		"not a JPEG":                    {[]byte("GIF89a....."), testLimits},
		"no EOI":                        {base[:eoi], testLimits},
		"cut in the scan":               {base[:sos+400], testLimits},
		"cut in the tables":             {base[:40], testLimits},
		"cut in a segment header":       {base[:sos+2], testLimits},
		"EOI before the scan":           {append(append([]byte{}, base[:sos]...), 0xFF, 0xD9), testLimits},
		"garbage between segments":      {afterSOI(base, []byte("garbage")), testLimits},
		"second SOI":                    {afterSOI(base, []byte{0xFF, 0xD8}), testLimits},
		"restart marker outside a scan": {afterSOI(base, []byte{0xFF, 0xD3}), testLimits},
		"SOF1 extended":                 {patched(t, base, []byte{0xFF, 0xC0}, 1, 0xC1), testLimits},
		"SOF3 lossless":                 {patched(t, base, []byte{0xFF, 0xC0}, 1, 0xC3), testLimits},
		"SOF9 arithmetic":               {patched(t, base, []byte{0xFF, 0xC0}, 1, 0xC9), testLimits},
		"12-bit samples":                {patched(t, base, []byte{0xFF, 0xC0}, 4, 12), testLimits},
		"height 0 (DNL)":                {patched(t, base, []byte{0xFF, 0xC0}, 5, 0, 0), testLimits},
		"RGB component IDs":             {patched(t, base, []byte{0xFF, 0xC0}, 10, 'R', 0x22, 0, 'G', 0x11, 1, 'B'), testLimits},
		"sampling factor 0":             {patched(t, base, []byte{0xFF, 0xC0}, 11, 0x02), testLimits},
		"Adobe transform 0 (RGB)":       {afterSOI(base, segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))), testLimits},
		"DAC (arithmetic)":              {afterSOI(base, segment(0xCC, []byte{0, 0})), testLimits},
		"segment overruns":              {afterSOI(base, []byte{0xFF, 0xFE, 0xFF, 0xF0, 'x'}), testLimits},
		"ICC chunk 2 of 2 missing":      {afterSOI(base, segment(0xE2, append([]byte("ICC_PROFILE\x00\x01\x02"), icc[:100]...))), testLimits},
		"ICC chunk numbered 3 of 2":     {afterSOI(base, segment(0xE2, append([]byte("ICC_PROFILE\x00\x03\x02"), icc...))), testLimits},
		"ICC chunk twice": {afterSOI(base, segment(0xE2, append([]byte("ICC_PROFILE\x00\x01\x01"), icc...)),
			segment(0xE2, append([]byte("ICC_PROFILE\x00\x01\x01"), icc...))), testLimits},
		"too many scans":        {append(manyScans, 0xFF, 0xD9), testLimits},
		"over 1 byte per pixel": {noisy.Bytes(), testLimits},
	}
	for name, c := range cases {
		_, err := losslessJPEG(c.src, c.lim)
		if !errors.Is(err, errNotLossless) {
			t.Errorf("%s: %v, want errNotLossless", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := losslessJPEG(base, testLimits); err != nil {
		t.Fatalf("test premise: the base is accepted: %v", err)
	}
}

// encodeJPEGQuality encodes img with image/jpeg at quality q.
func encodeJPEGQuality(t *testing.T, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestIJGQuality: the quality estimated from a luminance table scaled as
// libjpeg's jpeg_set_quality does (and the photos' encoders did) is the
// quality it was made with, within 1.
func TestIJGQuality(t *testing.T) {
	for _, q := range []int{30, 50, 75, 80, 85, 90, 96, 100} { // below 30 entries clip at 255
		scale := 200 - 2*q
		if q < 50 {
			scale = 5000 / q
		}
		table := make([]uint16, 64)
		for i, s := range stdLuminance {
			table[i] = uint16(min(255, max(1, (int(s)*scale+50)/100)))
		}
		if got := ijgQuality(table); got < q-1 || got > q+1 {
			t.Errorf("quality %d estimated as %d", q, got)
		}
	}
	for name, want := range map[string]int{messengerUprightJPEG: 80, testsvc.Photo(t, "messenger_450x600.jpg"): 96, progressiveJPEG: 80} {
		_, err := losslessJPEG(readFile(t, name), losslessLimits{maxEdge: 1600, maxPixels: DefaultMaxDecodePixels, maxQuality: want - 1})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("quality about %d,", want)) {
			t.Errorf("%s with quality limit %d: %v, want refused as quality %d", name, want-1, err, want)
		}
		if _, err := losslessJPEG(readFile(t, name), losslessLimits{maxEdge: 1600, maxPixels: DefaultMaxDecodePixels, maxQuality: want}); err != nil {
			t.Errorf("%s with quality limit %d: %v", name, want, err)
		}
	}
}

// unitStore is a Store for team copies without S3.
func unitStore() *Store {
	cfg, err := Config{Endpoint: "unused:9000", Bucket: "unused", AccessKey: "a", SecretKey: "b", LosslessTeamCopy: true}.withDefaults()
	if err != nil {
		panic(err)
	}
	return &Store{cfg: cfg, log: slog.New(slog.DiscardHandler)}
}

// TestTeamCopyPaths: JPEGs that need no pixel work get the lossless copy
// (the original's pixels exactly, no metadata) and a thumbnail as the
// converting path makes it; rotated, CMYK, Display P3, oversized,
// truncated and damaged ones take the converting path unchanged.
func TestTeamCopyPaths(t *testing.T) {
	s := unitStore()
	ctx := context.Background()
	const secret = "SECRET-51.0234-owner@example.org"
	type input struct {
		src         []byte
		orientation int
	}
	messenger := readFile(t, messengerUprightJPEG)
	p3 := withICC(encodeJPEG(t, upright(64, 48)), iccProfile(p3Colorants))
	phone := readFile(t, testsvc.Photo(t, "phone_12mp.jpg"))
	lossless := map[string]input{
		"messenger upright":                 {messenger, 1},
		"messenger upright, every metadata": {everyMetadata(t, messenger, secret), 1},
		"progressive with restart markers":  {readFile(t, progressiveRestartJPEG), 0},
		"restart markers, every metadata":   {everyMetadata(t, readFile(t, restartJPEG), secret), 1},
		"orientation_1.jpg (quality 90)":    {readFile(t, testsvc.Photo(t, "orientation_1.jpg")), 1},
		"image/jpeg at quality 85":          {encodeJPEGQuality(t, upright(333, 201), 85), 1},
		"serial_owner.jpg":                  {readFile(t, testsvc.Photo(t, "serial_owner.jpg")), 1},
	}
	converted := map[string]input{
		"messenger_450x600.jpg (orientation 6)": {readFile(t, testsvc.Photo(t, "messenger_450x600.jpg")), 6},
		"orientation_6.jpg":                     {readFile(t, testsvc.Photo(t, "orientation_6.jpg")), 6},
		"CMYK":                                  {readFile(t, cmykJPEG), 1},
		"Display P3 profile":                    {p3, 1},
		"12 MP (over the edge)":                 {phone, 1},
		"quality 95 (over 80 + 10)":             {encodeJPEG(t, upright(333, 201)), 1},
		"messenger_450x600.jpg turned by metadata only (quality 96)": {
			readFile(t, testsvc.Photo(t, "messenger_450x600.jpg")), 1},
		"truncated.jpg":           {readFile(t, testsvc.Photo(t, "truncated.jpg")), 1},
		"damaged restart markers": {readFile(t, damagedJPEG), 1},
	}
	for want, inputs := range map[string]map[string]input{"lossless": lossless, "converted": converted} {
		for name, in := range inputs {
			l0, c0 := s.paths.lossless.Load(), s.paths.converted.Load()
			tc, err := s.teamCopy(ctx, Object{Key: "orig/x", ContentType: TypeJPEG}, in.orientation, in.src)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			dl, dc := s.paths.lossless.Load()-l0, s.paths.converted.Load()-c0
			if got := map[bool]string{true: "lossless", false: "converted"}[dl == 1 && dc == 0 && tc.Decoder == decoderLossless]; got != want || dl+dc != 1 {
				t.Errorf("%s: %s (decoder %q, counted lossless %d, converted %d), want %s", name, got, tc.Decoder, dl, dc, want)
				continue
			}
			checkNoMetadata(t, name+" team copy", tc.Full, secret)
			checkNoMetadata(t, name+" thumbnail", tc.Thumb, secret)
			thumb, err := jpeg.DecodeConfig(bytes.NewReader(tc.Thumb))
			if err != nil {
				t.Errorf("%s: thumbnail: %v", name, err)
				continue
			}
			if want == "converted" {
				continue
			}
			decodeEqual(t, name, in.src, tc.Full)
			checkCopyStructure(t, name, tc.Full)
			// The thumbnail is what the converting path makes of the same picture.
			ref, err := vips.TeamCopy(in.src, vips.Options{MaxEdge: s.cfg.DerivativeMaxEdge, ThumbEdge: s.cfg.ThumbMaxEdge, MaxPixels: DefaultMaxDecodePixels})
			if err != nil {
				t.Fatal(err)
			}
			refThumb, _ := jpeg.Decode(bytes.NewReader(ref.Thumb))
			got, _ := jpeg.Decode(bytes.NewReader(tc.Thumb))
			if refThumb.Bounds() != got.Bounds() || image.Pt(thumb.Width, thumb.Height) != got.Bounds().Size() {
				t.Errorf("%s: thumbnail %v, the converting path's %v", name, got.Bounds(), refThumb.Bounds())
				continue
			}
			if d := meanAbsDiff(got, refThumb); d > 4 {
				t.Errorf("%s: thumbnail differs from the converting path's by %.1f per channel on average", name, d)
			}
			if tc.Width != ref.Width || tc.Height != ref.Height {
				t.Errorf("%s: %d×%d, converting path %d×%d", name, tc.Width, tc.Height, ref.Width, ref.Height)
			}
		}
	}
}

// meanAbsDiff is the mean absolute difference per RGB channel (0..255).
func meanAbsDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca, cb := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA), color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			for _, d := range []int{int(ca.R) - int(cb.R), int(ca.G) - int(cb.G), int(ca.B) - int(cb.B)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

// requireTool returns the path of a command the test needs. A missing
// one fails the test under CI=true (deploy/dev/services installs it) and
// skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not installed (deploy/dev/services start installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestLosslessCopyExiftool: exiftool, an independent reader of every
// metadata format, finds nothing in a lossless copy but the file's own
// structure (JFIF version and density), where the original shows EXIF,
// GPS, XMP, IPTC, ICC, MPF, comments and the trailer.
func TestLosslessCopyExiftool(t *testing.T) {
	exiftool := requireTool(t, "exiftool")
	const secret = "SECRET-51.0234-owner@example.org"
	dir := t.TempDir()
	groups := func(b []byte) map[string]bool {
		t.Helper()
		path := dir + "/x.jpg"
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exiftool, "-a", "-u", "-G1", "-s", "-e", path).Output()
		if err != nil {
			t.Fatalf("exiftool: %v", err)
		}
		g := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "]"); strings.HasPrefix(line, "[") && i > 0 {
				g[line[1:i]] = true
				if strings.Contains(line, secret) {
					g["secret"] = true
				}
			}
		}
		return g
	}
	for _, base := range []string{messengerUprightJPEG, progressiveRestartJPEG} {
		src := everyMetadata(t, readFile(t, base), secret)
		c, err := losslessJPEG(src, testLimits)
		if err != nil {
			t.Fatal(err)
		}
		before, after := groups(src), groups(c.data)
		for _, g := range []string{"IFD0", "GPS", "XMP-dc", "ICC-header", "IPTC", "MPF0", "JFXX", "Adobe", "secret"} {
			if !before[g] {
				t.Errorf("%s: test premise: exiftool finds no %s in the original (%v)", base, g, before)
			}
		}
		for g := range after {
			switch g {
			case "ExifTool", "System", "File", "JFIF", "Composite":
			default:
				t.Errorf("%s: exiftool finds %s in the lossless copy", base, g)
			}
		}
	}
}

// TestLosslessMangledJPEGs feeds truncated and bit-flipped versions of
// the upright messenger photo through the lossless path: each is either
// refused (and then made by the converting path, or ErrUnreadable), or
// copied with exactly the pixels image/jpeg reads from the mangled
// original, never with metadata; the process survives.
func TestLosslessMangledJPEGs(t *testing.T) {
	src := everyMetadata(t, readFile(t, messengerUprightJPEG), "SECRET")
	variants := 150
	if testing.Short() {
		variants = 30
	}
	s := unitStore()
	rng := rand.New(rand.NewPCG(17, 4))
	sos := bytes.LastIndex(src[:bytes.Index(src, []byte("\xFF\xD9"))], []byte{0xFF, 0xDA})
	outcomes := map[string]int{}
	for i := range variants {
		b := bytes.Clone(src)
		switch i % 3 {
		case 0:
			b = b[:rng.IntN(len(b))]
		case 1: // headers and metadata
			for range 1 + rng.IntN(4) {
				b[2+rng.IntN(sos)] ^= byte(1 + rng.IntN(255))
			}
		case 2: // entropy-coded data
			for range 1 + rng.IntN(8) {
				b[sos+20+rng.IntN(len(b)-sos-400)] ^= byte(1 + rng.IntN(255))
			}
		}
		c, werr := losslessJPEG(b, testLimits)
		if werr != nil && !errors.Is(werr, errNotLossless) {
			t.Fatalf("variant %d: %v", i, werr)
		}
		if werr == nil {
			checkCopyStructure(t, fmt.Sprint("variant ", i), c.data)
			checkNoMetadata(t, fmt.Sprint("variant ", i), c.data, "SECRET")
			if _, _, _, err := vips.JPEGPixels(b, DefaultMaxDecodePixels); err == nil {
				decodeEqual(t, fmt.Sprint("variant ", i), b, c.data)
			} else {
				goDecodeEqual(t, fmt.Sprint("variant ", i), b, c.data)
			}
		}
		tc, err := s.teamCopy(context.Background(), Object{Key: "orig/x", ContentType: TypeJPEG}, 1, b)
		switch {
		case err != nil && !errors.Is(err, ErrNoDerivative):
			t.Errorf("variant %d: %v, want ErrNoDerivative", i, err)
		case err != nil:
			outcomes["error"]++
		case tc.Decoder == decoderLossless:
			outcomes["lossless"]++
			if werr != nil {
				t.Errorf("variant %d: lossless team copy of a file the walker refused", i)
			}
		default:
			outcomes["converted, walker: "+map[bool]string{true: "refused", false: "accepted"}[werr != nil]]++
		}
		if err == nil {
			checkNoMetadata(t, fmt.Sprint("variant ", i, " team copy"), tc.Full, "SECRET")
		}
	}
	t.Logf("outcomes: %v", outcomes)
	for _, o := range []string{"lossless", "converted, walker: refused", "converted, walker: accepted"} {
		if outcomes[o] == 0 {
			t.Errorf("outcomes %v: none %q", outcomes, o)
		}
	}
}

// FuzzLosslessJPEG: on any input the walker returns a copy or a refusal,
// never panics, and a copy is well-formed, no longer than the input and
// a fixed point.
func FuzzLosslessJPEG(f *testing.F) {
	for _, p := range []string{restartJPEG, progressiveRestartJPEG, cmykJPEG} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := losslessJPEG(b, testLimits)
		if err != nil {
			if !errors.Is(err, errNotLossless) {
				t.Fatalf("error %v does not wrap errNotLossless", err)
			}
			return
		}
		if len(c.data) > len(b) {
			t.Fatalf("copy %d bytes from %d", len(c.data), len(b))
		}
		checkCopyStructure(t, "copy", c.data)
		again, err := losslessJPEG(c.data, testLimits)
		if err != nil || !bytes.Equal(again.data, c.data) {
			t.Fatalf("copy of the copy: %v", err)
		}
	})
}

// TestLosslessDerivativeStored: through S3, an upright messenger photo's
// team copy is the lossless copy (same keys, content type and Derivative
// fields as the converting path gives), stored byte for byte, with the
// original's pixels and no metadata; a rotated one is converted.
func TestLosslessDerivativeStored(t *testing.T) {
	s := newTestStore(t, func(c *Config) { c.LosslessTeamCopy = true })
	ctx := context.Background()
	for _, c := range []struct {
		path     string
		lossless bool
	}{{messengerUprightJPEG, true}, {testsvc.Photo(t, "messenger_450x600.jpg"), false}} {
		src := readFile(t, c.path)
		obj, err := s.Put(ctx, bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		md, err := s.ReadMetadataFrom(ctx, obj, src)
		if err != nil {
			t.Fatal(err)
		}
		l0 := s.paths.lossless.Load()
		d, err := s.MakeDerivativeFrom(ctx, obj, md, src)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if got := s.paths.lossless.Load() - l0; got != map[bool]int64{true: 1, false: 0}[c.lossless] {
			t.Errorf("%s: %d lossless team copies, want lossless=%v", c.path, got, c.lossless)
		}
		base := PrefixTeam + strings.TrimPrefix(obj.Key, PrefixOriginal)
		if d.Key != base+".jpg" || d.ThumbKey != base+"-thumb.jpg" || d.ContentType != TypeJPEG {
			t.Errorf("%s: derivative %+v", c.path, d)
		}
		full, thumb := fetchPresigned(t, s, d.Key), fetchPresigned(t, s, d.ThumbKey)
		if int64(len(full)) != d.Size {
			t.Errorf("%s: stored %d bytes, Size %d", c.path, len(full), d.Size)
		}
		for name, b := range map[string][]byte{"team copy": full, "thumbnail": thumb} {
			for _, s := range []string{"Exif", "Testtelefon", "Fieldgate", "http://ns.adobe.com"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s contains %q", c.path, name, s)
				}
			}
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
		if err != nil || cfg.Width != 240 || cfg.Height != 320 {
			t.Errorf("%s: thumbnail %d×%d (%v), want 240×320", c.path, cfg.Width, cfg.Height, err)
		}
		if c.lossless {
			want, err := losslessJPEG(src, testLimits)
			if err != nil || !bytes.Equal(full, want.data) {
				t.Errorf("%s: stored team copy is not the lossless copy (%v)", c.path, err)
			}
			decodeEqual(t, c.path, src, full)
		}
	}
}
