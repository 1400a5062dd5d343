package testsvc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// PhotoInfo is one row of testdata/photos/expected.tsv: what fieldgate must
// read from a test photo that testdata/photos/make.sh drew and tagged.
// Absent values are zero (strings ""), absent numbers nil.
type PhotoInfo struct {
	File string // name in testdata/photos
	Path string // absolute path of the file
	Type string // content type fieldgate must sniff ("image/jpeg")
	// Width and Height are the stored pixel size, before orientation.
	Width, Height int
	// Lat and Lon are WGS-84 decimal degrees (south and west negative);
	// nil where fieldgate must find no position.
	Lat, Lon *float64
	Alt      *float64 // metres above sea level, negative below
	// Source is where the position comes from: "exif" (the GPS IFD) or
	// "xmp" (GPS only in an XMP packet); "" without a position.
	Source string
	// Taken is EXIF DateTimeOriginal as written ("2006:01:02 15:04:05").
	Taken       string
	Orientation int // EXIF orientation 1..8, 0 if absent
	Make, Model string
	// Serial and Owner are the camera serial number and owner name the
	// privacy-safe team copy must drop.
	Serial, Owner string
	Note          string
}

// RepoRoot returns the root of the fieldgate checkout the tests run in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testsvc: cannot locate the source tree")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("testsvc: repository root: %v", err)
	}
	return root
}

// PhotoDir returns the repository's test photo folder, testdata/photos.
func PhotoDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", "photos")
}

// Photo returns the path of a test photo in testdata/photos. A missing
// file fails the test: the photos are part of the repository.
func Photo(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(PhotoDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testsvc: test photo %s: %v (testdata/photos/make.sh makes it)", name, err)
	}
	return p
}

// Photos returns every row of testdata/photos/expected.tsv, each with its
// file checked to exist.
func Photos(t testing.TB) []PhotoInfo {
	t.Helper()
	dir := PhotoDir(t)
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	defer f.Close()
	var out []PhotoInfo
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue // header
		}
		p, err := parsePhotoRow(sc.Text())
		if err != nil {
			t.Fatalf("testsvc: expected.tsv line %d: %v", line, err)
		}
		p.Path = Photo(t, p.File)
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testsvc: expected.tsv: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("testsvc: expected.tsv has no photos")
	}
	return out
}

// PhotoExpected returns the expected.tsv row of one test photo.
func PhotoExpected(t testing.TB, name string) PhotoInfo {
	t.Helper()
	for _, p := range Photos(t) {
		if p.File == name {
			return p
		}
	}
	t.Fatalf("testsvc: %s is not in testdata/photos/expected.tsv", name)
	return PhotoInfo{}
}

// photoColumns is the number of tab-separated columns of expected.tsv.
const photoColumns = 15

func parsePhotoRow(line string) (PhotoInfo, error) {
	c := strings.Split(line, "\t")
	if len(c) != photoColumns {
		return PhotoInfo{}, fmt.Errorf("%d columns, want %d", len(c), photoColumns)
	}
	for i := range c {
		if c[i] == "-" {
			c[i] = ""
		}
	}
	p := PhotoInfo{File: c[0], Type: c[1], Source: c[7], Taken: c[8], Make: c[10], Model: c[11], Serial: c[12], Owner: c[13], Note: c[14]}
	var err error
	if p.Width, err = strconv.Atoi(c[2]); err != nil {
		return p, fmt.Errorf("width: %v", err)
	}
	if p.Height, err = strconv.Atoi(c[3]); err != nil {
		return p, fmt.Errorf("height: %v", err)
	}
	for _, f := range []struct {
		s   string
		dst **float64
	}{{c[4], &p.Lat}, {c[5], &p.Lon}, {c[6], &p.Alt}} {
		if f.s == "" {
			continue
		}
		v, err := strconv.ParseFloat(f.s, 64)
		if err != nil {
			return p, fmt.Errorf("number %q: %v", f.s, err)
		}
		*f.dst = &v
	}
	if (p.Lat == nil) != (p.Lon == nil) {
		return p, fmt.Errorf("lat and lon must both be given or both be absent")
	}
	if (p.Lat == nil) != (p.Source == "") {
		return p, fmt.Errorf("source %q must be given exactly when there is a position", p.Source)
	}
	if c[9] != "" {
		if p.Orientation, err = strconv.Atoi(c[9]); err != nil || p.Orientation < 1 || p.Orientation > 8 {
			return p, fmt.Errorf("orientation %q", c[9])
		}
	}
	return p, nil
}

// ExtraPhotos returns the folder named by FIELDGATE_EXTRA_PHOTOS, an
// optional corpus of more photos (for example real camera files) that a
// test may run over in addition to testdata/photos. It skips the test when
// the variable is unset: nothing required depends on it. A set variable
// naming a missing folder fails the test.
func ExtraPhotos(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FIELDGATE_EXTRA_PHOTOS")
	if dir == "" {
		t.Skip("FIELDGATE_EXTRA_PHOTOS not set (an optional extra photo corpus)")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("testsvc: FIELDGATE_EXTRA_PHOTOS=%s is not a folder (%v)", dir, err)
	}
	return dir
}
