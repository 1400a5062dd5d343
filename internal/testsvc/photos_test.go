package testsvc

import (
	"image"
	_ "image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPhotosTable checks expected.tsv against the folder: every photo is
// listed, every row's file exists, and the JPEG sizes in the table are the
// files' sizes.
func TestPhotosTable(t *testing.T) {
	photos := Photos(t)
	dir := PhotoDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, p := range photos {
		listed = append(listed, p.File)
	}
	for _, e := range entries {
		if n := e.Name(); n != "make.sh" && n != "expected.tsv" && !slices.Contains(listed, n) {
			t.Errorf("%s is in testdata/photos but not in expected.tsv", n)
		}
	}
	for _, p := range photos {
		if filepath.Dir(p.Path) != dir {
			t.Errorf("%s: path %s outside %s", p.File, p.Path, dir)
		}
		if p.Type != "image/jpeg" {
			continue
		}
		f, err := os.Open(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", p.File, err)
			continue
		}
		if cfg.Width != p.Width || cfg.Height != p.Height {
			t.Errorf("%s: %dx%d, table says %dx%d", p.File, cfg.Width, cfg.Height, p.Width, p.Height)
		}
	}
}

func TestParsePhotoRow(t *testing.T) {
	p, err := parsePhotoRow("a.jpg\timage/jpeg\t4\t3\t-1.5\t2.25\t-\texif\t2026:01:02 03:04:05\t6\tMk\tMd\tSN\t-\tnote")
	if err != nil {
		t.Fatal(err)
	}
	if p.Lat == nil || *p.Lat != -1.5 || *p.Lon != 2.25 || p.Alt != nil || p.Source != "exif" || p.Orientation != 6 || p.Serial != "SN" || p.Owner != "" || p.Note != "note" {
		t.Errorf("parsed %+v", p)
	}
	for _, bad := range []string{
		"a.jpg\timage/jpeg\t4\t3",                                         // too few columns
		"a.jpg\timage/jpeg\tx\t3\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tn",        // width
		"a.jpg\timage/jpeg\t4\t3\t1\t-\t-\texif\t-\t-\t-\t-\t-\t-\tn",     // lat without lon
		"a.jpg\timage/jpeg\t4\t3\t1\t2\t-\t-\t-\t-\t-\t-\t-\t-\tn",        // position without source
		"a.jpg\timage/jpeg\t4\t3\t-\t-\t-\texif\t-\t-\t-\t-\t-\t-\tn",     // source without position
		"a.jpg\timage/jpeg\t4\t3\t-\t-\t-\t-\t-\t9\t-\t-\t-\t-\tn",        // orientation out of range
		"a.jpg\timage/jpeg\t4\t3\tnorth\t1\t-\texif\t-\t-\t-\t-\t-\t-\tn", // not a number
	} {
		if _, err := parsePhotoRow(bad); err == nil {
			t.Errorf("parsePhotoRow(%q) accepted", bad)
		}
	}
}
