package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rwcarlsen/goexif/exif"
	"github.com/rwcarlsen/goexif/tiff"
)

// Metadata is what a report needs from a photo's metadata.
type Metadata struct {
	Position *Position // nil when none or invalid
	// PositionSource is SourceEXIF or SourceXMP (GPS only in XMP, see xmp.go).
	PositionSource string
	// NoPositionReason says in English why Position is nil.
	NoPositionReason string
	// GPSTime is the GPS fix time (UTC). Taken is DateTimeOriginal; unless
	// TakenZoneKnown, it is the camera's wall clock labelled UTC.
	GPSTime, Taken *time.Time
	TakenZoneKnown bool
	Orientation    int // 1..8, 0 if unknown
	Make, Model    string
	// Dropped lists the metadata the team copy removes.
	Dropped []string
}

// TakenAt is the instant the photo was taken: Taken itself when the photo
// says its UTC offset (EXIF OffsetTimeOriginal, 0x9011), else Taken's wall
// clock read in loc, the zone the town's reporters live in (phones without
// an offset write local time; read as UTC, a photo taken at 10:15 in
// Berlin in summer would be shown as 12:15 and judged two hours younger).
// nil when Taken is nil; loc nil means UTC.
func (md Metadata) TakenAt(loc *time.Location) *time.Time {
	if md.Taken == nil || md.TakenZoneKnown {
		return md.Taken
	}
	if loc == nil {
		loc = time.UTC
	}
	w := md.Taken.UTC()
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	return &t
}

// Position is a WGS-84 position; Alt is metres above sea level, if known.
type Position struct {
	Lat, Lon float64
	Alt      *float64
}

// ioError marks a failure of the underlying reader (as opposed to bad data).
type ioError struct{ err error }

func (e ioError) Error() string { return "media: read: " + e.err.Error() }
func (e ioError) Unwrap() error { return e.err }

func ioErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return ioError{err}
}

// Extract reads position, time, orientation and camera from a JPEG
// (Exif and XMP APP1 segments), PNG (eXIf chunk, XMP iTXt chunk), WebP
// (EXIF and "XMP " chunks) or HEIC/HEIF (Exif item) file. It is safe on
// any input: it reads only bounded regions of r, validates and rewrites the TIFF structure before goexif sees it, and
// never panics. Malformed metadata is not an error: the result says why
// there is no position. An error means r itself failed.
func Extract(r io.ReaderAt, size int64, contentType string) (md Metadata, err error) {
	defer func() {
		if p := recover(); p != nil {
			md = Metadata{NoPositionReason: "metadata unreadable (decoder failure)"}
			err = nil
		}
	}()
	var raw []byte
	var jinfo jpegInfo
	switch contentType {
	case TypeJPEG:
		jinfo, err = scanJPEG(r, size)
		if err != nil {
			return Metadata{}, err
		}
		raw = jinfo.tiff
		if raw == nil {
			md.NoPositionReason = "no EXIF data"
			if jinfo.truncated {
				md.NoPositionReason = "no EXIF data (file truncated)"
			}
		}
	case TypePNG, TypeWebP:
		scan := scanPNG
		if contentType == TypeWebP {
			scan = scanWebP
		}
		jinfo, err = scan(r, size)
		if err != nil {
			return Metadata{}, err
		}
		raw = jinfo.tiff
		if raw == nil {
			md.NoPositionReason = "no EXIF data"
		}
	case TypeHEIC, TypeHEIF:
		var why string
		raw, why, err = findHEIFExif(r, size)
		if err != nil {
			return Metadata{}, err
		}
		if raw == nil {
			md.NoPositionReason = "no EXIF data (" + why + ")"
		}
	default:
		md.NoPositionReason = "no EXIF support for " + contentType
		return md, nil
	}
	var rep tiffReport
	if raw != nil {
		md, rep = fromTIFF(raw)
	}
	if jinfo.tiff2 != nil {
		withSecondExif(&md, &rep, jinfo.tiff2)
	}
	withXMPPosition(&md, jinfo.xmpPosition)
	if md.Orientation == 0 && jinfo.xmpOrientation != 0 {
		md.Orientation = jinfo.xmpOrientation
	}
	md.Dropped = dropped(rep, jinfo)
	return md, nil
}

// withSecondExif reads a JPEG's second Exif APP1 segment: the first one
// (the camera's) wins for everything it has, as in exiftool and browsers,
// but when it has no GPS IFD at all the second one's position is taken
// (exiftool shows it too: an app that geotags afterwards may add its own
// segment). What the team copy drops includes the second's tags.
func withSecondExif(md *Metadata, rep *tiffReport, raw []byte) {
	md2, rep2 := fromTIFF(raw)
	if md.Position == nil && !rep.hasGPS && !rep.badGPS && md2.Position != nil {
		md.Position, md.NoPositionReason = md2.Position, ""
	}
	rep.hasGPS = rep.hasGPS || rep2.hasGPS
	rep.hasThumb = rep.hasThumb || rep2.hasThumb
	if rep.tags == nil {
		rep.tags = map[uint16]bool{}
	}
	for t := range rep2.tags {
		rep.tags[t] = true
	}
}

// fromTIFF cleans raw and reads it with goexif.
func fromTIFF(raw []byte) (Metadata, tiffReport) {
	var md Metadata
	clean, rep, err := cleanTIFF(raw)
	if err != nil {
		md.NoPositionReason = "EXIF data malformed (" + err.Error() + ")"
		return md, rep
	}
	x, err := exif.Decode(bytes.NewReader(clean))
	if x == nil {
		md.NoPositionReason = fmt.Sprintf("EXIF data unreadable (%v)", err)
		return md, rep
	}
	md.Make = cleanString(tagString(x, exif.Make))
	md.Model = cleanString(tagString(x, exif.Model))
	if o, ok := tagInt(x, exif.Orientation); ok && o >= 1 && o <= 8 {
		md.Orientation = o
	}
	if t, ok := exifTime(tagString(x, exif.DateTimeOriginal)); ok {
		if zone, ok := zoneOffset(rep.offsetTO); ok {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, zone)
			md.TakenZoneKnown = true
		}
		md.Taken = &t
	}
	md.GPSTime = gpsTime(x)
	md.Position, md.NoPositionReason = position(x, rep.hasGPS)
	if md.Position == nil && !rep.hasGPS && rep.badGPS {
		md.NoPositionReason = "GPS data malformed"
	}
	return md, rep
}

func position(x *exif.Exif, hasGPS bool) (*Position, string) {
	if !hasGPS {
		return nil, "no GPS data in EXIF"
	}
	if strings.EqualFold(strings.TrimSpace(tagString(x, exif.GPSStatus)), "V") {
		// EXIF 2.32 §4.6.6 GPSStatus: "V" is a measurement interrupted
		// (exiftool: "Measurement Void"); cameras keep the last fix there,
		// which may be far from where the photo was taken.
		return nil, "GPS fix void (GPSStatus V)"
	}
	latRef, lonRef := tagString(x, exif.GPSLatitudeRef), tagString(x, exif.GPSLongitudeRef)
	lat, latWhy := degrees(x, exif.GPSLatitude)
	lon, lonWhy := degrees(x, exif.GPSLongitude)
	switch {
	case latWhy == "missing" && lonWhy == "missing":
		return nil, "GPS data without latitude/longitude"
	case latWhy != "":
		return nil, "GPS latitude " + latWhy
	case lonWhy != "":
		return nil, "GPS longitude " + lonWhy
	}
	switch strings.ToUpper(strings.TrimSpace(latRef)) {
	case "N":
	case "S":
		lat = -lat
	case "":
		return nil, "GPS latitude reference (N/S) missing"
	default:
		return nil, fmt.Sprintf("GPS latitude reference %q invalid", cleanString(latRef))
	}
	switch strings.ToUpper(strings.TrimSpace(lonRef)) {
	case "E":
	case "W":
		lon = -lon
	case "":
		return nil, "GPS longitude reference (E/W) missing"
	default:
		return nil, fmt.Sprintf("GPS longitude reference %q invalid", cleanString(lonRef))
	}
	switch {
	case math.IsNaN(lat) || math.IsNaN(lon) || math.IsInf(lat, 0) || math.IsInf(lon, 0):
		return nil, "GPS position not a number"
	case math.Abs(lat) > 90:
		return nil, fmt.Sprintf("GPS latitude %g out of range", lat)
	case math.Abs(lon) > 180:
		return nil, fmt.Sprintf("GPS longitude %g out of range", lon)
	case lat == 0 && lon == 0:
		return nil, "GPS position is 0,0 (no fix)"
	}
	p := &Position{Lat: lat, Lon: lon}
	if alt, ok := rational(x, exif.GPSAltitude, 0); ok && !math.IsNaN(alt) && !math.IsInf(alt, 0) && math.Abs(alt) < 100_000 {
		if ref, ok := tagInt(x, exif.GPSAltitudeRef); ok && ref == 1 {
			alt = -alt
		}
		p.Alt = &alt
	}
	return p, ""
}

// degrees reads a GPS coordinate (EXIF 2.32 §4.6.6 GPSLatitude: degrees,
// minutes, seconds as RATIONALs; one value of decimal degrees, or two of
// degrees and decimal minutes, as phones write them, are read too).
// Minutes or seconds over 60 are refused; exactly 60 (a rounded 59.9996)
// is kept.
func degrees(x *exif.Exif, name exif.FieldName) (float64, string) {
	t, err := x.Get(name)
	if err != nil {
		return 0, "missing"
	}
	if t.Format() != tiff.RatVal || t.Count < 1 {
		return 0, "has the wrong type"
	}
	var v float64
	for i, div := range []float64{1, 60, 3600} {
		if i >= int(t.Count) {
			break
		}
		n, d, err := t.Rat2(i)
		if err != nil {
			return 0, "unreadable"
		}
		if d == 0 {
			return 0, "has a zero denominator"
		}
		if n < 0 || d < 0 {
			return 0, "is negative"
		}
		part := float64(n) / float64(d)
		if i > 0 && part > 60 {
			// 75 minutes is not a place but a broken writer: summing it
			// (as exiftool does) would move the point by degrees.
			return 0, "has minutes or seconds over 60"
		}
		v += part / div
	}
	return v, ""
}

func rational(x *exif.Exif, name exif.FieldName, i int) (float64, bool) {
	t, err := x.Get(name)
	if err != nil || t.Format() != tiff.RatVal || int(t.Count) <= i {
		return 0, false
	}
	n, d, err := t.Rat2(i)
	if err != nil || d == 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

func gpsTime(x *exif.Exif) *time.Time {
	date := strings.TrimSpace(tagString(x, exif.GPSDateStamp))
	d, err := time.Parse("2006:01:02", date)
	if err != nil {
		return nil
	}
	var hms [3]float64
	for i := range hms {
		v, ok := rational(x, exif.GPSTimeStamp, i)
		if !ok || v < 0 || v >= 61 {
			return nil
		}
		hms[i] = v
	}
	if hms[0] >= 24 || hms[1] >= 60 {
		return nil
	}
	t := d.Add(time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute +
		time.Duration(hms[2]*float64(time.Second)))
	return &t
}

// exifTime parses an EXIF date and time, "YYYY:MM:DD HH:MM:SS" (EXIF 2.32
// §4.6.5 DateTimeOriginal), as a wall clock labelled UTC. Writers that use
// "-" or "/" between the date's parts or ISO 8601's "T" before the time,
// or add fractional seconds, are read too (exiftool shows them as they
// are). Blank, zeroed ("0000:00:00 00:00:00") and impossible values and
// years before 1900 are no time.
func exifTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 19 && s[19] == '.' && strings.Trim(s[20:], "0123456789") == "" {
		s = s[:19]
	}
	if len(s) != 19 || s[4] != s[7] || !strings.ContainsRune(":-/", rune(s[4])) || (s[10] != ' ' && s[10] != 'T') {
		return time.Time{}, false
	}
	b := []byte(s)
	b[4], b[7], b[10] = ':', ':', ' '
	t, err := time.Parse("2006:01:02 15:04:05", string(b))
	if err != nil || t.Year() < 1900 {
		return time.Time{}, false
	}
	return t, true
}

// zoneOffset parses an EXIF OffsetTime value such as "+02:00".
func zoneOffset(s string) (*time.Location, bool) {
	t, err := time.Parse("-07:00", strings.TrimSpace(s))
	if err != nil {
		return nil, false
	}
	_, off := t.Zone()
	return time.FixedZone(strings.TrimSpace(s), off), true
}

func tagString(x *exif.Exif, name exif.FieldName) string {
	t, err := x.Get(name)
	if err != nil {
		return ""
	}
	s, err := t.StringVal()
	if err != nil {
		return ""
	}
	return s
}

func tagInt(x *exif.Exif, name exif.FieldName) (int, bool) {
	t, err := x.Get(name)
	if err != nil || t.Format() != tiff.IntVal || t.Count < 1 {
		return 0, false
	}
	v, err := t.Int(0)
	return v, err == nil
}

// cleanString makes camera strings safe to print: valid UTF-8, no control
// characters, trimmed, at most 64 runes.
func cleanString(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:64])
	}
	return s
}
