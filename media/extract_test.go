package media

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// expected is one row of testdata/photos/expected.tsv.
type expected = testsvc.PhotoInfo

// loadExpected returns the repository's test photos with the values
// fieldgate must read from each.
func loadExpected(t testing.TB) []expected {
	t.Helper()
	return testsvc.Photos(t)
}

func extractFile(t testing.TB, path string) Metadata {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, SniffLen)
	n, _ := f.ReadAt(head, 0)
	md, err := Extract(f, st.Size(), Sniff(head[:n]))
	if err != nil {
		t.Fatalf("Extract(%s): %v", path, err)
	}
	return md
}

// checkExpected compares md with an expected.tsv row.
func checkExpected(t *testing.T, e expected, md Metadata) {
	t.Helper()
	if e.Lat == nil {
		if md.Position != nil {
			t.Errorf("%s: position %+v, want none", e.File, *md.Position)
		}
		if md.NoPositionReason == "" {
			t.Errorf("%s: no position but no reason", e.File)
		}
	} else {
		if md.Position == nil {
			t.Fatalf("%s: no position (%s), want %v,%v", e.File, md.NoPositionReason, *e.Lat, *e.Lon)
		}
		if math.Abs(md.Position.Lat-*e.Lat) > 1e-9 || math.Abs(md.Position.Lon-*e.Lon) > 1e-9 {
			t.Errorf("%s: position %.12f,%.12f, want %v,%v", e.File, md.Position.Lat, md.Position.Lon, *e.Lat, *e.Lon)
		}
		if md.PositionSource != e.Source {
			t.Errorf("%s: position source %q, want %q", e.File, md.PositionSource, e.Source)
		}
		switch {
		case e.Alt == nil && md.Position.Alt != nil:
			t.Errorf("%s: altitude %v, want none", e.File, *md.Position.Alt)
		case e.Alt != nil && (md.Position.Alt == nil || math.Abs(*md.Position.Alt-*e.Alt) > 1e-3):
			t.Errorf("%s: altitude %v, want %v", e.File, md.Position.Alt, *e.Alt)
		}
	}
	switch {
	case e.Taken == "" && md.Taken != nil:
		t.Errorf("%s: taken %v, want none", e.File, md.Taken)
	case e.Taken != "" && (md.Taken == nil || md.Taken.Format("2006:01:02 15:04:05") != e.Taken):
		t.Errorf("%s: taken %v, want %s", e.File, md.Taken, e.Taken)
	}
	if md.Orientation != e.Orientation {
		t.Errorf("%s: orientation %d, want %d", e.File, md.Orientation, e.Orientation)
	}
	if md.Make != e.Make || md.Model != e.Model {
		t.Errorf("%s: make/model %q/%q, want %q/%q", e.File, md.Make, md.Model, e.Make, e.Model)
	}
}

// TestExtractPhotos is the golden test: every photo of testdata/photos
// against the values make.sh wrote into it (expected.tsv).
func TestExtractPhotos(t *testing.T) {
	for _, e := range loadExpected(t) {
		t.Run(e.File, func(t *testing.T) {
			md := extractFile(t, e.Path)
			checkExpected(t, e, md)
			t.Logf("%+v reason=%q dropped=%v", md.Position, md.NoPositionReason, md.Dropped)
		})
	}
}

// TestExtractExtraPhotos runs Extract over an optional extra corpus
// (FIELDGATE_EXTRA_PHOTOS=DIR, e.g. real camera files): nothing may fail or
// panic, and every photo either has a valid position or says why not.
func TestExtractExtraPhotos(t *testing.T) {
	dir := testsvc.ExtraPhotos(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(paths) == 0 {
		t.Fatalf("FIELDGATE_EXTRA_PHOTOS=%s holds no files", dir)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			md := extractFile(t, p)
			checkInvariants(t, md)
			if md.Position == nil && md.NoPositionReason == "" {
				t.Errorf("no position and no reason")
			}
			t.Logf("%+v reason=%q", md.Position, md.NoPositionReason)
		})
	}
}
