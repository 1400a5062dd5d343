package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const photos = "/work/shared/testdata/photos"

func TestRunMediaInspect(t *testing.T) {
	if _, err := os.Stat(photos); err != nil {
		t.Skipf("shared photos missing: %v", err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "photo.jpg") // an executable renamed .jpg
	if err := os.WriteFile(exe, append([]byte("MZ\x90\x00"), make([]byte, 600)...), 0o644); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(photos, "DSCN0010.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.jpg")
	if err := os.WriteFile(truncated, full[:3000], 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		files    []string
		wantExit int // 0 ok, 1 refused
		want     []string
	}{
		{"gps", []string{filepath.Join(photos, "DSCN0010.jpg")}, 0,
			[]string{"image/jpeg", "161713 bytes", "lat=43.46744833 lon=11.88512667 alt=unknown", "2008-10-22 16:28:39", "1 (normal)", "NIKON COOLPIX P6000", "drops: GPS"}},
		{"heic", []string{filepath.Join(photos, "IMG_5195.HEIC")}, 0,
			[]string{"image/heic", "lat=39.05134444 lon=-94.28877222 alt=260.6", "Apple iPhone 11 Pro Max", "team copy:   upright, re-encoded without any metadata"}},
		{"no gps", []string{filepath.Join(photos, "landscape_6.jpg")}, 0,
			[]string{"no position (no GPS data in EXIF)", "6 (rotated 90° clockwise)"}},
		{"broken files", []string{filepath.Join(photos, "corrupted.jpg"), filepath.Join(photos, "image01137.jpg"), filepath.Join(photos, "image02206.jpg"), truncated}, 0,
			[]string{"OLYMPUS IMAGING CORP.", "maker notes", "no position (no EXIF data)", "truncated.jpg"}},
		{"exe renamed", []string{exe, filepath.Join(photos, "jolla.jpg")}, 1,
			[]string{"refused: detected type application/octet-stream is not allowed", "Jolla"}},
		{"missing", []string{filepath.Join(dir, "nope.jpg")}, 1, []string{"refused:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runMedia(context.Background(), append([]string{"inspect"}, tc.files...), &out, &errOut)
			var ee exitError
			switch {
			case tc.wantExit == 0 && err != nil:
				t.Fatalf("runMedia = %v, want success\n%s%s", err, out.String(), errOut.String())
			case tc.wantExit != 0 && (!errors.As(err, &ee) || ee.code != tc.wantExit):
				t.Fatalf("runMedia = %v, want exit %d", err, tc.wantExit)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestRunMediaUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runMedia(context.Background(), nil, &out, &errOut)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("runMedia() = %v, stderr %q; want usage and exit 2", err, errOut.String())
	}
}
