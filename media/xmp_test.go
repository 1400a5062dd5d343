package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

func TestXMPCoordinate(t *testing.T) {
	cases := []struct {
		in     string
		lat    bool
		want   float64
		wantOK bool
	}{
		{"51,1.506N", true, 51.0251, true},
		{"7,35.514E", false, 7.5919, true},
		{"51,1,30.36N", true, 51.02510, true},
		{"33,30.0S", true, -33.5, true},
		{"70,15W", false, -70.25, true},
		{"51.0251N", true, 51.0251, true},
		{"51.0251", true, 51.0251, true},
		{"-33.5", true, -33.5, true},
		{"51,1.506n", true, 51.0251, true},
		{"", true, 0, false},
		{"91,0N", true, 0, false},
		{"181,0.0E", false, 0, false},
		{"51,61.0N", true, 0, false},
		{"51,-1.0N", true, 0, false},
		{"-51,1.0N", true, 0, false},
		{"51,1.5,30N", true, 0, false}, // decimals only in the last part
		{"51,1,2,3N", true, 0, false},
		{"NaN", true, 0, false},
		{"abc", true, 0, false},
		{"51,1.506E", true, 0, false}, // wrong reference letter for a latitude
	}
	for _, c := range cases {
		var got float64
		var ok bool
		if c.lat {
			got, ok = xmpCoordinate(c.in, 'N', 'S', 90)
		} else {
			got, ok = xmpCoordinate(c.in, 'E', 'W', 180)
		}
		if ok != c.wantOK || (ok && math.Abs(got-c.want) > 1e-9) {
			t.Errorf("xmpCoordinate(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.wantOK)
		}
	}
}

func TestXMPGPSForms(t *testing.T) {
	element := `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/'>
  <exif:GPSLatitude>51,1.506N</exif:GPSLatitude>
  <exif:GPSLongitude>7,35.514E</exif:GPSLongitude>
 </rdf:Description></rdf:RDF></x:xmpmeta>`
	attribute := `<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,8.22924N" exif:GPSLongitude="11,34.56744E" exif:GPSVersionID="2.3.0.0"/>`
	for _, c := range []struct {
		name     string
		packet   string
		lat, lon float64
	}{{"element", element, 51.0251, 7.5919}, {"attribute", attribute, 48.137154, 11.576124}} {
		p := xmpGPS([]byte(c.packet))
		if p == nil || math.Abs(p.Lat-c.lat) > 1e-6 || math.Abs(p.Lon-c.lon) > 1e-6 {
			t.Errorf("%s form: xmpGPS = %+v, want %v,%v", c.name, p, c.lat, c.lon)
		}
	}
	for _, bad := range []string{
		`<exif:GPSLatitude>51,1.506N</exif:GPSLatitude>`, // no longitude
		`<exif:GPSLatitude>0,0.0N</exif:GPSLatitude><exif:GPSLongitude>0,0.0E</exif:GPSLongitude>`,
		`<exif:GPSLatitude>` + string(bytes.Repeat([]byte("1"), 200)) + `</exif:GPSLatitude><exif:GPSLongitude>7,1E</exif:GPSLongitude>`,
		`exif:GPSLatitude=`,
	} {
		if p := xmpGPS([]byte(bad)); p != nil {
			t.Errorf("xmpGPS(%.60q) = %+v, want none", bad, p)
		}
	}
}

// jpegWithXMP writes a small JPEG whose only metadata is an XMP packet,
// as phones' editing apps and exiftool leave it.
func jpegWithXMP(t *testing.T, packet string) []byte {
	t.Helper()
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...)
	var out bytes.Buffer
	out.Write(img.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(img.Bytes()[2:])
	return out.Bytes()
}

func TestExtractXMPOnlyGPS(t *testing.T) {
	data := jpegWithXMP(t, `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/'>
  <exif:GPSLatitude>51,1.506N</exif:GPSLatitude>
  <exif:GPSLongitude>7,35.514E</exif:GPSLongitude>
 </rdf:Description></rdf:RDF></x:xmpmeta>`)
	md, err := Extract(bytes.NewReader(data), int64(len(data)), TypeJPEG)
	if err != nil {
		t.Fatal(err)
	}
	if md.Position == nil || md.PositionSource != SourceXMP || math.Abs(md.Position.Lat-51.0251) > 1e-6 || math.Abs(md.Position.Lon-7.5919) > 1e-6 {
		t.Fatalf("Extract = position %+v source %q reason %q; want 51.0251,7.5919 from xmp", md.Position, md.PositionSource, md.NoPositionReason)
	}
	none := jpegWithXMP(t, `<x:xmpmeta xmlns:x='adobe:ns:meta/'/>`)
	md, err = Extract(bytes.NewReader(none), int64(len(none)), TypeJPEG)
	if err != nil || md.Position != nil || md.PositionSource != "" || md.NoPositionReason == "" {
		t.Fatalf("XMP without GPS: %+v, %v; want no position with a reason", md, err)
	}
}
