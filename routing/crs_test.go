package routing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// latLonGeo is a district file as a WFS 2.0 server returns it: the crs
// member names EPSG::4326 in its authority axis order, [lat, lon]. The
// east district is a MultiPolygon whose first part has a hole (wound
// clockwise, against RFC 7946's right-hand rule) filled by "Insel".
func latLonGeo(crs string) string {
	return `{"type": "FeatureCollection",
 "crs": {"type": "name", "properties": {"name": "` + crs + `"}},
 "features": [
 {"type": "Feature", "properties": {"name": "West"}, "geometry": {"type": "Polygon", "coordinates": [
   [[48.10, 11.50], [48.10, 11.55], [48.15, 11.55], [48.15, 11.50], [48.10, 11.50]]]}},
 {"type": "Feature", "properties": {"name": "Ost"}, "geometry": {"type": "MultiPolygon", "coordinates": [
   [[[48.10, 11.55], [48.15, 11.55], [48.15, 11.60], [48.10, 11.60], [48.10, 11.55]],
    [[48.12, 11.57], [48.13, 11.57], [48.13, 11.58], [48.12, 11.58], [48.12, 11.57]]],
   [[[48.10, 11.62], [48.10, 11.64], [48.12, 11.64], [48.12, 11.62], [48.10, 11.62]]]]}},
 {"type": "Feature", "properties": {"name": "Insel"}, "geometry": {"type": "Polygon", "coordinates": [
   [[48.12, 11.57], [48.12, 11.58], [48.13, 11.58], [48.13, 11.57], [48.12, 11.57]]]}}
]}`
}

const crsRules = `
teams: {a: {room: a@c.example}}
areas: {file: districts.geojson}
default: {team: a}
`

func TestGeoJSONLatLonCRSIsSwappedWithWarning(t *testing.T) {
	for _, crs := range []string{"urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG:6.6:4326", "http://www.opengis.net/def/crs/EPSG/0/4326", "urn:ogc:def:crs:EPSG::4258"} {
		t.Run(crs, func(t *testing.T) {
			rs := mustLoad(t, crsRules, latLonGeo(crs))
			ws := rs.Warnings()
			if len(ws) != 1 || ws[0].Line != 2 || !strings.Contains(ws[0].Msg, "swapped") || !strings.Contains(ws[0].Msg, crs) {
				t.Fatalf("warnings: %+v, want one at line 2 saying the positions were swapped", ws)
			}
			for _, c := range []struct {
				p    *Point
				want string
			}{
				{pos(48.12, 11.52), "West"},
				{pos(48.14, 11.59), "Ost"},
				{pos(48.125, 11.575), "Insel"}, // in Ost's hole
				{pos(48.11, 11.63), "Ost"},     // its second part
				{pos(48.11, 11.61), ""},        // between the parts
				{pos(11.52, 48.12), ""},        // the Indian Ocean, where the unswapped file lay
			} {
				if d := rs.Decide(&Input{Position: c.p}); d.District != c.want {
					t.Errorf("district at %v: %q, want %q", *c.p, d.District, c.want)
				}
			}
		})
	}
}

func TestGeoJSONLonLatCRSNamesNeedNoSwap(t *testing.T) {
	// The same districts in RFC 7946 order, under the names of CRSs that
	// mean [lon, lat] (OGC CRS84, and the short EPSG:4326 of GeoJSON 2008).
	swap := func(geo string) string { // every [a, b] pair becomes [b, a]
		var b strings.Builder
		for _, part := range strings.Split(geo, "[") {
			var x, y float64
			var rest string
			if n, _ := fmt.Sscanf(part, "%g, %g]", &x, &y); n == 2 {
				rest = part[strings.IndexByte(part, ']'):]
				fmt.Fprintf(&b, "[%g, %g%s", y, x, rest)
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('[')
			}
			b.WriteString(part)
		}
		return b.String()
	}
	for _, crs := range []string{"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "EPSG:4326"} {
		t.Run(crs, func(t *testing.T) {
			rs := mustLoad(t, crsRules, swap(latLonGeo(crs)))
			if ws := rs.Warnings(); len(ws) != 0 {
				t.Errorf("warnings: %+v", ws)
			}
			if d := rs.Decide(&Input{Position: pos(48.12, 11.52)}); d.District != "West" {
				t.Errorf("district: %q, want West", d.District)
			}
		})
	}
}

func TestGeoJSONProjectedCRSIsRefusedWithHowToConvert(t *testing.T) {
	utm := `{"type": "FeatureCollection",
"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}},
"features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [
 [[390000.0, 5818000.0], [391000.0, 5818000.0], [391000.0, 5819000.0], [390000.0, 5818000.0]]]}}]}`
	for name, c := range map[string]struct{ geo, want string }{
		"named":    {utm, "EPSG:25833 (ETRS89 / UTM zone 33N, a projected CRS in metres)"},
		"gk":       {strings.Replace(utm, "urn:ogc:def:crs:EPSG::25833", "EPSG:31467", 1), "EPSG:31467 (DHDN / 3-degree Gauss-Krüger zone 3"},
		"unknown":  {strings.Replace(utm, "urn:ogc:def:crs:EPSG::25833", "urn:ogc:def:crs:EPSG::9999", 1), "EPSG:9999 (a projected or unsupported CRS)"},
		"no crs":   {strings.Replace(utm, `"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}},`, "", 1), "looks projected (metres"},
		"nonsense": {strings.Replace(utm, "urn:ogc:def:crs:EPSG::25833", "Gauß-Krüger Streifen 3", 1), `"Gauß-Krüger Streifen 3" is not a CRS fieldgate knows`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeRules(t, crsRules, c.geo))
			var verr *Error
			if !errors.As(err, &verr) {
				t.Fatalf("Load: %v, want an *Error", err)
			}
			msg := verr.Problems[0].Msg
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "ogr2ogr -f GeoJSON -t_srs EPSG:4326") {
				t.Errorf("problem %q, want it to contain %q and how to convert", msg, c.want)
			}
			if strings.Contains(msg, "swapped") {
				t.Errorf("problem %q suggests swapped axes", msg)
			}
		})
	}
}

func TestGeoJSONFarFromCentreWarns(t *testing.T) {
	geo := `{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [
   [[11.50, 48.10], [11.55, 48.10], [11.55, 48.15], [11.50, 48.10]]]}}]}`
	near := mustLoad(t, crsRules+"\n", geo)
	if len(near.Warnings()) != 0 {
		t.Errorf("without a centre: %+v", near.Warnings())
	}
	ok := mustLoad(t, strings.Replace(crsRules, "districts.geojson}", "districts.geojson, centre: {lat: 48.13, lon: 11.56}}", 1), geo)
	if len(ok.Warnings()) != 0 {
		t.Errorf("centre beside the districts: %+v", ok.Warnings())
	}
	far := mustLoad(t, strings.Replace(crsRules, "districts.geojson}", "districts.geojson, centre: {lat: 51.02, lon: 7.59}}", 1), geo)
	ws := far.Warnings()
	if len(ws) != 1 || ws[0].Line != 3 || !strings.Contains(ws[0].Msg, "all 1 areas lie") {
		t.Errorf("centre in another town: %+v", ws)
	}
	if km, isFar := far.AreasFarFrom([]Point{{Lat: 51.02, Lon: 7.59}, {Lat: 48.2, Lon: 11.6}}); isFar || km > 15 {
		t.Errorf("one test position near the districts: %v km, far %v", km, isFar)
	}
	if km, isFar := far.AreasFarFrom([]Point{{Lat: 51.02, Lon: 7.59}}); !isFar || km < 300 || km > 500 {
		t.Errorf("test positions in another town: %v km, far %v", km, isFar)
	}
}
