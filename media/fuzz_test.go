package media

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// seedPrefix is how much of each test photo seeds the fuzzer: enough for
// the JPEG APP segments and, for the HEIC, the meta box and Exif item.
const seedPrefix = 96 << 10

// FuzzExtract runs the whole extraction path (JPEG/PNG/WebP/HEIF container walk,
// TIFF validation and rewrite, goexif, value checks) on arbitrary bytes,
// as sniffed and forced to JPEG, HEIC, PNG and WebP. Run it under a memory limit:
//
//	(ulimit -v 4000000; go test -run '^$' -fuzz FuzzExtract -fuzztime 10m ./media/)
func FuzzExtract(f *testing.F) {
	for _, seed := range [][]byte{craftedLoop(), craftedSubLoop(), craftedCountOverflow(), craftedPanics(),
		craftedGPS(deg(52), deg(13), 'N', 'E')} {
		f.Add(seed)
	}
	var paths []string
	for _, p := range testsvc.Photos(f) {
		paths = append(paths, p.Path)
	}
	more, _ := filepath.Glob("testdata/goexif-corrupt/*")
	a8, _ := filepath.Glob("testdata/attack8/*")
	more = append(more, a8...)
	for _, p := range append(paths, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), seedPrefix)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ct := range []string{Sniff(data), TypeJPEG, TypeHEIC, TypePNG, TypeWebP} {
			md, err := Extract(bytes.NewReader(data), int64(len(data)), ct)
			if err != nil {
				t.Fatalf("Extract(%s): %v", ct, err)
			}
			checkInvariants(t, md)
		}
		// The validator on its own, with the bytes taken as a raw TIFF.
		if clean, _, err := cleanTIFF(data); err == nil {
			if len(clean) > 3*maxValueBudget {
				t.Fatalf("canonical TIFF of %d bytes", len(clean))
			}
			// Canonical output must be a fixed point (it is already valid).
			again, _, err := cleanTIFF(clean)
			if err != nil || !bytes.Equal(again, clean) {
				t.Fatalf("cleanTIFF not idempotent: %v", err)
			}
		}
	})
}

func checkInvariants(t *testing.T, md Metadata) {
	t.Helper()
	if p := md.Position; p != nil {
		if math.IsNaN(p.Lat) || math.IsNaN(p.Lon) || math.Abs(p.Lat) > 90 || math.Abs(p.Lon) > 180 || (p.Lat == 0 && p.Lon == 0) {
			t.Fatalf("invalid position %+v", *p)
		}
		if p.Alt != nil && (math.IsNaN(*p.Alt) || math.IsInf(*p.Alt, 0)) {
			t.Fatalf("invalid altitude %v", *p.Alt)
		}
		if md.NoPositionReason != "" {
			t.Fatalf("position with reason %q", md.NoPositionReason)
		}
	} else if md.NoPositionReason == "" {
		t.Fatal("no position and no reason")
	}
	if md.Orientation < 0 || md.Orientation > 8 {
		t.Fatalf("orientation %d", md.Orientation)
	}
	for _, s := range []string{md.Make, md.Model, md.NoPositionReason} {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("unsafe string %q", s)
		}
	}
}
