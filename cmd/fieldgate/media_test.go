package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

func TestRunMediaInspect(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "photo.jpg") // an executable renamed .jpg
	if err := os.WriteFile(exe, append([]byte("MZ\x90\x00"), make([]byte, 600)...), 0o644); err != nil {
		t.Fatal(err)
	}
	gps := testsvc.PhotoExpected(t, "gps_ne.jpg")
	full, err := os.ReadFile(gps.Path)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.jpg")
	if err := os.WriteFile(truncated, full[:3000], 0o644); err != nil {
		t.Fatal(err)
	}
	taken, err := time.Parse("2006:01:02 15:04:05", gps.Taken)
	if err != nil {
		t.Fatal(err)
	}
	heic := testsvc.PhotoExpected(t, "gps.heic")
	private := testsvc.PhotoExpected(t, "serial_owner.jpg")
	photo := testsvc.Photo

	tests := []struct {
		name     string
		files    []string
		wantExit int // 0 ok, 1 refused
		want     []string
	}{
		{"gps", []string{gps.Path}, 0,
			[]string{"image/jpeg", fmt.Sprintf("%d bytes", len(full)),
				fmt.Sprintf("lat=%.8f lon=%.8f alt=%.1f", *gps.Lat, *gps.Lon, *gps.Alt),
				taken.Format("2006-01-02 15:04:05"), "1 (normal)", gps.Make + " " + gps.Model, "drops: GPS"}},
		{"heic", []string{heic.Path}, 0,
			[]string{"image/heic", fmt.Sprintf("lat=%.8f lon=%.8f alt=%.1f", *heic.Lat, *heic.Lon, *heic.Alt),
				heic.Make + " " + heic.Model, "team copy:   upright, re-encoded without any metadata"}},
		{"png and heic (media/testdata/make_attack8.sh)", []string{filepath.Join("..", "..", "media", "testdata", "attack8", "png_o6_late.png"),
			filepath.Join("..", "..", "media", "testdata", "attack8", "heic_irot3_exif6.heic")}, 0,
			[]string{"image/png", "lat=51.02340000 lon=7.59210000", "2026-05-20 10:15:00 +02:00", "orientation: 6 (rotated 90° clockwise)\n",
				"6 (rotated 90° clockwise) in EXIF, informative only"}},
		{"no gps", []string{photo(t, "orientation_6.jpg")}, 0,
			[]string{"no position (no GPS data in EXIF)", "6 (rotated 90° clockwise)"}},
		{"private and broken files", []string{private.Path, photo(t, "gps_no_refs.jpg"), photo(t, "no_exif.jpg"), truncated}, 0,
			[]string{private.Model, "serial number, owner name", "reference (N/S) missing", "no position (no EXIF data)", "truncated.jpg"}},
		{"exe renamed", []string{exe, photo(t, "gps_sw.jpg")}, 1,
			[]string{"refused: detected type application/octet-stream is not allowed", "Testkamera SW"}},
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
