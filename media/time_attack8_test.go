package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExtractCaptureTimesAttack8: capture times as cameras write them,
// written by exiftool and compared with what it reads back.
//   - DateTimeOriginal with OffsetTimeOriginal +02:00 and SubSecTimeOriginal:
//     the instant, zone known (sub-seconds are not needed and dropped);
//   - without an offset: the wall clock, zone unknown; TakenAt(Berlin)
//     reads it as Berlin time (08:15 UTC in May), TakenAt(nil) as UTC;
//   - GPSDateStamp/GPSTimeStamp: UTC, apart from the camera clock;
//   - 0000:00:00 00:00:00, all spaces, a date in 2031: the first two are
//     no time; the future one is kept as the camera says it (no clock in
//     Extract; judging it is the caller's business).
func TestExtractCaptureTimesAttack8(t *testing.T) {
	exiftool := requireTool(t, "exiftool")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	base := encodeJPEG(t, upright(64, 48))
	dir := t.TempDir()
	cases := []struct {
		name      string
		args      []string
		taken     string // RFC 3339 instant of TakenAt(berlin); "" none
		zoneKnown bool
		gps       string // RFC 3339 of GPSTime; "" none
	}{
		{"offset and sub-seconds", []string{"-DateTimeOriginal=2026:05:20 10:15:00", "-OffsetTimeOriginal=+02:00", "-SubSecTimeOriginal=123"}, "2026-05-20T08:15:00Z", true, ""},
		{"no offset", []string{"-DateTimeOriginal=2026:05:20 10:15:00"}, "2026-05-20T08:15:00Z", false, ""},
		{"no offset in winter", []string{"-DateTimeOriginal=2026:01:20 10:15:00"}, "2026-01-20T09:15:00Z", false, ""},
		{"GPS time stamp", []string{"-DateTimeOriginal=2026:05:20 10:15:00", "-GPSDateStamp=2026:05:20", "-GPSTimeStamp=08:14:59.5"}, "2026-05-20T08:15:00Z", false, "2026-05-20T08:14:59.5Z"},
		{"zero date", []string{"-DateTimeOriginal#=0000:00:00 00:00:00"}, "", false, ""},
		{"blank date", []string{"-DateTimeOriginal#=                   "}, "", false, ""},
		{"future", []string{"-DateTimeOriginal=2031:01:01 00:00:00", "-OffsetTimeOriginal=+01:00"}, "2030-12-31T23:00:00Z", true, ""},
	}
	for i, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".jpg")
		if err := os.WriteFile(path, base, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-q", "-overwrite_original"}, c.args...)
		if out, err := exec.Command(exiftool, append(args, path)...).CombinedOutput(); err != nil {
			t.Fatalf("%d %s: exiftool: %v: %s", i, c.name, err, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		md, err := Extract(bytes.NewReader(b), int64(len(b)), TypeJPEG)
		if err != nil {
			t.Fatal(err)
		}
		got := md.TakenAt(berlin)
		switch {
		case c.taken == "" && got != nil:
			t.Errorf("%s: taken %v, want none", c.name, got)
		case c.taken != "" && (got == nil || got.UTC().Format(time.RFC3339Nano) != c.taken || md.TakenZoneKnown != c.zoneKnown):
			t.Errorf("%s: taken %v (zone known %v), want %s (%v)", c.name, got, md.TakenZoneKnown, c.taken, c.zoneKnown)
		}
		if c.taken != "" && !c.zoneKnown {
			if utc := md.TakenAt(nil); utc == nil || utc.Format("15:04") != "10:15" || utc.Location() != time.UTC {
				t.Errorf("%s: TakenAt(nil) = %v, want the wall clock as UTC", c.name, utc)
			}
		}
		switch {
		case c.gps == "" && md.GPSTime != nil:
			t.Errorf("%s: GPS time %v, want none", c.name, md.GPSTime)
		case c.gps != "" && (md.GPSTime == nil || md.GPSTime.UTC().Format(time.RFC3339Nano) != c.gps):
			t.Errorf("%s: GPS time %v, want %s", c.name, md.GPSTime, c.gps)
		}
	}
}

// TestEXIFTimeFormsAttack8: DateTimeOriginal as writers other than
// cameras put it (ISO 8601 separators, fractional seconds) is read as the
// same wall clock; broken values are no time. Before, only the exact
// EXIF form was read and the others lost the capture time.
func TestEXIFTimeFormsAttack8(t *testing.T) {
	want := time.Date(2026, 5, 20, 10, 15, 0, 0, time.UTC)
	for _, s := range []string{"2026:05:20 10:15:00", " 2026:05:20 10:15:00 ", "2026-05-20 10:15:00", "2026-05-20T10:15:00",
		"2026/05/20 10:15:00", "2026:05:20 10:15:00.123"} {
		if got, ok := exifTime(s); !ok || !got.Equal(want) {
			t.Errorf("exifTime(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "                   ", "0000:00:00 00:00:00", "2026:13:20 10:15:00", "2026:05:20 25:15:00",
		"2026-05:20 10:15:00", "2026:05:20 10:15:00+02:00", "2026:05:20", "1899:12:31 23:59:59", "2026:05:20 10:15:00.1x"} {
		if got, ok := exifTime(s); ok {
			t.Errorf("exifTime(%q) = %v, want no time", s, got)
		}
	}
}
